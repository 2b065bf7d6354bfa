/*
** plan.h -- what the planner makes of one loop, and what the runtime guard
** executes at each loop entry.
**
** A plan describes one iteration of the loop body symbolically:
**   - atoms: values that do not change during the loop (inputs that the
**     body never writes, constants, and every op whose operands are atoms:
**     "hoisted"), evaluated once at loop entry with the VM's arithmetic;
**   - coefficients: ring expressions (+ - * unary minus) over atoms and
**     small integers, the entries of the affine map;
**   - the state: the loop-carried slots (read before written, and written),
**     the loop counter when the body reads it, slots that are written
**     but not carried whose final values are live, and the monomials
**     (products of carried values) that products in the body need; the
**     update of each state variable is an affine row over the state at
**     iteration start, so a "solvable" polynomial body (Rodriguez-Carbonell
**     and Kapur, 2004; Kincaid et al., POPL 2018) is linear over its
**     monomials;
**   - the type program: the body ops again, in order, so the guard can
**     replay the types of one iteration (integer, float, bignum) and decide
**     the ring and the result types;
**   - bounds rows: every value the body computes, as an affine row, so the
**     guard can prove that no integer wraps and no float is inexact.
*/
#ifndef plan_h
#define plan_h

#include "ir.h"

/* Atom: an invariant Lua value, computed at loop entry in this order. */
typedef enum plan_AtomKind {
  PA_INPUT,	/* the entry value of slot 'x' (a guard argument) */
  PA_CONST,	/* constant 'x' of the IR */
  PA_STEP,	/* the loop step (from the control values) */
  PA_ARITH,	/* lua arithmetic 'aop' on atoms x (and y) */
  PA_INDEX,	/* atom x indexed by atom y (a plain field read) */
  PA_END	/* the loop variable after the last pass, start + count * step
		   (a while loop's counter, plan_while.c; set by the guard) */
} plan_AtomKind;

typedef struct plan_Atom {
  plan_AtomKind kind;
  int aop;
  int x, y;
} plan_Atom;

/* Coefficient: a ring expression; ids index plan.coef; PLAN_ZERO is 0. */
#define PLAN_ZERO	(-1)

typedef enum plan_CoefKind {
  PC_ATOM,	/* atom x converted into the ring */
  PC_INT,	/* the small integer 'v' */
  PC_ADD, PC_SUB, PC_MUL,	/* coef x op coef y */
  PC_NEG	/* - coef x */
} plan_CoefKind;

typedef struct plan_Coef {
  plan_CoefKind kind;
  int x, y;
  int64_t v;
} plan_Coef;

/* One step of the type program. */
typedef enum plan_TypeKind {
  PT_ATOM,	/* slot a := atom x (a hoisted op or an invariant move) */
  PT_MOVE,	/* slot a := slot x */
  PT_ARITH,	/* slot a := x aop y, x and y are slots (>= 0) or atoms (-1-i) */
  PT_UNM	/* slot a := - x */
} plan_TypeKind;

typedef struct plan_Type {
  plan_TypeKind kind;
  int aop;
  int a, x, y;
  int row;	/* index of this value's bounds row, or -1 */
  int factor;	/* PT_ARITH '*': the atom that scales the other operand;
		   PLAN_PRODUCT for two loop-carried operands that are
		   not one slot squared (the product may be -0.0) */
} plan_Type;

#define PLAN_PRODUCT	(-2)

/* What a state variable is. */
typedef enum plan_StateKind {
  PS_SLOT,	/* carried slot 'slot' (its entry value is an input) */
  PS_INDEX,	/* the loop counter */
  PS_SINK,	/* slot 'slot', written but not carried (entry value unused) */
  PS_MONO	/* the product of the states fac[0..nfac-1] (slot is -1) */
} plan_StateKind;

/*
** The limit of polynomial bodies: a monomial multiplies at most
** PLAN_MAXDEGREE carried values, and a loop has at most PLAN_MAXMONOS
** monomial states (each one more row of the matrix, whose size MAT_KMAX
** bounds as a whole).  Beyond either the loop is refused with a reason.
*/
#define PLAN_MAXDEGREE	6
#define PLAN_MAXMONOS	24

typedef struct plan_State {
  plan_StateKind kind;
  int slot;
  int live;	/* needed by an output (rows that are not are not computed) */
  int nfac;	/* PS_MONO: its factors, states of kind PS_SLOT or PS_INDEX */
  int fac[PLAN_MAXDEGREE];
} plan_State;

