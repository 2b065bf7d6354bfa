/*
** ir.h -- the loop IR: one candidate loop as the front ends hand it to the
** planner.  Both front ends (Lua 5.4 bytecode, LuaJIT source) translate to
** this form and nothing else; all meaning is decided from here on.
**
**   loop    ::= kind line nslots index? liveout* cond? body
**   kind    ::= FORNUM        numeric for: control values (start, limit, step)
**             | FORRANGE      generic for over cpm.range: (iter, state, control)
**             | WHILE         while cond do body end: cond before each pass
**             | REPEAT        repeat body until cond: cond after each pass
**   cond    ::= cmp x y exit  (WHILE, REPEAT) the loop ends when the outcome
**                             of x cmp y (IR_EQ, IR_LT, IR_LE) is 'exit'
**   body    ::= op*
**   op      ::= MOVE  a b          a := b
**             | ARITH a b c aop    a := b aop c    (aop in IR_ADD..IR_SHR)
**             | UNARY a b aop      a := aop b      (aop is IR_UNM or IR_BNOT)
**             | INDEX a b c        a := b[c]       (a plain field read)
**             | IF    cmp jump b c skip   a forward conditional jump: when
**                                  (b cmp c) is 'jump' (0 or 1), the next
**                                  'skip' ops are skipped (plan_branch.c)
**             | LOOP  a b c d n1   a nested numeric for: start b, limit c,
**                                  step d (read when the op is reached);
**                                  its loop variable in slot a; the next
**                                  n1 ops are its body (plan_nest.c)
**   operand ::= slot | constant    (ir_Arg: slot >= 0, constant -1-k)
**
** Slots are the variables of the enclosing function that the body touches:
** registers for the bytecode front end, locals and upvalues for the source
** front end (an upvalue is just a slot whose value the front end fetches
** and stores).  'index' is the slot that holds the loop variable at the
** start of each iteration (-1 when the body never reads it).  'liveout'
** lists the slots whose values matter after the loop; every other slot
** written by the body is a temporary.  A slot read before it is written in
** the body is live at entry: its value is an argument of the guard call.
**
** The body is executed once per iteration, in order, except where an IF
** jumps forward over some ops (never past the body's end, never backward:
** every path through the body is straight-line code).
**
** LOOP is a nested numeric for, with the meaning the VM gives `for a = b,
** c, d do <body> end`: the control values are read once, at the op; the
** loop runs as many times as the VM would count (Lua 5.4's integer and
** float rules, LuaJIT's doubles: count.c), with slot a set to start +
** j * step at the start of iteration j (the front end emits no op for
** that); when it runs zero times its body is skipped; after it, slot a
** and the slots only its body writes are dead (out of scope).  Its body
** is the n1 ops that follow, which may hold LOOP ops in turn (at most
** IR_MAXDEPTH levels below the outer loop, IR_MAXLOOPS LOOP ops in all);
** it must lie inside the enclosing body.  A front end lowering a nested
** for emits the ops that compute its control values into slots (or uses
** constants), the LOOP op, then the body's ops; the loop's own bookkeeping
** (Lua 5.4's FORPREP/FORLOOP, LuaJIT's FORI/FORL) gives no op.  An IF
** may stand anywhere in a nest, but its jump stays inside the body of the
** inner loop it is in and enters none (the planner refuses other IR as
** malformed).  The planner refuses a LOOP inside a generic for.
**
** WHILE and REPEAT have no control values and no loop variable (index is
** -1): the front end gives the exit test as it stands in the code, one
** comparison of two operands in their order (`n > 0` is 0 < n; `not`
** flips 'exit'; a front end folds `>`/`>=` by swapping, never by
** negating: on NaN `not (a < b)` is not `b <= a`), and the body without
** it.  A REPEAT's test sees the slots as the body leaves them (locals of
** the body included: they are slots like any other); the ops computing
** its operands (`until k >= n + m`) are the last ops of the body.  A
** WHILE's test may read slots that ops computed before it (`while i <
** n * 2`): those ops are the first cond.pre ops of the body, which run
** before each test -- one more time than the rest, at the exit, so they
** may write only slots that are dead after the loop.  The planner
** (plan_while.c) finds the counter -- the operand the body writes -- and
** its step, and refuses every other shape; see doc/design.md.
*/
#ifndef ir_h
#define ir_h

#include "cpm.h"

/* Loop kinds. */
typedef enum ir_Kind {
  IR_FORNUM,	/* for i = start, limit, step (the VM's own counting rules) */
  IR_FORRANGE,	/* for i in cpm.range(...) */
  IR_WHILE,	/* while cond do body end (ir_Loop.cond) */
  IR_REPEAT	/* repeat body until cond (ir_Loop.cond) */
} ir_Kind;

