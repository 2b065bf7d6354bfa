/*
** jitbc.h -- a LuaJIT 2.1 bytecode dump (string.dump) as an editable tree
** of prototypes: the reader (jitbc_read.c), the writer (jitbc_write.c) and
** the editor (jitbc_edit.c).  An unedited tree is written back byte for
** byte.  LuaJIT only: on Lua 5.4 none of this is compiled.
**
** The dump format (version 2; facts from LuaJIT's lj_bcdump.h, lj_bcread.c
** and lj_bcwrite.c, see doc/luajit-bytecode.md):
**
**   dump    ::= header proto* 0U
**   header  ::= 1B 'L' 'J' 2B flagsU [namelenU nameB*]   (name: unless STRIP)
**   proto   ::= lengthU phead code uv kgc* knum* debug?   (length: of the rest)
**   phead   ::= flagsB numparamsB framesizeB numuvB numkgcU numknU numbcU
**               [sizedbgU [firstlineU numlineU]]   (sizedbg: unless STRIP;
**                                                   lines: when sizedbg > 0)
**   code    ::= insW*            numbc instructions, the FUNCF/FUNCV header
**                                omitted; host byte order (BE flag)
**   uv      ::= uvH*             numuv descriptors: 0x8000 = a local slot of
**                                the parent (| 0x4000 immutable), else an
**                                upvalue index of the parent
**   kgc     ::= typeU data       type 0 child (the last prototype written
**                                before, popped), 1 table, 2 int64, 3 uint64,
**                                4 complex, 5+len a string of len bytes
**     table ::= narrayU nhashU tabk{narray} (tabk tabk){nhash}
**     tabk  ::= 0U nil | 1U false | 2U true | 3U intU | 4U loU hiU | 5+len str
**     int64, uint64 ::= loU hiU;  complex ::= loU hiU loU hiU
**   knum    ::= U33              bit 0 clear: an int32 (as a 33-bit ULEB128
**                                of 2*k, sign bit kept); set: the low word
**                                of a double, then hiU
**   debug   ::= lineinfo uvname* varinfo   (exactly sizedbg bytes)
**     lineinfo ::= numbc line deltas from firstline, each 1, 2 or 4 bytes
**                  as numline < 256, < 65536, or more
**     uvname   ::= name 0B        one per upvalue
**     varinfo  ::= (var startU lengthU)* 0B   start: delta from the
**                  previous var's start pc; var: a byte 1..6 (internal
**                  names of for loops) or a name 0B
**
**   B = byte, H = 16 bit, W = 32 bit, U = ULEB128 of a 32-bit value.
**
** Instruction pcs count the FUNCF header as 0 (so code[j] is pc j + 1);
** a jump's target is pc + 1 + (D - 0x8000).
*/
#ifndef jitbc_h
#define jitbc_h

#include "cpm.h"

#if CPM_LUAJIT

/* header */
#define JITBC_HEAD1		0x1b
#define JITBC_HEAD2		0x4c	/* 'L' */
#define JITBC_HEAD3		0x4a	/* 'J' */
#define JITBC_VERSION		2

/* header flags */
#define JITBC_F_BE		0x01	/* big-endian instructions */
#define JITBC_F_STRIP		0x02	/* no debug info, no chunk name */
#define JITBC_F_FFI		0x04	/* some prototype has cdata constants */
#define JITBC_F_FR2		0x08	/* two-slot frames (GC64 builds) */
#define JITBC_F_KNOWN		0x0f

/* prototype flags a dump may carry */
#define JITBC_P_CHILD		0x01
#define JITBC_P_VARARG		0x02
#define JITBC_P_FFI		0x04
#define JITBC_P_KNOWN		0x07

/* upvalue descriptors */
#define JITBC_UV_LOCAL		0x8000
#define JITBC_UV_IMMUTABLE	0x4000

/* GC constant types; a string is JITBC_KGC_STR + its length */
enum { JITBC_KGC_CHILD, JITBC_KGC_TAB, JITBC_KGC_I64, JITBC_KGC_U64,
       JITBC_KGC_COMPLEX, JITBC_KGC_STR };