/* Where an output value comes from. */
typedef struct plan_Out {
  int slot;	/* the slot written back */
  int state;	/* its state variable, or -1 */
  int atom;	/* else its atom (an invariant final value) */
  int mayneg0;	/* a -0.0 made inside the body could reach it (so when
		   its final value is a float, the guard checks) */
} plan_Out;

typedef struct plan_Branch plan_Branch;	/* plan_branch.c */
typedef struct plan_Nest plan_Nest;	/* plan_nest.c */

/* The ring a plan's update lives in. */
typedef enum plan_Ring {
  PLAN_AFFINE,	/* affine rows over Z (Z/2^64, exact Z or exact floats) */
  PLAN_GF2	/* xor/shift/mask bodies: affine over GF(2) (plan_gf2.h) */
} plan_Ring;

/* One op of a GF(2) body (plan_gf2.c): form i (its index in the program)
   := x aop y, where x and y are earlier forms (>= 0) or atoms (-1 - atom);
   aop PLAN_GENTRY: the entry value of state x. */
#define PLAN_GENTRY	(-1)

typedef struct plan_GOp {
  int aop;	/* IR_BAND, IR_BOR, IR_BXOR, IR_SHL, IR_SHR, IR_BNOT, PLAN_GENTRY */
  int count;	/* shifts: how y is read (ir.h, ir_Count) */
  int x, y;
} plan_GOp;

/*
** An invariant operand of a while loop's test or step (`n * 2`, `k`,
** `a + b`, 10), as the guard evaluates it at entry before counting:
** nodes in order, the operand's value the last one's.  A node is a leaf
** (aop -1: input 'x', or the constant 'k' when x is -1) or the number
** arithmetic 'aop' (ir_Aop) on earlier nodes x and y (y = x for a unary
** operator).  At most PLAN_WMAXNODES nodes: a longer expression is no
** invariant operand for the planner ("loop counter not stepped by an
** invariant amount", "condition compares two values that the loop
** changes").
*/
#define PLAN_WMAXNODES	8

typedef struct plan_WNode {
  int aop;
  int x, y;
  ir_Const k;
} plan_WNode;

typedef struct plan_WExpr {
  int n;
  plan_WNode node[PLAN_WMAXNODES];
} plan_WExpr;

/*
** The exit test of a while or repeat loop, as the guard counts it
** (plan_while.c, count_while): the counter x, the plan's loop variable
** ('index'; its entry value is the guard's first control value), stepped
** once per pass by s (subtracted when 'negate'), and compared with the
** bound b.  The loop ends when the outcome of 'x cmp b' ('left'; else
** 'b cmp x') is 'exit'.
*/
typedef struct plan_While {
  int active;		/* 0: not a while or repeat loop */
  int repeat;		/* the test follows the body */
  int cmp, left, exit, negate;
  plan_WExpr bound, step;
  int endatom;		/* the PA_END atom (the counter's final value, an
			   output), or -1 */
  int endlast;		/* a nest plan: the counter's final value is the
			   last output, which the nest guard pushes after
			   the nest's own (plan_nest.c) */
} plan_While;

typedef struct plan_Plan {
  ir_Kind kind;
  plan_Ring ring;
  int line;
  int nslots;
  int index;		/* slot of the loop variable, or -1 */
  /* guard arguments after the three control values: entry values of */
  int nin;
  int *in;		/* ... these slots */
  int natoms;
  plan_Atom *atoms;
  int ncoefs;
  plan_Coef *coefs;
  /* state: columns 0..nstate-1; the affine constant is column nstate */
  int nstate;
  plan_State *state;
  int *rows;		/* nstate x (nstate+1) coefficient ids: the update */
  int nbrows;
  int *brows;		/* nbrows x (nstate+1): every computed value */
  int ntypes;
  plan_Type *types;
  int nout;
  plan_Out *out;
  int *slot_in;		/* slot -> its input number, or -1 */
  int nmonos;		/* PS_MONO states among them */
  int modatom;		/* the atom m when every carried value is reduced
			   modulo m (the rows are then over Z/m), or -1 */
  int nk;
  ir_Const *k;		/* the IR's constants (strings owned by the plan) */
  int effects;		/* the body writes a slot that outlives an error
			   (ir_Loop.escapes): the guard may not raise for
			   the loop, only the loop as written may */
  /* a body with IF ops: only nslots, index, in, nin, slot_in, out (no
     state or atom: every out is passed through), nout and this are set;
     the guard chooses the path at entry and plans it (plan_branch.c) */
  plan_Branch *branch;
  /* a body with LOOP ops (a nest): as for a branch plan, only nslots,
     index, in, nin, slot_in, out and nout are set; the guard walks the
     nest with the values at entry (plan_nest.c) */
  plan_Nest *nest;
  /* PLAN_GF2 only (coefs, rows, brows and types are empty): the body as
     ops over forms (values linear over GF(2) in the state's bits) */
  int ngops;
  plan_GOp *gops;
  int *gupd;		/* nstate: the form (or -1 - atom) each state gets */
  /* IR_WHILE and IR_REPEAT: the body is planned as a numeric for loop
     that never reads its variable, whose count the guard takes from the
     exit test (plan_while.c) */
  plan_While w;
  int ncalls;		/* library calls (ir_Op.n1) whose function must be */
  int *calls;		/* the library's own: pairs of atom, ir_Fn */
} plan_Plan;