/* Op codes. */
typedef enum ir_Code {
  IR_MOVE, IR_ARITH, IR_UNARY, IR_INDEX, IR_IF, IR_LOOP
} ir_Code;

/*
** Arithmetic operators, declared once: IR_AOPS(_) applies
** _(NAME, symbol, IR table name, metamethod event, LuaJIT has it) to each,
** in the order of LUA_OPADD..LUA_OPBNOT of Lua 5.4 (lua_arith takes them
** as they are).  The symbol names the operator in reasons; the IR table
** name is the op of the IR as a Lua table (plan_lua.c), also exported as
** cpm.core._aops (symbol -> name, binary operators) for the source front
** end.
*/
#define IR_AOPS(_) \
  _(ADD,  "+",  "add",  "__add",  1) \
  _(SUB,  "-",  "sub",  "__sub",  1) \
  _(MUL,  "*",  "mul",  "__mul",  1) \
  _(MOD,  "%",  "mod",  "__mod",  1) \
  _(POW,  "^",  "pow",  "__pow",  1) \
  _(DIV,  "/",  "div",  "__div",  1) \
  _(IDIV, "//", "idiv", "__idiv", 0) \
  _(BAND, "&",  "band", "__band", 0) \
  _(BOR,  "|",  "bor",  "__bor",  0) \
  _(BXOR, "~",  "bxor", "__bxor", 0) \
  _(SHL,  "<<", "shl",  "__shl",  0) \
  _(SHR,  ">>", "shr",  "__shr",  0) \
  _(UNM,  "-",  "unm",  "__unm",  1) \
  _(BNOT, "~",  "bnot", "__bnot", 0)

typedef enum ir_Aop {
#define IR_AOP_ENUM(name, sym, irname, event, jit)	IR_##name,
  IR_AOPS(IR_AOP_ENUM)
#undef IR_AOP_ENUM
  IR_NAOP
} ir_Aop;

/* Conditions of IF: b == c, b < c, b <= c, b is truthy (neither nil nor
   false; c unused), always (an unconditional jump; b and c unused). */
typedef enum ir_Cmp { IR_EQ, IR_LT, IR_LE, IR_TRUTHY, IR_ALWAYS,
                      IR_NCMP } ir_Cmp;

/* An operand: a slot (>= 0) or a constant (-1 - index into k). */
typedef int ir_Arg;
#define ir_isconst(x)	((x) < 0)
#define ir_constidx(x)	(-1 - (x))
#define ir_mkconst(i)	(-1 - (i))

/* Constant values. */
typedef enum ir_CType { IR_KNIL, IR_KFALSE, IR_KTRUE, IR_KINT, IR_KFLT,
                        IR_KSTR } ir_CType;

typedef struct ir_Const {
  ir_CType type;
  union {
    lua_Integer i;
    lua_Number n;
    struct { const char *s; size_t len; } s;  /* owned by the IR's creator */
  } u;
} ir_Const;

/* Library functions a call may be lowered from (ir_Op.n1): LuaJIT's bit
   library, 32-bit operations (the GF(2) ring checks the function's
   identity at loop entry and runs the loop as written when it is not the
   library's own). */
#define IR_FNS(_) \
  _(TOBIT, "tobit") _(BNOT, "bnot") _(LSHIFT, "lshift") _(RSHIFT, "rshift") \
  _(ARSHIFT, "arshift") _(ROL, "rol") _(ROR, "ror") _(BAND, "band") \
  _(BOR, "bor") _(BXOR, "bxor") _(BSWAP, "bswap")

typedef enum ir_Fn {
  IR_FN_NONE,
#define IR_FN_ENUM(name, str)	IR_FN_##name,
  IR_FNS(IR_FN_ENUM)
#undef IR_FN_ENUM
  IR_NFN
} ir_Fn;

/*
** How an ARITH IR_SHL or IR_SHR op reads its count c (ir_Op.count): by
** Lua 5.4's rules (lvm.c luaV_shiftl: 64 or more gives 0, a negative
** count shifts the other way); or as LuaJIT's bit library reads a shift
** count (lib_bit.c, the VM's bit.lshift: tobit(c) modulo 32), or 32 minus
** that (the other half of a rotation by c, and arshift's sign fill), each
** then a shift by Lua 5.4's rules of the 32-bit value held zero-extended.
*/
typedef enum ir_Count { IR_COUNT_LUA, IR_COUNT_BIT, IR_COUNT_BIT32SUB } ir_Count;