/* types of table constant keys and values */
enum { JITBC_KTAB_NIL, JITBC_KTAB_FALSE, JITBC_KTAB_TRUE, JITBC_KTAB_INT,
       JITBC_KTAB_NUM, JITBC_KTAB_STR };

/* internal variable names of varinfo are bytes below this */
#define JITBC_VARNAME_MAX	7

/* LuaJIT's limits (lj_def.h), which every written prototype keeps */
#define JITBC_MAXSLOTS		250	/* framesize */
#define JITBC_MAXUV		60	/* upvalues of one function */
#define JITBC_MAXDEPTH		200	/* nesting of prototypes */
#define JITBC_MAXK		65536	/* constants of each kind */
#define JITBC_BIASJ		0x8000	/* jump offsets: D - 0x8000 */
#define JITBC_MAXD		0xffff

/* primitive operands (KPRI, ISEQP): ~type */
#define JITBC_PRI_NIL		0
#define JITBC_PRI_FALSE		1
#define JITBC_PRI_TRUE		2

/*
** The opcodes of LuaJIT 2.1 in their order (lj_bc.h), with the modes of
** operands A, B and C-or-D.  Modes: ___ unused, var a slot read, dst a slot
** written, base/rbase a base slot, uv an upvalue, lit an unsigned literal,
** lits a signed 16-bit literal, pri a primitive, num a number constant,
** str a string constant (~D into kgc), tab a table constant, func a child,
** cdata a cdata constant, jump a jump offset.
*/
#define JITBC_OPDEF(_) \
  /* comparisons, each followed by the JMP it takes: ISLT when A < D, ISGE \
     when not A < D, ISLE when A <= D, ISGT when not A <= D (NaN: ISGE \
     and ISGT jump); ISEQ*, ISNE* by equality with a var or constant */ \
  _(ISLT, var, ___, var) _(ISGE, var, ___, var) \
  _(ISLE, var, ___, var) _(ISGT, var, ___, var) \
  _(ISEQV, var, ___, var) _(ISNEV, var, ___, var) \
  _(ISEQS, var, ___, str) _(ISNES, var, ___, str) \
  _(ISEQN, var, ___, num) _(ISNEN, var, ___, num) \
  _(ISEQP, var, ___, pri) _(ISNEP, var, ___, pri) \
  /* tests of D (ISTC/ISFC copy D to A), and type checks that raise */ \
  _(ISTC, dst, ___, var) _(ISFC, dst, ___, var) \
  _(IST, ___, ___, var) _(ISF, ___, ___, var) \
  _(ISTYPE, var, ___, lit) _(ISNUM, var, ___, lit) \
  /* A := op D */ \
  _(MOV, dst, ___, var) _(NOT, dst, ___, var) \
  _(UNM, dst, ___, var) _(LEN, dst, ___, var) \
  /* A := B op K[C] (VN), K[C] op B (NV), B op C (VV) */ \
  _(ADDVN, dst, var, num) _(SUBVN, dst, var, num) _(MULVN, dst, var, num) \
  _(DIVVN, dst, var, num) _(MODVN, dst, var, num) \
  _(ADDNV, dst, var, num) _(SUBNV, dst, var, num) _(MULNV, dst, var, num) \
  _(DIVNV, dst, var, num) _(MODNV, dst, var, num) \
  _(ADDVV, dst, var, var) _(SUBVV, dst, var, var) _(MULVV, dst, var, var) \
  _(DIVVV, dst, var, var) _(MODVV, dst, var, var) \
  _(POW, dst, var, var) _(CAT, dst, rbase, rbase) \
  /* A := a constant; KNIL: A .. D := nil */ \
  _(KSTR, dst, ___, str) _(KCDATA, dst, ___, cdata) \
  _(KSHORT, dst, ___, lits) _(KNUM, dst, ___, num) \
  _(KPRI, dst, ___, pri) _(KNIL, base, ___, base) \
  /* upvalues; UCLO closes them from A up and jumps; FNEW makes a closure */ \
  _(UGET, dst, ___, uv) _(USETV, uv, ___, var) _(USETS, uv, ___, str) \
  _(USETN, uv, ___, num) _(USETP, uv, ___, pri) _(UCLO, rbase, ___, jump) \
  _(FNEW, dst, ___, func) \
  /* tables: new, globals (GGET/GSET: the function's environment), fields */ \
  _(TNEW, dst, ___, lit) _(TDUP, dst, ___, tab) \
  _(GGET, dst, ___, str) _(GSET, var, ___, str) \
  _(TGETV, dst, var, var) _(TGETS, dst, var, str) _(TGETB, dst, var, lit) \
  _(TGETR, dst, var, var) \
  _(TSETV, var, var, var) _(TSETS, var, var, str) _(TSETB, var, var, lit) \
  _(TSETM, base, ___, num) _(TSETR, var, var, var) \
  /* calls: function in A, arguments from A+1 (A+2 with FR2), B-1 results, \
     C-1 arguments; ITERC/ITERN call A-3 with A-2, A-1 */ \
  _(CALLM, base, lit, lit) _(CALL, base, lit, lit) \
  _(CALLMT, base, ___, lit) _(CALLT, base, ___, lit) \
  _(ITERC, base, lit, lit) _(ITERN, base, lit, lit) \
  _(VARG, base, lit, lit) _(ISNEXT, base, ___, jump) \
  /* returns of D-1 values from A */ \
  _(RETM, base, ___, lit) _(RET, rbase, ___, lit) \
  _(RET0, rbase, ___, lit) _(RET1, rbase, ___, lit) \
  /* loops (I = interpreter, J = JIT variants, only in running code) and \
     jumps */ \
  _(FORI, base, ___, jump) _(JFORI, base, ___, jump) \
  _(FORL, base, ___, jump) _(IFORL, base, ___, jump) _(JFORL, base, ___, lit) \
  _(ITERL, base, ___, jump) _(IITERL, base, ___, jump) \
  _(JITERL, base, ___, lit) \
  _(LOOP, rbase, ___, jump) _(ILOOP, rbase, ___, jump) \
  _(JLOOP, rbase, ___, lit) \
  _(JMP, rbase, ___, jump) \
  /* function headers (never in a dump) */ \
  _(FUNCF, rbase, ___, ___) _(IFUNCF, rbase, ___, ___) \
  _(JFUNCF, rbase, ___, lit) _(FUNCV, rbase, ___, ___) \
  _(IFUNCV, rbase, ___, ___) _(JFUNCV, rbase, ___, lit) \
  _(FUNCC, rbase, ___, ___) _(FUNCCW, rbase, ___, ___)