/* Why a loop was refused: the line of the offending op and a sentence. */
typedef struct plan_Refusal {
  int line;
  char msg[160];
} plan_Refusal;

/*
** Plans loop 'ir'.  On success pushes a plan userdata (metatable
** "cpm.plan", freed by __gc) and returns its plan; on refusal pushes
** nothing, fills 'why' and returns NULL.  Raises only on memory errors.
*/
plan_Plan *plan_make (lua_State *L, const ir_Loop *ir, plan_Refusal *why);

/*
** Pushes an empty plan userdata (metatable "cpm.plan"; __gc frees every
** array the plan points to) and returns its plan.  Raises on memory errors.
*/
plan_Plan *plan_newbox (lua_State *L);

/*
** Copies the IR's constants into *k (malloc'd, strings copied), counting
** in *nk those owned so far: plan_freeconsts(*k, *nk) frees what an
** allocation error (raised: "not enough memory") left, so *k and *nk
** should be fields of something a __gc frees.
*/
void plan_copyconsts (lua_State *L, const ir_Loop *ir, ir_Const **k,
                      int *nk);

/* Frees the constants plan_copyconsts made. */
void plan_freeconsts (ir_Const *k, int nk);

/* Pushes a constant as the VM holds it. */
void plan_pushconst (lua_State *L, const ir_Const *k);

/* The plan in the userdata at 'idx', or NULL (also when the userdata was
   finalized and a finalizer of the same cycle reached it again). */
plan_Plan *plan_test (lua_State *L, int idx);

/* Pushes a new empty plan userdata and returns its plan (every field zero;
   the userdata frees whatever arrays are later attached).  Raises on
   memory errors. */
plan_Plan *plan_newbox (lua_State *L);

/*
** plan_branch.c: plans a body with IF ops (same contract as plan_make,
** which calls it), frees a branch plan's data, and pushes the guard of a
** branch plan (as guard_pushsite, which calls it with absolute stack
** indices in 's' and its record at s->record).
*/
plan_Plan *plan_branch_make (lua_State *L, const ir_Loop *ir,
                             plan_Refusal *why);
void plan_branch_free (plan_Branch *b);
struct guard_Site;
void plan_branch_guard (lua_State *L, int cfg, int plan,
                        const struct guard_Site *s);

/*
** plan_while.c: plans a while or repeat loop (same contract as plan_make,
** which calls it for IR_WHILE and IR_REPEAT).
*/
plan_Plan *plan_while_make (lua_State *L, const ir_Loop *ir,
                            plan_Refusal *why);

/*
** plan_nest.c: plans a body with LOOP ops (same contract as plan_make,
** which calls it), frees a nest plan's data, and pushes the guard of a
** nest plan (as plan_branch_guard).
*/
plan_Plan *plan_nest_make (lua_State *L, const ir_Loop *ir,
                           plan_Refusal *why);
void plan_nest_free (plan_Nest *n);
void plan_nest_guard (lua_State *L, int cfg, int plan,
                      const struct guard_Site *s);

/*
** plan_depends.c: what plan 'p' of loop 'ir' needs at run time to be
** computed ("computed when the values are integers ..."), a sentence for
** cpm.explain, into buf (size bytes, truncated to fit).  Call it while
** 'ir' is alive (its names are the front end's).
*/
void plan_depends (const plan_Plan *p, const ir_Loop *ir, char *buf,
                   size_t size);

#define PLAN_MT		"cpm.plan"

#endif
