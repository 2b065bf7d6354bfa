/*
** ir.h -- the loop IR: one candidate loop as the front ends hand it to the
** planner.  Both front ends (Lua 5.4 bytecode, LuaJIT source) translate to
** this form and nothing else; all meaning is decided from here on.
**
**   loop    ::= kind line nslots index? liveout* body
**   kind    ::= FORNUM        numeric for: control values (start, limit, step)
**             | FORRANGE      generic for over cpm.range: (iter, state, control)
**   body    ::= op*
**   op      ::= MOVE  a b          a := b
**             | ARITH a b c aop    a := b aop c    (aop in IR_ADD..IR_SHR)
**             | UNARY a b aop      a := aop b      (aop is IR_UNM or IR_BNOT)
**             | INDEX a b c        a := b[c]       (a plain field read)
**             | IF    cmp jump b c skip   a forward conditional jump: when
**                                  (b cmp c) is 'jump' (0 or 1), the next
**                                  'skip' ops are skipped (plan_branch.c)
**             | LOOP  b c d nbody  (reserved: nested numeric for over
**                                  start b, limit c, step d; index in a;
**                                  the next nbody ops are its body)
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
** every path through the body is straight-line code).  LOOP is a nested
** block that the planner refuses.
*/
#ifndef ir_h
#define ir_h

#include "cpm.h"

/* Loop kinds. */
typedef enum ir_Kind {
  IR_FORNUM,	/* for i = start, limit, step (the VM's own counting rules) */
  IR_FORRANGE	/* for i in cpm.range(...) */
} ir_Kind;

/* Op codes. */
typedef enum ir_Code {
  IR_MOVE, IR_ARITH, IR_UNARY, IR_INDEX, IR_IF, IR_LOOP
} ir_Code;

/* Arithmetic operators, in the order of LUA_OPADD..LUA_OPBNOT of Lua 5.4. */
typedef enum ir_Aop {
  IR_ADD, IR_SUB, IR_MUL, IR_MOD, IR_POW, IR_DIV, IR_IDIV,
  IR_BAND, IR_BOR, IR_BXOR, IR_SHL, IR_SHR, IR_UNM, IR_BNOT,
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

typedef struct ir_Op {
  ir_Code code;
  int aop;	/* ir_Aop for ARITH/UNARY, ir_Cmp for IF */
  int a;	/* destination slot; for IF, the outcome (0/1) that jumps */
  ir_Arg b, c, d;
  int n1, n2;	/* IF: n1 = ops skipped by the jump; LOOP: block lengths */
  int line;	/* source line, for reasons; 0 when unknown */
} ir_Op;

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
} ir_Loop;

/* Most slots and ops a loop may have (keeps every plan allocation bounded). */
#define IR_MAXSLOTS	512
#define IR_MAXOPS	4096

/* Names, for reasons and listings. */
const char *ir_aopname (int aop);	/* "+", "//", ... */

#endif