typedef enum jitbc_Op {
#define JITBC_OPENUM(name, ma, mb, mcd)	JITBC_##name,
  JITBC_OPDEF(JITBC_OPENUM)
#undef JITBC_OPENUM
  JITBC__MAXOP
} jitbc_Op;

/* operand modes */
typedef enum jitbc_Mode {
  JITBC_M____, JITBC_M_var, JITBC_M_dst, JITBC_M_base, JITBC_M_rbase,
  JITBC_M_uv, JITBC_M_lit, JITBC_M_lits, JITBC_M_pri, JITBC_M_num,
  JITBC_M_str, JITBC_M_tab, JITBC_M_func, JITBC_M_cdata, JITBC_M_jump
} jitbc_Mode;

typedef struct jitbc_OpInfo {
  const char *name;
  unsigned char ma, mb, mcd;	/* jitbc_Mode of A, B, C or D */
} jitbc_OpInfo;

extern const jitbc_OpInfo jitbc_opinfo[JITBC__MAXOP];

/* Opcodes only the VM writes into running code (interpreter and JIT
   variants, function headers): a dump never holds them. */
#define jitbc_isruntimeop(o) \
  ((o) == JITBC_JFORI || (o) == JITBC_IFORL || (o) == JITBC_JFORL || \
   (o) == JITBC_IITERL || (o) == JITBC_JITERL || (o) == JITBC_ILOOP || \
   (o) == JITBC_JLOOP || (o) >= JITBC_FUNCF)