typedef struct ir_Op {
  ir_Code code;
  int aop;	/* ir_Aop for ARITH/UNARY, ir_Cmp for IF */
  int a;	/* destination slot; for IF, the outcome (0/1) that jumps */
  ir_Arg b, c, d;
  int n1, n2;	/* IF: n1 = ops skipped by the jump; LOOP: n1 = ops of its
		   body, n2 unused; ARITH/UNARY from a call of a library
		   function (LuaJIT's bit.*): n2 = 1 + the slot holding the
		   function called, read before the op, and n1 its IR_FN_*
		   (0: no call) */
  int count;	/* ARITH IR_SHL and IR_SHR: an ir_Count (0: Lua 5.4's) */
  int line;	/* source line, for reasons; 0 when unknown */
} ir_Op;

/*
** The exit test of a WHILE or REPEAT loop: the loop ends when the outcome
** of 'x cmp y' is 'exit'.  `while i < n` is { IR_LT, i, n, 0 }, `until
** k >= n` is { IR_LE, n, k, 1 }, `while not (i == n)` { IR_EQ, i, n, 1 }.
*/
typedef struct ir_Cond {
  int cmp;	/* IR_EQ, IR_LT or IR_LE */
  ir_Arg x, y;	/* the operands, in the order the VM compares them */
  int exit;	/* 0 or 1 */
  int pre;	/* IR_WHILE: the first 'pre' ops of the body compute the
		   test's operands (0 for IR_REPEAT) */
} ir_Cond;

typedef struct ir_Loop {
  ir_Kind kind;
  int line;		/* line of the loop header */
  int nslots;		/* slots are 0 .. nslots-1 */
  int index;		/* slot of the loop variable, or -1 */
  const ir_Op *ops;
  int nops;
  const ir_Const *k;
  int nk;
  const unsigned char *liveout;	/* nslots flags */
  /* nslots flags: the slot's value outlives an error raised in the loop
     (an upvalue, a local captured by a closure, a global); NULL: any slot
     may.  A loop whose body writes such a slot has effects that the loop
     as written leaves behind when it raises. */
  const unsigned char *escapes;
  /* 3 per op, or NULL when the front end knows no names: the source names
     of the slots op i writes and reads at that op, names[3i] for a,
     names[3i + 1] for b, names[3i + 2] for c; NULL for a temporary, a
     constant or a name the debug info does not give.  Reasons name the
     operands with them (plan.c); valid during planning only. */
  const char *const *names;
  ir_Cond cond;		/* IR_WHILE and IR_REPEAT only */
} ir_Loop;

/*
** Most slots and ops a loop may have (keeps every plan allocation bounded).
** A front end refuses a body of more than IR_MAXBODY instructions (or
** source operations: each lowers to at most two ops) with "loop body too
** large"; the source front end reads it as cpm.core._limits.maxbody.
** How many values a plan may carry is the engine's limit, MAT_KMAX (mat.h).
*/
#define IR_MAXSLOTS	512
#define IR_MAXOPS	4096
#define IR_MAXBODY	(IR_MAXOPS / 2)

/*
** Nested loops (LOOP ops): at most IR_MAXDEPTH levels of loops inside the
** outer one and IR_MAXLOOPS LOOP ops in one nest; beyond, the planner
** refuses ("loops nested more than ... deep", "more than ... inner loops").
*/
#define IR_MAXDEPTH	4
#define IR_MAXLOOPS	32

/* Names, for reasons and listings (plan.c). */
const char *ir_aopname (int aop);	/* "+", "//", ...; "?" out of range */
const char *ir_aopirname (int aop);	/* "add", "idiv", ...; NULL */
const char *ir_aopevent (int aop);	/* "__add", ...; NULL */

/*
** ir_text.c: op 'opi' of 'ir' as source text ("a * b", "t.x", "-s") into
** 'buf' (size bytes); 0 (and "") when a part of it has no known name or
** the text does not fit.  ir_slotname: a name the front end gave 'slot'
** anywhere in the body, or NULL.
*/
int ir_optext (const ir_Loop *ir, int opi, char *buf, size_t size);
const char *ir_slotname (const ir_Loop *ir, int slot);
/* ir_argtext: operand x (a constant's literal, a slot's name) as
   ir_optext; ir_isname: is s[0..len) a Lua name? */
int ir_argtext (const ir_Loop *ir, ir_Arg x, char *buf, size_t size);
int ir_isname (const char *s, size_t len);

#endif