/* instruction fields */
typedef uint32_t jitbc_Ins;
#define jitbc_op(i)	((int)((i) & 0xff))
#define jitbc_a(i)	((int)(((i) >> 8) & 0xff))
#define jitbc_b(i)	((int)((i) >> 24))
#define jitbc_c(i)	((int)(((i) >> 16) & 0xff))
#define jitbc_d(i)	((int)((i) >> 16))
#define jitbc_j(i)	(jitbc_d(i) - JITBC_BIASJ)
#define jitbc_abc(o, a, b, c) \
  ((jitbc_Ins)(o) | ((jitbc_Ins)(a) << 8) | ((jitbc_Ins)(b) << 24) | \
   ((jitbc_Ins)(c) << 16))
#define jitbc_ad(o, a, d) \
  ((jitbc_Ins)(o) | ((jitbc_Ins)(a) << 8) | ((jitbc_Ins)(d) << 16))
#define jitbc_aj(o, a, j)	jitbc_ad(o, a, (unsigned)((j) + JITBC_BIASJ))
#define jitbc_setd(i, d) \
  (((i) & 0xffffu) | ((jitbc_Ins)(d) << 16))

/* Does the instruction's D hold a jump? */
#define jitbc_isjump(i)	(jitbc_opinfo[jitbc_op(i)].mcd == JITBC_M_jump)


/* A byte string of the dump (not NUL-terminated). */
typedef struct jitbc_Str {
  const char *s;
  size_t len;
} jitbc_Str;

typedef struct jitbc_Kgc {
  uint32_t type;		/* JITBC_KGC_*; strings: JITBC_KGC_STR */
  jitbc_Str data;		/* a string: its bytes; a table or cdata: its
				   encoded data as read, after the type */
  struct jitbc_Proto *child;	/* JITBC_KGC_CHILD */
} jitbc_Kgc;

typedef struct jitbc_Knum {
  int isnum;			/* 0: the int32 'lo'; 1: the double lo, hi */
  uint32_t lo, hi;
} jitbc_Knum;

typedef struct jitbc_Var {
  jitbc_Str name;		/* a name, or one byte below JITBC_VARNAME_MAX
				   (the terminating 0 not included) */
  uint32_t startpc, endpc;
} jitbc_Var;

/* A growable array: n used, size allocated. */
#define JITBC_VEC(T, name)	T *name; int n##name, sz##name

typedef struct jitbc_Proto {
  unsigned char flags, numparams, framesize;
  JITBC_VEC(jitbc_Ins, code);
  JITBC_VEC(uint16_t, uv);
  JITBC_VEC(jitbc_Kgc, kgc);
  JITBC_VEC(jitbc_Knum, kn);
  int hasdbg;			/* sizedbg > 0: lines and names follow */
  uint32_t firstline, numline;
  JITBC_VEC(uint32_t, line);	/* per instruction, delta from firstline */
  JITBC_VEC(jitbc_Str, uvname);
  JITBC_VEC(jitbc_Var, var);
  struct jitbc_Proto *parent;
  int depth;			/* 0 for the root */
} jitbc_Proto;

typedef struct jitbc_Chunk {
  lua_State *L;
  int arena;			/* stack index of the table anchoring memory */
  int narena;
  uint32_t flags;		/* header flags */
  jitbc_Str name;		/* chunk name (absent when stripped) */
  JITBC_VEC(jitbc_Proto *, proto);	/* in dump order; the root is last */
} jitbc_Chunk;


/* {======================================================
** Memory: blocks are buffers (cpm_newbuffer) anchored in the arena table,
** so a raised error leaks nothing and the whole tree goes with the table.
** ======================================================= */

/* Initializes 'c' with a new arena table pushed on the stack. */
void jitbc_init (lua_State *L, jitbc_Chunk *c);

/* A block of 'size' bytes living as long as the arena.  Raises on memory
   error. */
void *jitbc_alloc (jitbc_Chunk *c, size_t size);

/* Grows vector 'v' of 'obj' (count n##v, capacity sz##v) to hold 'need'. */
#define jitbc_growvec(c, obj, v, need) \
  ((need) > (obj)->sz##v ? (void)((obj)->v = jitbc_growarray((c), (obj)->v, \
      &(obj)->sz##v, (need), sizeof(*(obj)->v))) : (void)0)
void *jitbc_growarray (jitbc_Chunk *c, void *a, int *size, int need,
                       size_t elem);

/* }====================================================== */


/*
** Reads dump 's' of 'len' bytes (which must stay alive with the chunk)
** into 'c' (initialized by jitbc_init).  Raises "cpm: ..." on anything
** it does not recognize: another version, unknown or big-endian flags, a
** frame layout that is not this VM's, truncated or inconsistent data.
*/
void jitbc_read (jitbc_Chunk *c, const char *s, size_t len);

/* Pushes the dump of 'c' as a string.  Raises only on memory errors. */
void jitbc_write (jitbc_Chunk *c);

/* The root prototype (the function that was dumped). */
#define jitbc_root(c)	((c)->proto[(c)->nproto - 1])


/* {======================================================
** Editing (jitbc_edit.c)
** ======================================================= */

/* Must 'ins' stay right before the instruction after it? */
int jitbc_bound (jitbc_Ins ins);

/*
** Can 'n' instructions be inserted before code index 'at' of 'p' (not
** after a bound instruction, every jump relocated, in range)?  NULL when
** they can, else why not.
*/
const char *jitbc_caninsert (const jitbc_Proto *p, int at, int n);

/*
** Inserts 'n' instructions 'code' before code index 'at' (code[] jumps are
** relative to their own final positions and not relocated).  Jumps of the
** old code are relocated: a jump to 'at' lands on the new code; lines of
** the new code are the line of the instruction at 'at'; variable ranges
** move with their instructions.  Check jitbc_caninsert first.
*/
void jitbc_insert (jitbc_Chunk *c, jitbc_Proto *p, int at,
                   const jitbc_Ins *code, int n);

/*
** Adds an upvalue with descriptor 'desc' (and 'name', when 'p' has debug
** info); returns its index, or -1 when 'p' has JITBC_MAXUV already.
*/
int jitbc_adduv (jitbc_Chunk *c, jitbc_Proto *p, uint16_t desc,
                 const char *name);

/*
** The index of number constant 'x' in 'p' (added when missing, stored as
** LuaJIT's writer stores it: an int32 when it is one), or -1 when the
** table is full.
*/
int jitbc_knum (jitbc_Chunk *c, jitbc_Proto *p, double x);

/*
** The index (an instruction's D) of string constant 'str' in 'p', added
** when missing, or -1 when the table is full.  LuaJIT numbers a
** prototype's GC constants from the last one in the dump (lj_bcread.c,
** bcread_kgc: D is nkgc - 1 - its position), so a new one goes first and
** every index already in the code stays right.  'str' must outlive the
** chunk (a literal).
*/
int jitbc_kstr (jitbc_Chunk *c, jitbc_Proto *p, const char *str);

/* The double of number constant 'k' of 'p'. */
double jitbc_knumval (const jitbc_Proto *p, int k);

/*
** The instruction in [first, at) of 'p' that last writes 'slot' before
** 'at', reached by falling through (no comparison or jump in between, and
** no instruction writing a range of slots that may hold it); -1 when there
** is none.
*/
int jitbc_lastwriter (const jitbc_Proto *p, int first, int at, int slot);

/* The number that the KSHORT or KNUM at code index 'at' of 'p' loads, in
   *v: 1, or 0 for any other instruction. */
int jitbc_kvalue (const jitbc_Proto *p, int at, double *v);

/* }====================================================== */

#endif

#endif
