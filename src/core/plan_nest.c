/*
** plan_nest.c -- rectangular loop nests: numeric for loops (IR_LOOP) in a
** loop body, whose control values the enclosing loops never change.
**
** Each iteration of an inner loop applies the same affine map B to its
** state, so m iterations are B^m, a matrix whose entries are fixed once m
** is: the inner loop is one affine op of the enclosing body, and the whole
** nest is one affine map per outer iteration, raised to the outer count.
** m depends on the control values only, which are invariant, so it is
** counted once per guard call, by the VM's own rules (count.c).
**
** At plan time the body is walked once with kinds only (invariant, varying,
** dead), to refuse what the guard could never compute and to find the
** guard's inputs and outputs; a backward liveness pass says which slots an
** inner loop carries or leaves live (its state: the others are
** temporaries of its body).  At run time the guard walks the nest again,
** with the actual values:
**   - invariant ops are evaluated once with the VM's arithmetic (numbers
**     only; anything that could raise or call a metamethod: run as written);
**   - every varying value is an affine form over the state of its level
**     (the outer loop's carried slots and counter; for an inner loop, its
**     counter, the slots it carries or leaves live, and the varying slots
**     it only reads), with coefficients in Z/2^64 and, beside them, upper
**     bounds of the coefficients' magnitudes in the log2 domain;
**   - an inner loop with m = 0 changes nothing (the VM skips it); else its
**     body is walked over its own state, giving B, and its effect on the
**     enclosing level is B^m applied to the entry forms (mat_u64, one
**     column at a time); the magnitudes go through max_{j<=m} |B|^j
**     (bound_log2_majorant), which also bounds every value the inner body
**     computes in any of its iterations;
**   - the outer map is raised to the outer count n: B^n v (mat_u64).
** Z/2^64 is exact for Lua 5.4 integers (wrap-around included: reduction
** mod 2^64 is a ring homomorphism).  For floats (every LuaJIT number) the
** same computation is exact when every value of every iteration is an
** integer below 2^53, which the magnitudes prove (the float ring of
** guard.c, doc/design.md), with no -0.0 possible (no unary minus of a
** varying value, no product by an invariant <= 0, no -0.0 entry value).
** A mix of integers and floats, bignums, '%', bitwise operators and
** products of two varying values run as written (or are refused at plan
** time, with the reasons of reasons.h).
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bound.h"
#include "count.h"
#include "guard.h"
#include "guard_while.h"
#include "mat.h"
#include "plan.h"
#include "reasons.h"


/* Symbol kinds of a slot at a point of the walk. */
enum { SK_UNSET, SK_INV, SK_VAR, SK_DEAD };

/* Degrees (Level.deg): the outer counter itself, and the most tracked. */
#define DEG_COUNTER	127
#define DEG_MAX		100
#define DEG_POS		0x80	/* flag: > 0 at every iteration */
#define degof(x)	(((x) & 0x7f) == DEG_COUNTER ? 1 : (int)((x) & 0x7f))

/* Seen in the values that enter the ring. */
#define SEEN_INT	1
#define SEEN_FLT	2
#define SEEN_NEG0RISK	4	/* unary minus or product by an invariant <= 0 */

/* Floats are exact below 2^53; the log2 bounds keep a margin. */
#define NEST_LOG2_EXACT	52.9


struct plan_Nest {
  ir_Loop ir;		/* a copy of the loop, constants owned */
  ir_Op *ops;
  ir_Const *k;
  unsigned char *liveout;
  unsigned char *written;	/* slots some op of the nest writes */
  int nloops;		/* the LOOP ops, numbered in order */
  int *loopno;		/* op -> its loop's number, or -1 */
  /* nloops x nslots flags each: */
  unsigned char *keep;	/* the inner loop's state slots (besides counter and
			   read-only varying slots): written in its body and
			   read there before written, or live after it */
  unsigned char *wrote;	/* written in its body (any depth) */
  unsigned char *reads;	/* read in its body (any depth) */
  unsigned char *need;	/* resolved at its entry: live at its body's start
			   (its children's needs among them) or kept */
  int nused;		/* slots some op names */
  int maxdepth;
  int tri;		/* has triangular loops (trinest) */
  int ctrinv;		/* inner loops read the outer counter as an invariant
			   (trinest; products such as i * j) */
  unsigned char *qdeg;	/* loop -> degree in the outer counter of its
			   matrix's entries (ctrinv) */
  unsigned char *prod;	/* loop -> its body holds triangular loops that
			   follow its variable (prodloop) */
};


void plan_nest_free (plan_Nest *n) {
  plan_freeconsts(n->k, n->ir.nk);
  free(n->ops); free(n->liveout); free(n->written);
  free(n->loopno); free(n->keep); free(n->wrote); free(n->reads);
  free(n->need); free(n->qdeg); free(n->prod);
  free(n);
}


static void *xalloc (lua_State *L, size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (p == NULL) luaL_error(L, "cpm: not enough memory to plan the loop");
  return p;
}


static int hasarg (const ir_Op *op, int which) {
  switch (op->code) {
    case IR_MOVE: case IR_UNARY: return which == 1;
    case IR_ARITH: case IR_INDEX: return which <= 2;
    case IR_LOOP: return 1;
    default: return 0;
  }
}


static ir_Arg argof (const ir_Op *op, int which) {
  return which == 1 ? op->b : which == 2 ? op->c : op->d;
}


/* {======================================================
** The walk: shared by the planner (kinds only) and the guard (values)
** ======================================================= */

typedef struct Level {
  int k;		/* states: columns 1..k; column 0 is the constant */
  int *stslot;		/* state -> its slot; -1 for the counter */
  int *entry;		/* state -> its entry form at the enclosing level */
  unsigned char *kind;	/* slot -> SK_* */
  /* slot -> the degree, in the outer counter read as an invariant
     (ctrinv), of its value (SK_INV) or of its form's coefficients
     (SK_VAR); DEG_COUNTER: the counter itself */
  unsigned char *deg;
  int *val;		/* slot -> stack index (SK_INV) or form (SK_VAR) */
  int *brow;		/* forms: bounds of every value computed here */
  int nbrow;
  int ctrslot;		/* the loop variable's slot, or -1 */
  int ctrseen;		/* SEEN_INT or SEEN_FLT: the counter's type */
  int ln;		/* the number of the loop whose body this is */
  /* prodloop walks this body with its loop variable known: PROD_AT, the
     value cval (cfirst, clast: at the loop's first and last iteration);
     PROD_RANGE, some value start + cstep t, 0 <= t <= tmax (a bounding
     walk; tmax its largest count - 1) */
  int prod;
  int64_t cval, cfirst, clast, cstep, tmax;
  int64_t clo, chi;	/* PROD_RANGE: bounds of its values (its start's and
			   its limit's, which no value passes) */
  int limf;		/* its limit's form one level down, or -1: */
  int64_t limval;	/* its value (an invariant) */
} Level;

enum { PROD_NONE, PROD_AT, PROD_RANGE };


typedef struct Walk {
  lua_State *L;
  const plan_Nest *n;
  const plan_Plan *p;
  int eval;		/* guard time: values and forms */
  /* plan time */
  plan_Refusal *why;
  unsigned char *input;	/* slots read at entry (the guard's inputs) */
  /* guard time */
  const char *fail;	/* why the loop runs as written */
  char failbuf[160];
  int ibase;		/* stack index of input 0 */
  count_Loop c;		/* the outer loop's count */
  int W;		/* form width (columns) */
  uint64_t *fu;		/* maxforms x W coefficients */
  double *fl;		/* maxforms x W log2 magnitudes */
  /* maxforms type masks (Lua 5.4): bit 0, the value is a float whatever
     the states hold; bit c (1 <= c < 64), it is a float when the state of
     column c is one at the start of the level's iteration (+ - * give a
     float when an operand is one) */
  uint64_t *ftm;
  int tmfail;		/* a mask needed a column past 63 */
  int nforms, maxforms;
  int seen;		/* SEEN_* */
  int bounds;		/* keep the log2 magnitudes (floats may follow) */
  int topline;		/* line of the outer loop */
  int depth;		/* 0: the outer body */
  int innerline;	/* line of the inner loop being walked (depth 1) */
  Level *lv;		/* levels 0..maxdepth */
  /* triangular loops (inner loops of the outer body whose start or limit
     the outer loop changes) */
  int trifound;		/* plan time: the nest has one */
  int tri;		/* guard time: TRI_NONE, TRI_BOUNDS or TRI_AT */
  int64_t trix[2];	/* the outer counter's value: TRI_AT, at this walk's
			   iteration ([0]); TRI_BOUNDS, at the first and last */
  int64_t tristart;	/* the outer counter's first value */
  int64_t tristep;	/* the outer counter's step */
  int degree;		/* TRI_BOUNDS: sum of the triangular loops' degrees */
  int ctrinv;		/* n->ctrinv, or trying it (plan time) */
  int ctridx;		/* stack index of the counter's value (ctrinv) */
  int ctrpos;		/* the outer counter is > 0 in every iteration */
  unsigned char *qdeg;	/* plan time: loop -> its matrix's degree */
  unsigned char *prodp;	/* plan time: plan_Nest.prod, marked */
  unsigned char *supp;	/* ctrinv, per loop: where B - I has been nonzero
			   (MAT_KMAX^2 flags each) */
  int qmax;		/* the largest qdeg */
  int ctrfail;		/* stopped for a use of the counter ctrinv forbids */
  int trizero;		/* a triangular loop is skipped at one end only */
  uint64_t *trifirst, *trilast;	/* then: the type masks of the first and
				   the last iteration's map (trinest) */
  int pdeg;		/* sum of the degrees of the triangular loops walked
			   (prodloop: its body's matrix's degree) */
  int ranging;		/* a bounding walk: some loop variable is a range */
  int prodlevel;	/* the level of the body prodloop walks */
  int ndeep;		/* triangular loops met there in this walk */
  int skipdeep;		/* and counted 0 times (prodtypes) */
  int mayflt;		/* a float may enter (mayfloat) */
} Walk;


/* Walk.supp per loop: where B - I was nonzero (MAT_KMAX^2 flags), the
   walks that saw it, whether it runs at all. */
#define SUPPBYTES	(MAT_KMAX * MAT_KMAX + 2)

/* Guard-time walks of a nest with triangular loops (trinest below). */
enum { TRI_NONE, TRI_BOUNDS, TRI_AT };


/* Refuses (plan time) or fails (guard time) with reason 'msg', naming the
   inner loop when it happened inside one. */
static int stop (Walk *w, int line, const char *msg) {
  char *buf = w->eval ? w->failbuf : w->why->msg;
  size_t size = w->eval ? sizeof(w->failbuf) : sizeof(w->why->msg);
  if (w->depth > 0) {
    snprintf(buf, size, cpm_reason(CPM_R_NEST_INNER), w->innerline, msg);
    line = w->topline;
  }
  else
    snprintf(buf, size, "%s", msg);
  if (w->eval) w->fail = w->failbuf;
  else w->why->line = line;
  return 0;
}


static int stopr (Walk *w, int line, cpm_Reason r, const char *arg) {
  char msg[160];
  if (r == CPM_R_NEST_CTROP || r == CPM_R_NEST_CTRDEEP) w->ctrfail = 1;
  snprintf(msg, sizeof(msg), cpm_reason(r), arg);
  return stop(w, line, msg);
}


static int newform (Walk *w) {
  int f;
  if (w->nforms >= w->maxforms) return -1;
  f = w->nforms++;
  if (w->ftm) w->ftm[f] = 0;
  memset(&w->fu[(size_t)f * w->W], 0, sizeof(uint64_t) * (size_t)w->W);
  {
    int j;
    double *l = &w->fl[(size_t)f * w->W];
    for (j = 0; j < w->W; j++) l[j] = -HUGE_VAL;
  }
  return f;
}

#define FU(w, f)	(&(w)->fu[(size_t)(f) * (size_t)(w)->W])
#define FL(w, f)	(&(w)->fl[(size_t)(f) * (size_t)(w)->W])


static int formfull (Walk *w) {
  return stop(w, 0, "nested loop needs more intermediate values than planned");
}


/* The value at stack index 'idx' in the ring: its residue, log2 of its
   magnitude; notes its type, unless it is an 'operand' of + - * with a
   varying value (an integer there leaves a float a float, and an integer
   an integer: only a float operand of integers makes a mix).  0 when it
   cannot enter (not a number, a bignum, a float that is not an exact
   integer or is -0.0). */
static int toring (Walk *w, int idx, uint64_t *u, double *lg, int operand) {
  lua_State *L = w->L;
  switch (count_vtype(L, idx)) {
    case VT_INT: {
      lua_Integer i = lua_tointeger(L, idx);
      *u = (uint64_t)i;
      *lg = i == 0 ? -HUGE_VAL : log2(fabs((double)i)) + 1e-9;
      if (!operand) w->seen |= SEEN_INT;
      return 1;
    }
    case VT_FLT: {
      double x = (double)lua_tonumber(L, idx);
      if (x != floor(x) || fabs(x) >= 9007199254740992.0 ||
          (x == 0 && signbit(x)))
        return stop(w, 0, "a value of the nested loop is not an exact integer");
      *u = (uint64_t)(int64_t)x;
      *lg = x == 0 ? -HUGE_VAL : log2(fabs(x)) + 1e-9;
      w->seen |= SEEN_FLT;
      return 1;
    }
    default:
      return stop(w, 0, "a value of the nested loop is not a number it can follow");
  }
}


/* Is the value at 'idx' a float (Lua 5.4's subtype)? */
static uint64_t isfloat (lua_State *L, int idx) {
#if CPM_LUA54
  return lua_type(L, idx) == LUA_TNUMBER && !lua_isinteger(L, idx);
#else
  (void)L; (void)idx;
  return 1;
#endif
}


/* A form holding the constant at stack index 'idx' (an 'operand', see
   toring). */
static int constform (Walk *w, int idx, int operand) {
  uint64_t u;
  double lg;
  int f;
  if (!toring(w, idx, &u, &lg, operand)) return -1;
  if ((f = newform(w)) < 0) return formfull(w), -1;
  FU(w, f)[0] = u;
  FL(w, f)[0] = lg;
  if (w->ftm) w->ftm[f] = isfloat(w->L, idx);
  return f;
}


static int unitform (Walk *w, int col) {
  int f = newform(w);
  if (f < 0) return formfull(w), -1;
  FU(w, f)[col] = 1;
  FL(w, f)[col] = 0;
  if (w->ftm) {
    if (col < 64) w->ftm[f] = (uint64_t)1 << col;
    else w->tmfail = 1;
  }
  return f;
}


/* The form of a loop variable (column col), whose type the loop fixes:
   its mask says so outright (a float loop's, bit 0), not through col. */
static int ctrform (Walk *w, int col, int itype) {
  int f = unitform(w, col);
  if (f >= 0 && w->ftm) w->ftm[f] = itype != VT_INT;
  return f;
}


static int newstate (Level *lv, int slot, int entry) {
  int s = lv->k++;
  lv->stslot[s] = slot;
  lv->entry[s] = entry;
  return 1 + s;  /* its column */
}


/* Resolves slot 's' at the outer level on its first read: the counter, a
   carried slot (a state, its entry value a guard input) or an input. */
static int resolve (Walk *w, Level *lv, int s) {
  const plan_Nest *n = w->n;
  if (s == n->ir.index) {
    lv->kind[s] = SK_VAR;
    if (w->eval) {
      int col = newstate(lv, -1, -1);
      if ((lv->val[s] = ctrform(w, col, w->c.itype)) < 0) return 0;
    }
    return 1;
  }
  if (!w->eval) {
    w->input[s] = 1;
    lv->kind[s] = n->written[s] ? SK_VAR : SK_INV;
    return 1;
  }
  if (w->p->slot_in[s] < 0) return stop(w, 0, "the guard call lacks an input");
  if (n->written[s]) {
    int col = newstate(lv, s, -1);
    lv->kind[s] = SK_VAR;
    if ((lv->val[s] = unitform(w, col)) < 0) return 0;
  }
  else {
    lv->kind[s] = SK_INV;
    lv->val[s] = w->ibase + w->p->slot_in[s];
  }
  return 1;
}


/* Reads operand 'x' at level 'lv': sets *kind and *val. */
static int readarg (Walk *w, Level *lv, ir_Arg x, int *kind, int *val,
                    int line) {
  if (ir_isconst(x)) {
    *kind = SK_INV;
    if (w->eval) {
      plan_pushconst(w->L, &w->n->k[ir_constidx(x)]);
      *val = lua_gettop(w->L);
    }
    return 1;
  }
  if (lv->kind[x] == SK_UNSET) {
    if (w->depth > 0 || !resolve(w, lv, x))
      return w->depth > 0 ? stopr(w, line, CPM_R_IR_MALFORMED, "") : 0;
  }
  if (lv->kind[x] == SK_DEAD) return stopr(w, line, CPM_R_IR_MALFORMED, "");
  if (w->eval) {  /* a loop variable: its type enters the ring */
    int d;
    for (d = 0; d <= w->depth; d++)
      if (w->lv[d].ctrslot == x) w->seen |= w->lv[d].ctrseen;
  }
  *kind = lv->kind[x];
  *val = lv->val[x];
  return 1;
}


/* The form of a value (an invariant becomes a constant form). */
static int asform (Walk *w, int kind, int val, int operand) {
  return kind == SK_VAR ? val : constform(w, val, operand);
}


/* An invariant op, evaluated once as the VM would (numbers only, nothing
   that raises); pushes its value.  0 when it cannot. */
static int hoist (Walk *w, const ir_Op *op, int xb, int xc) {
  lua_State *L = w->L;
  const char *no = "an invariant expression of the nested loop needs a "
                   "metamethod or may raise";
  if (op->code == IR_INDEX) {
    if (lua_type(L, xb) != LUA_TTABLE) return stop(w, op->line, no);
    lua_pushvalue(L, xc);
    lua_rawget(L, xb);
    if (lua_isnil(L, -1) && lua_getmetatable(L, xb)) {
      lua_pop(L, 2);
      return stop(w, op->line, no);
    }
    return 1;
  }
  if (op->code == IR_UNARY) xc = xb;
  if (!guard_numarith(L, op->aop, xb, xc)) return stop(w, op->line, no);
  return 1;
}


/* Records form 'f' as a computed value of level 'lv'. */
static int addbrow (Level *lv, int f) {
  lv->brow[lv->nbrow++] = f;
  return 1;
}


/* The degree of operand x (Level.deg; a constant: 0). */
static int argdeg (const Level *lv, ir_Arg x) {
  return ir_isconst(x) ? 0 : lv->deg[x];
}


/* Is operand x (of kind 'kind', value 'val') > 0 at every iteration?
   (Guard time; 0 when unknown.) */
static int positive (Walk *w, const Level *lv, ir_Arg x, int kind, int val) {
  int d = argdeg(lv, x);
  if (d == 0)
    return w->eval && kind == SK_INV && lua_type(w->L, val) == LUA_TNUMBER &&
           lua_tonumber(w->L, val) > 0;
  if (d == DEG_COUNTER) return w->ctrpos;
  return (d & DEG_POS) != 0;
}


/*
** The degree in the outer counter of op's result (ctrinv), and whether
** it stays > 0: the counter may enter + - * only (a polynomial stays
** one); a product or a negation of a value of degree > 0 may make a float
** -0.0 unless that value stays > 0.
*/
static int stepdeg (Walk *w, Level *lv, const ir_Op *op, int kb, int vb,
                    int kc, int vc) {
  int db = argdeg(lv, op->b), dc = op->code == IR_UNARY ? 0 : argdeg(lv, op->c);
  int poly = (op->code == IR_ARITH && (op->aop == IR_ADD || op->aop == IR_SUB ||
              op->aop == IR_MUL)) || (op->code == IR_UNARY && op->aop == IR_UNM);
  int dr, pb, pc;
  if (db == 0 && dc == 0) { lv->deg[op->a] = 0; return 1; }
  if (!poly)
    return stopr(w, op->line, CPM_R_NEST_CTROP,
                 op->code == IR_INDEX ? "[]" : ir_aopname(op->aop));
  pb = positive(w, lv, op->b, kb, vb);
  pc = op->code == IR_UNARY ? 0 : positive(w, lv, op->c, kc, vc);
  if ((op->aop == IR_MUL || op->aop == IR_UNM) &&
      ((db != 0 && !pb) || (dc != 0 && !pc)))
    w->seen |= SEEN_NEG0RISK;
  dr = op->aop == IR_MUL ? degof(db) + degof(dc)
                         : (degof(db) > degof(dc) ? degof(db) : degof(dc));
  if (dr > DEG_MAX) return stop(w, op->line, "a triangular nest of too high a degree");
  lv->deg[op->a] = (unsigned char)(dr | ((op->aop == IR_MUL || op->aop == IR_ADD)
                                         && pb && pc ? DEG_POS : 0));
  return 1;
}


static int step_op (Walk *w, Level *lv, const ir_Op *op) {
  int kb, vb = 0, kc = SK_INV, vc = 0, f = -1;
  if (!readarg(w, lv, op->b, &kb, &vb, op->line)) return 0;
  if (op->code != IR_UNARY && !readarg(w, lv, op->c, &kc, &vc, op->line))
    return 0;
  if (!stepdeg(w, lv, op, kb, vb, kc, vc)) return 0;
  if (kb == SK_INV && kc == SK_INV) {  /* hoisted */
    lv->kind[op->a] = SK_INV;
    if (w->eval && w->tri == TRI_BOUNDS && lv->deg[op->a] != 0 &&
        w->c.itype != VT_INT) {
      /* the first walk of a trinest bounds magnitudes: |b| + |c|, |b| |c|
         and |b| bound this value at every iteration, the counter pushed
         as the larger magnitude of its ends (+ - * only: stepdeg) */
      double b = fabs((double)lua_tonumber(w->L, vb));
      double c = op->code == IR_UNARY ? 0 : fabs((double)lua_tonumber(w->L, vc));
      lua_pushnumber(w->L, (lua_Number)(op->aop == IR_MUL ? b * c : b + c));
      lv->val[op->a] = lua_gettop(w->L);
    }
    else if (w->eval) {
      if (!hoist(w, op, vb, vc)) return 0;
      lv->val[op->a] = lua_gettop(w->L);
    }
    return 1;
  }
  if (op->code == IR_INDEX)
    return stopr(w, op->line, CPM_R_FIELD_CARRIED, kb == SK_VAR ? "table" : "key");
  switch (op->aop) {
    case IR_ADD: case IR_SUB: case IR_MUL: case IR_UNM: break;
    default:
      return stopr(w, op->line, CPM_R_NEST_OP, ir_aopname(op->aop));
  }
  if (op->aop == IR_MUL && kb == SK_VAR && kc == SK_VAR)
    return stopr(w, op->line, CPM_R_NEST_PRODUCT, "");
  lv->kind[op->a] = SK_VAR;
  if (!w->eval) return 1;
  if ((f = newform(w)) < 0) return formfull(w);
  if (op->aop == IR_UNM) {
    int j;
    for (j = 0; j < w->W; j++) {
      FU(w, f)[j] = (uint64_t)0 - FU(w, vb)[j];
      FL(w, f)[j] = FL(w, vb)[j];
    }
    if (w->ftm) w->ftm[f] = w->ftm[vb];
    w->seen |= SEEN_NEG0RISK;
  }
  else if (op->aop == IR_MUL) {
    int x = kb == SK_VAR ? vb : vc, a = kb == SK_VAR ? vc : vb, j;
    uint64_t u;
    double lg;
    if (!toring(w, a, &u, &lg, 1)) return 0;
    if (!(lua_tonumber(w->L, a) > 0)) w->seen |= SEEN_NEG0RISK;
    for (j = 0; j < w->W; j++) {
      FU(w, f)[j] = FU(w, x)[j] * u;
      FL(w, f)[j] = FL(w, x)[j] + lg;
    }
    if (w->ftm) w->ftm[f] = w->ftm[x] | isfloat(w->L, a);
  }
  else {
    int fb = asform(w, kb, vb, 1), fc, j;
    if (fb < 0) return 0;
    if ((fc = asform(w, kc, vc, 1)) < 0) return 0;
    for (j = 0; j < w->W; j++) {
      FU(w, f)[j] = op->aop == IR_ADD ? FU(w, fb)[j] + FU(w, fc)[j]
                                      : FU(w, fb)[j] - FU(w, fc)[j];
      if (w->bounds) FL(w, f)[j] = bound_log2_add(FL(w, fb)[j], FL(w, fc)[j]);
    }
    if (w->ftm) w->ftm[f] = w->ftm[fb] | w->ftm[fc];
  }
  lv->val[op->a] = f;
  return addbrow(lv, f);
}


static int walkblock (Walk *w, int first, int end);


/* log2 of sum_l 2^(a[l*sa] + b[l*sb]), l < k. */
static double logdot (int k, const double *a, int sa, const double *b,
                      int sb) {
  double s = -HUGE_VAL;
  int l;
  for (l = 0; l < k; l++) {
    double x = a[l * sa], y = b[l * sb];
    if (x != -HUGE_VAL && y != -HUGE_VAL) s = bound_log2_add(s, x + y);
  }
  return s;
}


/* C := A B in Z/2^64 (K x K); C must not alias A or B. */
static void mulu64 (int K, const uint64_t *A, const uint64_t *B, uint64_t *C) {
  int i, j, l;
  for (i = 0; i < K; i++)
    for (j = 0; j < K; j++) {
      uint64_t s = 0;
      for (l = 0; l < K; l++) s += A[i * K + l] * B[l * K + j];
      C[i * K + j] = s;
    }
}


/* P := B^m in Z/2^64 (K x K), left to right over the bits of m; T is
   K x K scratch.  The whole matrix is wanted (it maps the entry forms), so
   plain squarings: K^3 log m, for the small K of an inner loop. */
static void powu64 (int K, const uint64_t *B, mpz_srcptr m, uint64_t *P,
                    uint64_t *T) {
  size_t nb = mpz_sizeinbase(m, 2), KK = (size_t)K * (size_t)K;
  int i;
  for (i = 0; i < K * K; i++) P[i] = (i / K == i % K);
  if (mpz_sgn(m) == 0) return;
  while (nb-- > 0) {
    mulu64(K, P, P, T);
    if (mpz_tstbit(m, nb)) mulu64(K, T, B, P);
    else memcpy(P, T, KK * sizeof(uint64_t));
  }
}


/*
** The degree in m of the entries of B^m when B (K x K, Z/2^64) is
** unipotent: B = I + N with N nilpotent, so B^m = sum_{t<=p} C(m,t) N^t
** where p + 1 is the least power with N^(p+1) = 0 (the binomial theorem:
** I and N commute); -1 when N is not nilpotent (N^K != 0).  N and Q are
** K x K scratch.
*/
static int unipotent_degree (int K, const uint64_t *B, uint64_t *N,
                             uint64_t *Q) {
  size_t KK = (size_t)K * (size_t)K, x;
  uint64_t *T = (uint64_t *)malloc(sizeof(uint64_t) * KK);
  int t, p = -1;
  if (T == NULL) return -1;
  for (x = 0; x < KK; x++) N[x] = B[x] - (x / K == x % K);
  memcpy(Q, N, KK * sizeof(uint64_t));
  for (t = 1; t <= K && p < 0; t++) {  /* Q = N^t */
    for (x = 0; x < KK && Q[x] == 0; x++) ;
    if (x == KK) p = t - 1;
    else {
      mulu64(K, Q, N, T);
      memcpy(Q, T, KK * sizeof(uint64_t));
    }
  }
  free(T);
  return p;
}


static int typesteps_n (int k, const uint64_t *E, const uint64_t *U,
                        unsigned long steps, uint64_t *X, uint64_t *T);

/*
** The types of k states after m steps of a level (Lua 5.4; Walk.ftm's
** masks): X[i] := the mask, over the enclosing level's columns, of state
** i's type, from E (the entry values' masks) and U (the update forms'
** masks, over the level's own columns: column c is state c - 1).  Types
** may settle or alternate (a swap of an integer and a float): past k + 1
** steps they must have settled, else 0.  T is k words of scratch.
*/
static int typesteps (int k, const uint64_t *E, const uint64_t *U,
                      mpz_srcptr m, uint64_t *X, uint64_t *T) {
  return typesteps_n(k, E, U, mpz_cmp_ui(m, (unsigned long)k + 2) <= 0
                              ? mpz_get_ui(m) : (unsigned long)k + 2, X, T);
}


/* The same for 'steps' steps (k + 2: settled, else 0). */
static int typesteps_n (int k, const uint64_t *E, const uint64_t *U,
                        unsigned long steps, uint64_t *X, uint64_t *T) {
  unsigned long t;
  int i, c;
  memcpy(X, E, sizeof(uint64_t) * (size_t)k);
  for (t = 1; t <= steps; t++) {
    for (i = 0; i < k; i++) {
      uint64_t x = U[i] & 1;
      for (c = 1; c <= k && c < 64; c++)
        if (U[i] >> c & 1) x |= X[c - 1];
      T[i] = x;
    }
    if (t == steps && steps == (unsigned long)k + 2 &&
        memcmp(T, X, sizeof(uint64_t) * (size_t)k) != 0)
      return 0;
    memcpy(X, T, sizeof(uint64_t) * (size_t)k);
  }
  return 1;
}


/*
** The forms, at the enclosing level 'out', of the K - 1 states of an inner
** loop after its iterations, whose product is P (K x K over (1, states);
** R >= the magnitudes of every prefix of it, used when w->bounds): row t
** of E is the entry form of state t.  Moves the bounds of the values the
** body computed there.  1, or 0 when the forms run out.
*/
static int applyclosed (Walk *w, Level *in, Level *out, int K,
                        const uint64_t *P, const double *R, double *lcol,
                        int *res) {
  int W = w->W, i, j, t, ok = 1;
  /* E: row 0 the constant, row t the entry form of state t (at 'out') */
  for (i = 1; i < K && ok; i++) {
    int f = newform(w), fe;
    if (f < 0) { ok = 0; break; }
    for (t = 0; t < K; t++) {
      const uint64_t *eu;
      const double *el;
      uint64_t c = P[i * K + t];
      double lc = w->bounds ? R[i * K + t] : -HUGE_VAL;
      if (t == 0) {
        FU(w, f)[0] += c;
        if (w->bounds) FL(w, f)[0] = bound_log2_add(FL(w, f)[0], lc);
        continue;
      }
      fe = in->entry[t - 1];
      eu = FU(w, fe); el = FL(w, fe);
      for (j = 0; j < W; j++) {
        FU(w, f)[j] += c * eu[j];
        if (w->bounds && lc != -HUGE_VAL && el[j] != -HUGE_VAL)
          FL(w, f)[j] = bound_log2_add(FL(w, f)[j], lc + el[j]);
      }
    }
    res[i - 1] = f;
  }
  /* every value computed in the inner body, in any iteration: its bound
     row b (over the inner state) becomes b R E over the enclosing state */
  for (i = 0; i < in->nbrow && ok && w->bounds; i++) {
    const double *b = FL(w, in->brow[i]);
    int f = newform(w);
    if (f < 0) { ok = 0; break; }
    for (t = 0; t < K; t++) lcol[t] = logdot(K, b, 1, &R[t], K);  /* b R */
    for (j = 0; j < W; j++) {
      double s = lcol[0] == -HUGE_VAL ? -HUGE_VAL : (j == 0 ? lcol[0] : -HUGE_VAL);
      for (t = 1; t < K; t++) {
        double x = FL(w, in->entry[t - 1])[j];
        if (lcol[t] != -HUGE_VAL && x != -HUGE_VAL)
          s = bound_log2_add(s, lcol[t] + x);
      }
      FL(w, f)[j] = s;
    }
    out->brow[out->nbrow++] = f;
  }
  return ok ? 1 : formfull(w);
}


/* B (K x K, over (1, states)) of an inner loop's iteration, from its
   update forms, and LB, their log2 magnitudes. */
static void loopmatrix (Walk *w, int K, const int *upd, uint64_t *B,
                        double *LB) {
  int i, j;
  for (i = 0; i < K; i++)
    for (j = 0; j < K; j++) {
      B[i * K + j] = i == 0 ? j == 0 : FU(w, upd[i - 1])[j];
      LB[i * K + j] = i == 0 ? (j == 0 ? 0 : -HUGE_VAL) : FL(w, upd[i - 1])[j];
    }
}


/*
** After an inner loop of 'm' iterations whose body was walked at level
** 'in' (its states' update forms in 'upd'): the forms of its states at the
** enclosing level 'out', and its computed values' bounds moved there.
*/
static int closeloop (Walk *w, Level *in, Level *out, const int *upd,
                      mpz_srcptr m, int *res, int tri, int ln, int q) {
  int K = in->k + 1, i, j, ok = 1;
  size_t KK = (size_t)K * (size_t)K;
  uint64_t *B = (uint64_t *)malloc(sizeof(uint64_t) * (3 * KK + 2 * (size_t)K));
  double *LB = (double *)malloc(sizeof(double) * (2 * KK + 2 * (size_t)K));
  uint64_t *P, *e;
  double *R, *le, *lcol;
  if (B == NULL || LB == NULL) {
    free(B); free(LB);
    w->fail = "not enough memory";
    return 0;
  }
  P = B + KK; e = P + KK;  /* e: K x K scratch */
  R = LB + KK; le = R + KK; lcol = le + K;
  loopmatrix(w, K, upd, B, LB);
  if ((tri || q > 0) && (w->tri == TRI_BOUNDS || (tri && w->depth >= 2))) {
    /* B^m polynomial in r (or, below the first level, in the iteration of
       the enclosing loop: prodloop) */
    /* (with q > 0 this walk's B holds magnitudes, not values: the walks
       at each r check it, nilpotent_everywhere) */
    int p = q > 0 ? K - 1 : unipotent_degree(K, B, P, e);
    if (p < 0) {
      free(B); free(LB);
      w->fail = "an inner loop whose count or matrix the enclosing loop "
                "changes does more than add to its values (its matrix is "
                "not unipotent)";
      return 0;
    }
    /* B depends on the outer counter: its nilpotency index at this
       iteration bounds nothing at the others, K - 1 does (trinest checks
       that B - I is nilpotent at every one) */
    if (q > 0) p = K - 1;
    if (w->tri == TRI_BOUNDS) w->degree += p * ((tri ? 1 : 0) + q);
    w->pdeg += p;
    if (w->supp)  /* it runs */
      w->supp[(size_t)ln * SUPPBYTES + MAT_KMAX * MAT_KMAX + 1] = 1;
  }
  if (q > 0 && w->tri == TRI_AT) {  /* where B - I is nonzero, so far */
    unsigned char *sp = &w->supp[(size_t)ln * SUPPBYTES];
    for (i = 0; i < K; i++)
      for (j = 0; j < K; j++)
        if (B[i * K + j] != (uint64_t)(i == j)) sp[i * MAT_KMAX + j] = 1;
    if (sp[MAT_KMAX * MAT_KMAX] < 255) sp[MAT_KMAX * MAT_KMAX]++;  /* walks seen */
  }
  /* P = B^m, and R >= max_{j<=m} |B|^j (floats only) */
  powu64(K, B, m, P, e);
  if (w->bounds && bound_log2_powmax(K, LB, m, R) != 0) ok = 0;
  if (!ok) {
    free(B); free(LB);
    w->fail = "the inner loop's matrix cannot be computed";
    return 0;
  }
  ok = applyclosed(w, in, out, K, P, R, lcol, res);
  if (ok && w->ftm != NULL) {  /* the states' types after m iterations */
    uint64_t *E = e, *U = e + K, *X = e + 2 * K, *T = e + 3 * K;
    if (K - 1 >= 64 || 4 * K > (int)KK + 2 * K) w->tmfail = 1;
    else {
      for (i = 0; i < K - 1; i++) {
        E[i] = w->ftm[in->entry[i]];
        U[i] = w->ftm[upd[i]];
      }
      if (!typesteps(K - 1, E, U, m, X, T)) w->tmfail = 1;
      else for (i = 0; i < K - 1; i++) w->ftm[res[i]] = X[i];
      if (tri) {  /* a count that changes: the same types after any m >= 1
                     (settled at the first step; see trinest) */
        uint64_t *X1 = P;  /* (free again: B^m is in the result forms) */
        if (!typesteps_n(K - 1, E, U, 1, X1, T) ||
            !typesteps_n(K - 1, E, U, 2, X, T) ||
            memcmp(X1, X, sizeof(uint64_t) * (size_t)(K - 1)) != 0)
          w->tmfail = 1;
      }
    }
  }
  free(B); free(LB);
  return ok;
}


/* {======================================================
** Triangular loops: counted at one outer iteration
** ======================================================= */

typedef __int128 i128;

/* Floats of a triangular loop's control values stay below this, so that
   every value its loop variable takes, and the one past the limit, is an
   exact integer (below 2^53). */
#define TRI_FLT_MAX	4503599627370496.0	/* 2^52 */


static i128 floordiv (i128 a, i128 b) {
  i128 q = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) q--;
  return q;
}


/*
** A control value of a triangular loop when the outer counter is x: an
** invariant, or a form over the constant and the outer counter alone
** (*coef its coefficient of the counter); an exact integer in *v, with
** its type in *flt.  0 (the loop runs as written) for anything else.
*/
static int trictrl (Walk *w, int line, int kind, int val, int64_t x,
                    i128 *v, i128 *coef, int *flt) {
  lua_State *L = w->L;
  const char *notint = "an inner loop's control value is not an integer "
                       "it can follow";
  *coef = 0;
  if (kind == SK_INV) {
    switch (count_vtype(L, val)) {
      case VT_INT:
        *v = (i128)lua_tointeger(L, val);
        *flt = 0;
        return 1;
      case VT_FLT: {
        double d = (double)lua_tonumber(L, val);
        if (d != floor(d) || !(fabs(d) < TRI_FLT_MAX) || (d == 0 && signbit(d)))
          return stop(w, line, notint);
        *v = (i128)(int64_t)d;
        *flt = 1;
        return 1;
      }
      default:
        return stop(w, line, notint);
    }
  }
  else {
    const uint64_t *f = FU(w, val);
    int j, cc = w->n->ir.index >= 0 ? 1 : 0;  /* the counter's column */
    for (j = 1; j < w->W; j++)
      if (j != cc && f[j] != 0)
        return stop(w, line, "an inner loop's control value depends on a "
                             "value the outer loop carries, not only on its "
                             "counter");
    if (cc) *coef = (i128)(int64_t)f[cc];
    *v = (i128)(int64_t)f[0] + *coef * (i128)x;
    if (*v > (i128)INT64_MAX || *v < (i128)INT64_MIN)
      return stop(w, line, notint);
#if CPM_LUA54
    {  /* its type: its form's mask (Walk.ftm) over the constant and the
          counter, whose type is the outer loop's */
      uint64_t tm = w->ftm != NULL ? w->ftm[val] : 1;
      if ((tm & ~((uint64_t)1 | ((uint64_t)1 << cc))) != 0)
        return stop(w, line, "an inner loop's control value depends on a "
                             "value the outer loop carries, not only on its "
                             "counter");
      *flt = (tm & 1) != 0 || (cc && (tm >> cc & 1) && w->c.itype != VT_INT);
    }
#else
    *flt = 1;
#endif
    if (*flt && !(fabs((double)*v) < TRI_FLT_MAX))
      return stop(w, line, notint);
    return 1;
  }
}


/*
** The count of a triangular loop (control values in kv, vv at the outer
** level) into c: at this walk's outer iteration (TRI_AT), or the largest
** of its counts at the first and the last outer iteration (TRI_BOUNDS),
** which also checks that the count is one affine function of the outer
** iteration all along: with start S and limit L affine in the outer
** counter and an invariant step s, the VM runs the loop floor((L - S)/s)
** + 1 times when that is >= 0 (integers and exact floats alike; Lua 5.4,
** lvm.c forprep), 0 otherwise; that formula is affine in the outer
** iteration when s divides the change of L - S per outer iteration, and it
** is never clamped to 0 in between when it is >= 0 at both ends.
*/
static int tricount (Walk *w, int line, const int *kv, const int *vv,
                     count_Loop *c) {
  i128 v[3][2], coef[3], F[2], m;
  int flt[3], e, j, ne = w->tri == TRI_BOUNDS ? 2 : 1, isflt;
  for (e = 0; e < ne; e++)
    for (j = 0; j < 3; j++)
      if (!trictrl(w, line, kv[j], vv[j], w->trix[e], &v[j][e], &coef[j],
                   &flt[j]))
        return 0;
  if (v[2][0] == 0)  /* the VM raises */
    return stop(w, line, "an inner loop's step is zero");
#if CPM_LUA54
  isflt = flt[0] || flt[2];  /* lvm.c, forprep: an integer loop otherwise */
#else
  isflt = 1;
#endif
  for (e = 0; e < ne; e++) {
    F[e] = floordiv(v[1][e] - v[0][e], v[2][0]) + 1;
    if (F[e] < 0)
      return stop(w, line, "an inner loop runs in some outer iterations "
                           "and not in others");
  }
  if (ne == 2 && (F[0] == 0) != (F[1] == 0))
    w->trizero = 1;  /* skipped at one end only: its types differ there */
  if (ne == 2 && ((coef[1] - coef[0]) * (i128)w->tristep) % v[2][0] != 0)
    return stop(w, line, "an inner loop's count is not an affine function "
                         "of the outer counter (its step does not divide "
                         "the change of its range)");
  m = ne == 2 && F[1] > F[0] ? F[1] : F[0];
  if (m > ((i128)1 << 64))
    return stop(w, line, "loop control values it cannot count exactly");
  c->itype = isflt ? VT_FLT : VT_INT;
  c->istep = (lua_Integer)v[2][0];
  c->fstep = (double)v[2][0];
  c->n = (uint64_t)m;
  c->n64 = (m >> 64) != 0;
  return 1;
}

/*
** Below the first level (prodloop), a triangular loop's control values
** are forms over the columns of its level whose values the walk knows:
** the loop variables of the enclosing loops and the values they only read
** (entry forms over the level below), down to the outer counter (a
** triangular nest's walk: trix).  formrange gives the range [lo, hi] of
** such a value in this walk (lo = hi but in a bounding walk) and whether
** it may be a float (Lua 5.4's subtype); 0 for anything else.  It
** substitutes level by level, down to the outer one, each column's value:
** a value only read, its entry form; a loop variable, its value (PROD_AT;
** 'which' takes level d's own at this walk's iteration, FR_AT, or at its
** first or last, FR_FIRST, FR_LAST) or, in a bounding walk (PROD_RANGE),
** its start's form plus step x [0, m - 1], so that what two values share
** cancels (`k - j` in `for k = j, m`: the iteration of k, >= 0).
*/
enum { FR_AT, FR_FIRST, FR_LAST };

/* Magnitude of the control values this follows (a margin below 2^63). */
#define PROD_CTRL_MAX	((i128)1 << 62)

/* How rangeof takes a bounding walk's loop variable. */
enum { RANGE_START, RANGE_HULL, RANGE_LIMIT };

static int rangeof (Walk *w, int d, int f, int which, int how, i128 *lo,
                    i128 *hi, int *flt) {
  i128 vec[2][MAT_KMAX + 2], rlo = 0, rhi = 0;
  i128 *v = vec[0], *nv = vec[1];
  int c, e, W = w->W < MAT_KMAX + 2 ? w->W : MAT_KMAX + 2;
  for (c = 0; c < W; c++) v[c] = (i128)(int64_t)FU(w, f)[c];
#if CPM_LUA54
  *flt = w->ftm == NULL || (w->ftm[f] & 1) != 0;
#else
  *flt = 1;
#endif
  for (e = d; e >= 0; e--) {
    Level *lv = &w->lv[e];
    for (c = 0; c < W; c++) nv[c] = 0;
    nv[0] = v[0];
    for (c = 1; c < W; c++) {
      i128 a = v[c];
      int s, j, g;
      if (a == 0) continue;
      if (c > lv->k || a > PROD_CTRL_MAX || a < -PROD_CTRL_MAX) return 0;
      s = lv->stslot[c - 1];
      if (e == 0) {  /* the outer counter only */
        int64_t x = w->trix[0], y = w->tri == TRI_BOUNDS ? w->trix[1] : x;
        if (s >= 0 || w->tri == TRI_NONE) return 0;
        if (x > y) { int64_t t = x; x = y; y = t; }
        rlo += a * (a > 0 ? x : y);
        rhi += a * (a > 0 ? y : x);
        if (w->c.itype != VT_INT) *flt = 1;
        continue;
      }
      if (s < 0) {  /* the level's loop variable */
        if (lv->ctrseen == SEEN_FLT) *flt = 1;
        if (lv->prod == PROD_AT) {
          int64_t x = e == d && which == FR_FIRST ? lv->cfirst
                    : e == d && which == FR_LAST ? lv->clast : lv->cval;
          nv[0] += a * x;
          continue;
        }
        if (lv->prod != PROD_RANGE) return 0;
        if (how == RANGE_HULL) {  /* [clo, chi] */
          rlo += a * (a > 0 ? lv->clo : lv->chi);
          rhi += a * (a > 0 ? lv->chi : lv->clo);
          continue;
        }
        if (how == RANGE_LIMIT) {  /* limit - step x [0, tmax + 1), as far
                                     as a value passes no limit */
          i128 st = lv->cstep, x = ((i128)lv->tmax + 1) * (st > 0 ? st : -st) - 1;
          i128 t = a * (st > 0 ? -x : x);
          if (lv->limf == -2) return 0;
          if (t > 0) rhi += t; else rlo += t;
          if (lv->limf < 0) { nv[0] += a * (i128)lv->limval; continue; }
          g = lv->limf;
          goto substitute;
        }
        {  /* start + step x [0, tmax] */
          i128 t = a * (i128)lv->cstep * (i128)lv->tmax;
          if (t > 0) rhi += t; else rlo += t;
        }
      }
      else if (w->n->wrote[(size_t)lv->ln * w->n->ir.nslots + s]) return 0;
      g = lv->entry[c - 1];  /* the start's or the value's entry form */
    substitute:
#if CPM_LUA54
      if (w->ftm != NULL && (w->ftm[g] & 1)) *flt = 1;
#endif
      for (j = 0; j < W; j++) nv[j] += a * (i128)(int64_t)FU(w, g)[j];
    }
    for (c = 0; c < W; c++)
      if (nv[c] > PROD_CTRL_MAX || nv[c] < -PROD_CTRL_MAX) return 0;
    { i128 *t = v; v = nv; nv = t; }
    if (rlo < -PROD_CTRL_MAX || rhi > PROD_CTRL_MAX) return 0;
  }
  *lo = v[0] + rlo;
  *hi = v[0] + rhi;
  return *lo >= -PROD_CTRL_MAX && *hi <= PROD_CTRL_MAX;
}


/* The range of form f: the loop variables of bounding walks taken with
   their starts (what values share cancels), with their limits (`i - j`
   under `for j = 1, i`: >= 0), and apart, as their bounds (what no value
   passes); the narrowest. */
static int formrange (Walk *w, int d, int f, int which, i128 *lo, i128 *hi,
                      int *flt) {
  int how, ok = 0;
  for (how = RANGE_START; how <= RANGE_LIMIT; how++) {
    i128 a, b;
    int fa;
    if (!rangeof(w, d, f, which, how, &a, &b, &fa)) continue;
    if (!ok || a > *lo) *lo = a;
    if (!ok || b < *hi) *hi = b;
    *flt = ok ? *flt : fa;
    ok = 1;
  }
  return ok;
}


/* A control value (kind, val) of a triangular loop below the first level,
   at level d: its range (an invariant: lo = hi). */
static int ctlrange (Walk *w, int d, int line, int kind, int val, int which,
                     i128 *lo, i128 *hi, int *flt) {
  i128 coef;
  if (kind == SK_INV) {
    if (!trictrl(w, line, kind, val, 0, lo, &coef, flt)) return 0;
    *hi = *lo;
    return 1;
  }
  if (!formrange(w, d, val, which, lo, hi, flt) ||
      (*flt && (*lo <= -(i128)TRI_FLT_MAX || *hi >= (i128)TRI_FLT_MAX)))
    return stop(w, line, "an inner loop's control value depends on a value "
                         "the loops carry, not only on their counters");
  return 1;
}


/* coef[e] += a times the coefficient of level e's loop variable (level
   0: the outer counter) in form f of level d, through the values the
   levels only read; 0 when a coefficient passes PROD_CTRL_MAX. */
static int ctrcoefs (Walk *w, int d, int f, i128 a, i128 *coef) {
  Level *lv = &w->lv[d];
  int c;
  for (c = 1; c <= lv->k; c++) {
    i128 x = (i128)(int64_t)FU(w, f)[c] * a;
    if (x == 0) continue;
    if (x > PROD_CTRL_MAX || x < -PROD_CTRL_MAX) return 0;
    if (lv->stslot[c - 1] < 0) coef[d] += x;
    else if (d > 0 && !ctrcoefs(w, d - 1, lv->entry[c - 1], x, coef)) return 0;
  }
  return 1;
}


/*
** The count of a triangular loop below the first level (control values
** kv, vv at level d, which prodloop walks with its loop variable
** known): as tricount, floor((L - S)/s) + 1 when >= 0, else 0.  Its
** enclosing loop's product is a polynomial in that loop's iteration when
** the count is affine in it and never clamped: s divides the change of
** L - S per iteration, and the formula is >= 0 at the first and the last
** iteration (or <= 0 at both: never run).  A bounding walk counts the
** largest count over the ranges, which must be clamped nowhere.
*/
static int deepcount (Walk *w, int d, int line, const int *kv, const int *vv,
                      count_Loop *c) {
  int j, e, flt[3], isflt;
  Level *lv = &w->lv[d];
  i128 lo[3][3], hi[3][3], s, F[3], coef[IR_MAXDEPTH + 2];
  int ranging = lv->prod == PROD_RANGE, ne = ranging ? 1 : 3;
  if (kv[2] != SK_INV) return stopr(w, line, CPM_R_NEST_TRISTEP, "");
  for (e = 0; e < ne; e++)
    for (j = 0; j < 3; j++)
      if (!ctlrange(w, d, line, kv[j], vv[j], e == 0 ? FR_AT : e == 1 ? FR_FIRST
                    : FR_LAST, &lo[e][j], &hi[e][j], &flt[j]))
        return 0;
  s = lo[0][2];
  if (s == 0) return stop(w, line, "an inner loop's step is zero");
#if CPM_LUA54
  isflt = flt[0] || flt[2];  /* lvm.c, forprep */
#else
  isflt = 1;
#endif
  /* affine in the iteration of every enclosing loop whose variable it
     follows (each of them a prodloop, the outer loop a trinest) */
  memset(coef, 0, sizeof(coef));
  if ((kv[1] == SK_VAR && !ctrcoefs(w, d, vv[1], 1, coef)) ||
      (kv[0] == SK_VAR && !ctrcoefs(w, d, vv[0], -1, coef)))
    return stop(w, line, "loop control values it cannot count exactly");
  for (e = 0; e <= d; e++)
    if ((coef[e] * (i128)(e == 0 ? w->tristep : w->lv[e].cstep)) % s != 0)
      return stop(w, line, "an inner loop's count is not an affine function "
                           "of the enclosing loop's counter (its step does "
                           "not divide the change of its range)");
  if (ranging) {  /* the largest and the smallest count */
    i128 dmax = hi[0][1] - lo[0][0], dmin = lo[0][1] - hi[0][0];
    int fd = newform(w);
    if (fd >= 0) {  /* L - S as one form: what they share cancels */
      int f0 = kv[0] == SK_VAR ? vv[0] : -1, f1 = kv[1] == SK_VAR ? vv[1] : -1;
      i128 a, b;
      int fl;
      for (j = 0; j < w->W; j++)
        FU(w, fd)[j] = (f1 >= 0 ? FU(w, f1)[j] : 0) - (f0 >= 0 ? FU(w, f0)[j] : 0);
      FU(w, fd)[0] += (uint64_t)(int64_t)(f1 >= 0 ? 0 : lo[0][1]) -
                      (uint64_t)(int64_t)(f0 >= 0 ? 0 : lo[0][0]);
      if (w->ftm) w->ftm[fd] = 0;
      if (formrange(w, d, fd, FR_AT, &a, &b, &fl)) {
        if (b < dmax) dmax = b;
        if (a > dmin) dmin = a;
      }
    }
    F[1] = floordiv(s > 0 ? dmax : dmin, s) + 1;
    F[2] = floordiv(s > 0 ? dmin : dmax, s) + 1;
  }
  else
    for (e = 0; e < 3; e++) F[e] = floordiv(lo[e][1] - lo[e][0], s) + 1;
  if (ranging ? (F[2] < 0 && F[1] > 0) : ((F[1] < 0 && F[2] > 0) ||
                                          (F[1] > 0 && F[2] < 0))) {
    return stop(w, line, "an inner loop runs in some outer iterations "
                         "and not in others");
  }
  F[0] = ranging ? F[1] : F[0];
  if (F[0] < 0) F[0] = 0;
  c->itype = isflt ? VT_FLT : VT_INT;
  c->istep = (lua_Integer)s;
  c->fstep = (double)s;
  c->n = (uint64_t)F[0];
  c->n64 = 0;
  return 1;
}

/* }====================================================== */


static int prodloop (Walk *w, int i, Level *in, Level *out,
                     const count_Loop *c, mpz_srcptr m, const int *kv,
                     const int *vv, int *res);


/* The update forms of an inner loop's states after its body's walk at
   level 'in': upd[j], state j's value at the end of an iteration. */
static int updforms (Walk *w, Level *in, const count_Loop *c, int line,
                     int *upd) {
  int j;
  for (j = 0; j < in->k; j++) {
    int sl = in->stslot[j];
    if (sl < 0) {  /* the counter: + step */
      lua_State *L = w->L;
      int f;
      if (c->itype == VT_INT) lua_pushinteger(L, c->istep);
      else lua_pushnumber(L, (lua_Number)c->fstep);
      if ((f = constform(w, lua_gettop(L), 1)) < 0) return 0;
      FU(w, f)[1 + j] = 1;
      FL(w, f)[1 + j] = 0;
      upd[j] = f;
    }
    else if (in->kind[sl] == SK_VAR) upd[j] = in->val[sl];
    else if (in->kind[sl] == SK_INV) {
      if ((upd[j] = constform(w, in->val[sl], 0)) < 0) return 0;
    }
    else return stopr(w, line, CPM_R_IR_MALFORMED, "");
  }
  return 1;
}

/* An inner loop: the LOOP op at 'i', at level w->depth. */
static int doloop (Walk *w, int i) {
  const plan_Nest *n = w->n;
  const ir_Op *op = &n->ops[i];
  int ln = n->loopno[i], ns = n->ir.nslots, s, d = w->depth, kv[3], vv[3], j;
  Level *out = &w->lv[d], *in = &w->lv[d + 1];
  const unsigned char *keep = &n->keep[(size_t)ln * ns];
  const unsigned char *wrote = &n->wrote[(size_t)ln * ns];
  const unsigned char *reads = &n->reads[(size_t)ln * ns];
  const unsigned char *need = &n->need[(size_t)ln * ns];
  count_Loop c;
  mp_limb_t limbs[4];
  mpz_t tmp;
  mpz_srcptr m = NULL;
  int *upd = NULL, *res = NULL, idxcol = 0, ok, tri, q;
  for (j = 0; j < 3; j++)
    if (!readarg(w, out, argof(op, j + 1), &kv[j], &vv[j], op->line)) return 0;
  tri = kv[0] != SK_INV || kv[1] != SK_INV || kv[2] != SK_INV;
  q = d > 0 && (argdeg(out, op->b) || argdeg(out, op->c) || argdeg(out, op->d));
  if (tri && (kv[2] != SK_INV || (d > 0 && (q || w->ctrinv)))) {
    /* a step that changes; below the first level, a count that follows
       the outer counter read as an invariant (ctrinv) */
    if (d == 0) w->innerline = op->line;
    w->depth++;
    ok = stopr(w, op->line, kv[2] != SK_INV ? CPM_R_NEST_TRISTEP
                                             : CPM_R_NEST_BOUNDS, "");
    w->depth--;
    return ok;
  }
  if (q) tri = 1;
  if (tri && !w->eval) {
    w->trifound = 1;
    /* its enclosing loops: prodloop (their matrices change with their
       iteration, and with an enclosing loop's) */
    for (j = 1; j <= d; j++) w->prodp[w->lv[j].ln] = 1;
  }
  for (s = 0; s < ns; s++)  /* resolve what the inner loop reads or keeps */
    if (need[s] && out->kind[s] == SK_UNSET) {
      int k2, v2;
      if (!readarg(w, out, s, &k2, &v2, op->line)) return 0;
    }
  if (d == 0) w->innerline = op->line;
  for (s = 0; s < ns && d > 0; s++)
    if (need[s] && out->deg[s]) {
      w->depth++;
      ok = stopr(w, op->line, CPM_R_NEST_CTRDEEP, "");
      w->depth--;
      return ok;
    }
  if (w->eval) {
    lua_State *L = w->L;
    memset(&c, 0, sizeof(c));
    if (tri) {
      w->depth++;
      if (!(d > 0 ? deepcount(w, d, op->line, kv, vv, &c)
                  : tricount(w, op->line, kv, vv, &c)))
        return 0;
      if (d > 0 && d == w->prodlevel) {
        w->ndeep++;
        if (w->skipdeep) c.n = 0;
      }
      w->depth--;
      if (!c.n64 && c.n == 0) return 1;  /* the VM skips the loop */
      m = count_mpz(&c, limbs, tmp);
      goto counted;
    }
    for (j = 0; j < 3; j++) lua_pushvalue(L, vv[j]);
    ok = count_fornum(L, lua_gettop(L) - 2, &c) == COUNT_OK && !c.nbig;
    lua_pop(L, 3);
    w->depth++;
    if (!ok) return stop(w, op->line, "loop control values it cannot count exactly");
    if (!(c.itype == VT_INT ||
          (c.itype == VT_FLT && !(c.fstart == 0 && signbit(c.fstart)))))
      return stop(w, op->line, "a value of the nested loop is not a number it can follow");
    w->depth--;
    if (!c.n64 && c.n == 0) return 1;  /* the VM skips the loop */
    m = count_mpz(&c, limbs, tmp);
  }
counted:
  /* the inner level */
  memcpy(in->kind, out->kind, (size_t)ns);
  memcpy(in->val, out->val, sizeof(int) * (size_t)ns);
  memcpy(in->deg, out->deg, (size_t)ns);
  in->k = 0; in->nbrow = 0;
  in->ln = ln; in->prod = PROD_NONE;
  if (w->eval) {
    uint64_t u;
    double lg;
    int f;
    lua_State *L = w->L;
    if (tri) f = asform(w, kv[0], vv[0], 1);  /* its start, as it stands */
    else {
      if (c.itype == VT_INT) lua_pushinteger(L, c.istart);
      else lua_pushnumber(L, (lua_Number)c.fstart);
      f = constform(w, lua_gettop(L), 1);
    }
    if (f < 0) return 0;
    idxcol = newstate(in, -1, f);
    /* the counter's type counts where the loop variable is read */
    in->ctrslot = op->a;
    in->ctrseen = c.itype == VT_INT ? SEEN_INT : SEEN_FLT;
    (void)u; (void)lg;
  }
  for (s = 0; s < ns; s++) {
    int carried = keep[s] || (reads[s] && !wrote[s] && out->kind[s] == SK_VAR);
    if (s == op->a) continue;
    if (d == 0 && w->ctrinv && s == n->ir.index) {  /* ctrinv: its value */
      if (wrote[s]) return stopr(w, op->line, CPM_R_IR_MALFORMED, "");
      in->kind[s] = SK_INV;
      in->deg[s] = DEG_COUNTER;
      in->val[s] = w->ctridx;
      continue;
    }
    if (carried) {
      in->kind[s] = SK_VAR;
      if (w->eval) {
        int fe = asform(w, out->kind[s], out->val[s], 0), col;
        if (fe < 0) return 0;
        col = newstate(in, s, fe);
        if ((in->val[s] = unitform(w, col)) < 0) return 0;
      }
    }
    else if (wrote[s]) in->kind[s] = SK_DEAD;
  }
  in->kind[op->a] = SK_VAR;
  if (w->eval && (in->val[op->a] = ctrform(w, idxcol, c.itype)) < 0) return 0;
  if (w->eval && n->prod[ln]) {  /* its body's matrix changes */
    res = (int *)cpm_newbuffer(w->L, sizeof(int) * ((size_t)in->k + 1));
    if (!prodloop(w, i, in, out, &c, m, kv, vv, res)) return 0;
    lua_pushnil(w->L);  /* (popped below, where upd is) */
    goto closed;
  }
  w->depth++;
  ok = walkblock(w, i + 1, i + 1 + op->n1);
  w->depth--;
  if (!ok) return 0;
  q = 0;  /* the degree of its matrix's entries in the outer counter */
  for (s = 0; s < ns; s++)
    if (s != op->a && keep[s] && in->kind[s] == SK_VAR && degof(in->deg[s]) > q)
      q = degof(in->deg[s]);
  if (!w->eval && d == 0 && q > w->qdeg[ln]) w->qdeg[ln] = (unsigned char)q;
  if (w->eval) {
    int K = in->k;
    upd = (int *)cpm_newbuffer(w->L, sizeof(int) * 2 * ((size_t)K + 1));
    res = upd + K + 1;
    if (!updforms(w, in, &c, op->line, upd)) return 0;
    w->depth++;
    ok = closeloop(w, in, out, upd, m, res, tri, ln, d == 0 ? n->qdeg[ln] : 0);
    w->depth--;
    if (!ok) return w->fail == w->failbuf ? 0 : stop(w, op->line, w->fail);
  }
closed:
  /* the enclosing level after the loop */
  for (s = 0; s < ns; s++) {
    if (s == op->a) { out->kind[s] = SK_DEAD; continue; }
    if (!wrote[s]) continue;
    if (!keep[s]) { out->kind[s] = SK_DEAD; continue; }
    if (in->kind[s] == SK_INV && (w->eval || out->kind[s] == SK_INV)) {
      out->kind[s] = SK_INV;  /* m >= 1: the invariant the body leaves */
      out->val[s] = in->val[s];
      out->deg[s] = in->deg[s];
      if (d == 0 && in->deg[s]) return stopr(w, op->line, CPM_R_NEST_CTRDEEP, "");
    }
    else {
      out->kind[s] = SK_VAR;
      out->deg[s] = d == 0 ? 0 : in->deg[s];
      if (w->eval) {
        int st;
        for (st = 0; st < in->k && in->stslot[st] != s; st++) ;
        out->val[s] = res[st];
      }
    }
  }
  if (w->eval) lua_pop(w->L, 1);  /* upd */
  return 1;
}


static int walkblock (Walk *w, int first, int end) {
  const plan_Nest *n = w->n;
  Level *lv = &w->lv[w->depth];
  int i;
  for (i = first; i < end; i++) {
    const ir_Op *op = &n->ops[i];
    int ok, kind, val;
    if (w->eval && !lua_checkstack(w->L, 16))
      return stop(w, op->line, "too many loop invariants");
    switch (op->code) {
      case IR_MOVE:
        ok = readarg(w, lv, op->b, &kind, &val, op->line);
        if (ok) {
          lv->kind[op->a] = (unsigned char)kind;
          lv->val[op->a] = val;
          lv->deg[op->a] = (unsigned char)argdeg(lv, op->b);
        }
        break;
      case IR_ARITH: case IR_INDEX: case IR_UNARY:
        ok = step_op(w, lv, op);
        break;
      case IR_LOOP:
        ok = doloop(w, i);
        i += op->n1;
        break;
      default:
        ok = stopr(w, op->line, CPM_R_IR_UNKNOWN, "");
        break;
    }
    if (!ok) return 0;
  }
  return 1;
}

/* }====================================================== */


/* {======================================================
** Plan time
** ======================================================= */

static int refuse (plan_Refusal *why, int line, const char *msg) {
  why->line = line;
  snprintf(why->msg, sizeof(why->msg), "%s", msg);
  return 0;
}


static int badarg (const ir_Loop *ir, ir_Arg x) {
  return ir_isconst(x) ? ir_constidx(x) >= ir->nk : x >= ir->nslots;
}


/* Checks the ops and the nesting; numbers the loops. */
static int checkops (const ir_Loop *ir, plan_Nest *n, plan_Refusal *why) {
  int ends[IR_MAXDEPTH + 1], depth = 0, i, j;
  char msg[160];
  if (ir->nslots < 0 || ir->nslots > IR_MAXSLOTS || ir->nops < 0 ||
      ir->nops > IR_MAXOPS || ir->nk < 0 || ir->index >= ir->nslots ||
      ir->index < -1)
    return refuse(why, ir->line, cpm_reason(CPM_R_TOO_LARGE));
  if (ir->kind != IR_FORNUM)
    return refuse(why, ir->line, cpm_reason(CPM_R_NESTED));
  ends[0] = ir->nops;
  n->nloops = 0;
  for (i = 0; i < ir->nops; i++) {
    const ir_Op *op = &ir->ops[i];
    while (depth > 0 && i >= ends[depth]) depth--;
    n->loopno[i] = -1;
    switch (op->code) {
      case IR_IF:  /* (plan_make hands a body with IFs to plan_branch.c,
                      which plans each path of it, straight-line, here) */
        return refuse(why, op->line, cpm_reason(CPM_R_BRANCH));
      case IR_LOOP:
        if (op->a < 0 || op->a >= ir->nslots || badarg(ir, op->b) ||
            badarg(ir, op->c) || badarg(ir, op->d) || op->n1 < 0 ||
            op->n1 > ends[depth] - i - 1)
          return refuse(why, op->line, cpm_reason(CPM_R_IR_MALFORMED));
        if (depth + 1 > IR_MAXDEPTH) {
          snprintf(msg, sizeof(msg), cpm_reason(CPM_R_NEST_DEPTH), IR_MAXDEPTH + 1);
          return refuse(why, op->line, msg);
        }
        if (n->nloops >= IR_MAXLOOPS) {
          snprintf(msg, sizeof(msg), cpm_reason(CPM_R_NEST_LOOPS), IR_MAXLOOPS);
          return refuse(why, op->line, msg);
        }
        n->loopno[i] = n->nloops++;
        ends[++depth] = i + 1 + op->n1;
        if (depth > n->maxdepth) n->maxdepth = depth;
        break;
      case IR_MOVE: case IR_ARITH: case IR_INDEX: case IR_UNARY:
        if (op->a < 0 || op->a >= ir->nslots || badarg(ir, op->b) ||
            ((op->code == IR_ARITH || op->code == IR_INDEX) && badarg(ir, op->c)) ||
            ((op->code == IR_ARITH || op->code == IR_UNARY) &&
             (op->aop < 0 || op->aop >= IR_NAOP ||
              (op->code == IR_UNARY) != (op->aop == IR_UNM || op->aop == IR_BNOT))))
          return refuse(why, op->line, cpm_reason(CPM_R_IR_MALFORMED));
        break;
      default:
        return refuse(why, op->line, cpm_reason(CPM_R_IR_UNKNOWN));
    }
  }
  (void)j;
  return 1;
}


/* Fills written, wrote, reads of every loop, and counts the slots used. */
static void slotsets (plan_Nest *n) {
  const ir_Loop *ir = &n->ir;
  int ns = ir->nslots, i, l, j;
  unsigned char *used = (unsigned char *)calloc((size_t)ns + 1, 1);
  int open[IR_MAXDEPTH + 1], ends[IR_MAXDEPTH + 1], depth = 0;
  for (i = 0; i < ir->nops; i++) {
    const ir_Op *op = &ir->ops[i];
    while (depth > 0 && i >= ends[depth]) depth--;
    if (op->code != IR_LOOP) n->written[op->a] = 1;
    if (used) used[op->a] = 1;
    for (l = 1; l <= depth; l++) {
      unsigned char *wr = &n->wrote[(size_t)open[l] * ns];
      unsigned char *rd = &n->reads[(size_t)open[l] * ns];
      if (op->code != IR_LOOP) wr[op->a] = 1;
      for (j = 1; j <= 3; j++)
        if (hasarg(op, j) && !ir_isconst(argof(op, j))) rd[argof(op, j)] = 1;
    }
    for (j = 1; j <= 3; j++)
      if (hasarg(op, j) && !ir_isconst(argof(op, j)) && used)
        used[argof(op, j)] = 1;
    if (op->code == IR_LOOP) {
      open[++depth] = n->loopno[i];
      ends[depth] = i + 1 + op->n1;
    }
  }
  n->nused = 0;
  for (i = 0; i < ns; i++) n->nused += used ? used[i] : 1;
  free(used);
}


/*
** Backward liveness over the block [first, end) with 'live' the slots
** live after it (updated in place to those live before it).  Sets keep
** and need of every loop inside.  Returns 0 when memory is short.
*/
static int liveblock (plan_Nest *n, int first, int end, unsigned char *live,
                      unsigned char *tmp) {
  const ir_Loop *ir = &n->ir;
  int ns = ir->nslots, *starts, nst = 0, i, s, j;
  starts = (int *)malloc(sizeof(int) * ((size_t)(end - first) + 1));
  if (starts == NULL) return 0;
  for (i = first; i < end; i++) {
    starts[nst++] = i;
    if (ir->ops[i].code == IR_LOOP) i += ir->ops[i].n1;
  }
  while (nst-- > 0) {
    const ir_Op *op = &ir->ops[starts[nst]];
    if (op->code == IR_LOOP) {
      int ln = n->loopno[starts[nst]], changed;
      unsigned char *after = tmp, *bin = tmp + ns, *bout = tmp + 2 * ns;
      unsigned char *keep = &n->keep[(size_t)ln * ns];
      unsigned char *need = &n->need[(size_t)ln * ns];
      const unsigned char *wrote = &n->wrote[(size_t)ln * ns];
      memcpy(after, live, (size_t)ns);
      memcpy(bout, after, (size_t)ns);
      do {
        memcpy(bin, bout, (size_t)ns);
        if (!liveblock(n, starts[nst] + 1, starts[nst] + 1 + op->n1, bin,
                       tmp + 3 * ns)) {
          free(starts);
          return 0;
        }
        changed = 0;
        for (s = 0; s < ns; s++)
          if (bin[s] && s != op->a && !bout[s]) bout[s] = changed = 1;
      } while (changed);
      for (s = 0; s < ns; s++) {
        keep[s] = wrote[s] && (bin[s] || after[s]) && s != op->a;
        need[s] = keep[s] || (bin[s] && s != op->a);
        live[s] = after[s] || (bin[s] && s != op->a);
      }
    }
    else
      live[op->a] = 0;
    for (j = 1; j <= 3; j++)
      if (hasarg(op, j) && !ir_isconst(argof(op, j))) live[argof(op, j)] = 1;
  }
  free(starts);
  return 1;
}


static void copyloop (lua_State *L, plan_Nest *n, const ir_Loop *ir) {
  size_t ns = (size_t)ir->nslots + 1, nl;
  n->ir = *ir;
  n->ir.nk = 0;
  n->ir.escapes = NULL;
  n->ir.names = NULL;  /* the front end's, freed after planning */
  n->ops = (ir_Op *)xalloc(L, (size_t)ir->nops + 1, sizeof(ir_Op));
  memcpy(n->ops, ir->ops, (size_t)ir->nops * sizeof(ir_Op));
  n->ir.ops = n->ops;
  n->liveout = (unsigned char *)xalloc(L, ns, 1);
  if (ir->liveout) memcpy(n->liveout, ir->liveout, (size_t)ir->nslots);
  n->ir.liveout = n->liveout;
  plan_copyconsts(L, ir, &n->k, &n->ir.nk);
  n->ir.k = n->k;
  n->written = (unsigned char *)xalloc(L, ns, 1);
  n->loopno = (int *)xalloc(L, (size_t)ir->nops + 1, sizeof(int));
  nl = (size_t)(ir->nops < IR_MAXLOOPS ? ir->nops : IR_MAXLOOPS) + 1;
  n->keep = (unsigned char *)xalloc(L, nl * ns, 1);
  n->wrote = (unsigned char *)xalloc(L, nl * ns, 1);
  n->reads = (unsigned char *)xalloc(L, nl * ns, 1);
  n->need = (unsigned char *)xalloc(L, nl * ns, 1);
  n->qdeg = (unsigned char *)xalloc(L, nl, 1);
  n->prod = (unsigned char *)xalloc(L, nl, 1);
}


/* Bytes of the levels of a walk (kinds and values of every slot at each
   depth, states, bounds rows). */
#define KINDBYTES(ns)	(((size_t)(ns) + 7) & ~(size_t)7)	/* keeps ints aligned */

static size_t levelbytes (const plan_Nest *n, int ns, int maxk) {
  size_t per = (size_t)ns * sizeof(int) + 2 * KINDBYTES(ns) +
               2 * sizeof(int) * ((size_t)maxk + 1) +
               sizeof(int) * ((size_t)n->ir.nops * 2 + 8);
  return (sizeof(Level) + per) * ((size_t)n->maxdepth + 1) + 16;
}


/* Lays the levels of 'w' out in block 'b' (levelbytes long). */
static void carvelevels (Walk *w, char *b, int ns, int maxk) {
  int d, depth = w->n->maxdepth;
  w->lv = (Level *)b;
  memset(b, 0, sizeof(Level) * ((size_t)depth + 1));
  b += sizeof(Level) * ((size_t)depth + 1);
  for (d = 0; d <= depth; d++) {
    Level *lv = &w->lv[d];
    lv->val = (int *)b; b += sizeof(int) * (size_t)ns;
    lv->stslot = (int *)b; b += sizeof(int) * ((size_t)maxk + 1);
    lv->entry = (int *)b; b += sizeof(int) * ((size_t)maxk + 1);
    lv->brow = (int *)b; b += sizeof(int) * ((size_t)w->n->ir.nops * 2 + 8);
    lv->kind = (unsigned char *)b; b += KINDBYTES(ns);
    lv->deg = (unsigned char *)b; b += KINDBYTES(ns);
  }
}


plan_Plan *plan_nest_make (lua_State *L, const ir_Loop *ir,
                           plan_Refusal *why) {
  plan_Plan *p;
  plan_Nest *n;
  Walk w;
  int s, box, ns;
  unsigned char *live;
  why->line = ir->line; why->msg[0] = '\0';
  p = plan_newbox(L);
  box = lua_gettop(L);
  p->kind = ir->kind; p->line = ir->line;
  p->nslots = ir->nslots; p->index = ir->index;
  p->modatom = -1;
  p->nest = n = (plan_Nest *)xalloc(L, 1, sizeof(plan_Nest));
  copyloop(L, n, ir);
  if (!checkops(&n->ir, n, why)) goto refused;
  ns = ir->nslots > 0 ? ir->nslots : 1;
  slotsets(n);
  if (n->nused + 1 > MAT_KMAX) {
    char msg[160];
    snprintf(msg, sizeof(msg), cpm_reason(CPM_R_TOO_MANY_VALUES), MAT_KMAX - 1);
    refuse(why, ir->line, msg);
    goto refused;
  }
  live = (unsigned char *)cpm_newbuffer(L, (size_t)(ns + 1) * (5 + 3 * (size_t)(n->maxdepth + 1)));
  memset(live, 0, (size_t)(ns + 1) * (5 + 3 * (size_t)(n->maxdepth + 1)));
  {  /* the outer body: live at its end = liveout and its carried slots */
    unsigned char *bout = live + ns, *bin = live + 2 * ns, *tmp = live + 3 * ns;
    int changed;
    memcpy(bout, n->liveout, (size_t)ns);
    do {
      memcpy(bin, bout, (size_t)ns);
      if (!liveblock(n, 0, ir->nops, bin, tmp))
        luaL_error(L, "cpm: not enough memory to plan the loop");
      changed = 0;
      for (s = 0; s < ns; s++)
        if (bin[s] && s != ir->index && !bout[s]) bout[s] = changed = 1;
    } while (changed);
  }
  /* the walk, kinds only; when it fails and an inner loop reads the
     outer counter, again with the counter an invariant there (ctrinv:
     products such as i * j, computed by trinest) */
  {
    char *lb = (char *)cpm_newbuffer(L, levelbytes(n, ns, n->nused + 2));
    plan_Refusal first;
    int attempt, readsctr = 0;
    for (s = 0; ir->index >= 0 && s < n->nloops; s++)
      if (n->reads[(size_t)s * ns + ir->index]) readsctr = 1;
    for (attempt = 0; attempt < 2; attempt++) {
      memset(&w, 0, sizeof(w));
      w.L = L; w.n = n; w.p = p; w.why = why; w.topline = ir->line;
      w.input = live;
      w.ctrinv = attempt;
      w.qdeg = n->qdeg;
      w.prodp = n->prod;
      memset(n->qdeg, 0, (size_t)n->nloops + 1);
      memset(n->prod, 0, (size_t)n->nloops + 1);
      memset(live, 0, (size_t)ns);
      carvelevels(&w, lb, ns, n->nused + 2);
      for (s = 0; s < ns; s++) { w.lv[0].kind[s] = SK_UNSET; w.lv[0].deg[s] = 0; }
      if (walkblock(&w, 0, ir->nops)) break;
      if (attempt == 0) {
        first = *why;
        if (!readsctr) goto refused;
      }
      else {  /* the reason without ctrinv, unless ctrinv was what
                 stopped at the counter's use */
        if (!w.ctrfail) *why = first;
        goto refused;
      }
    }
  }
  n->ctrinv = w.ctrinv;
  n->tri = w.trifound || w.ctrinv;
  /* inputs: what the walk read at entry; outputs: live slots written */
  p->in = (int *)xalloc(L, (size_t)ns + 1, sizeof(int));
  p->slot_in = (int *)xalloc(L, (size_t)ns + 1, sizeof(int));
  p->out = (plan_Out *)xalloc(L, (size_t)ns + 1, sizeof(plan_Out));
  for (s = 0; s < ns; s++) {
    p->slot_in[s] = -1;
    if (w.input[s] && s != ir->index) {
      p->slot_in[s] = p->nin;
      p->in[p->nin++] = s;
    }
    if (n->written[s] && n->liveout[s] && s != ir->index) {
      p->out[p->nout].slot = s;
      p->out[p->nout].state = -1;
      p->out[p->nout].atom = -1;
      p->nout++;
      if (ir->escapes == NULL || ir->escapes[s]) p->effects = 1;
    }
  }
  lua_settop(L, box);
  return p;
refused:
  lua_settop(L, box - 1);
  return NULL;
}

/* }====================================================== */


/* {======================================================
** The guard of a nest plan
** ======================================================= */

enum { UP_CFG = 1, UP_PLAN, UP_LIMIT, UP_STRICT, UP_WHERE, UP_PREPARED,
       UP_RECORD, UP_ONFALLBACK, UP_SCRATCH, UP_N = UP_SCRATCH };


/* Runs as written: false and the reason, or raises it under strict. */
static int runaswritten (lua_State *L, const count_Loop *c, int counted,
                         const char *why) {
  lua_Integer limit = lua_tointeger(L, lua_upvalueindex(UP_LIMIT));
  if (counted && count_below(c, limit < 1 ? 1 : (uint64_t)limit)) {
    guard_count(L, lua_upvalueindex(UP_RECORD), GUARD_BELOW_LIMIT, NULL);
    lua_pushboolean(L, 0);
    return 1;
  }
  guard_count(L, lua_upvalueindex(UP_RECORD), GUARD_FELL_BACK, why);
  if (lua_toboolean(L, lua_upvalueindex(UP_STRICT))) {
    lua_pushfstring(L, "cpm: %s: %s",
                    lua_tostring(L, lua_upvalueindex(UP_WHERE)), why);
    return lua_error(L);
  }
  guard_onfallback(L, lua_upvalueindex(UP_ONFALLBACK),
                   lua_tostring(L, lua_upvalueindex(UP_WHERE)), why,
                   counted ? c : NULL);
  lua_pushboolean(L, 0);
  lua_pushstring(L, why);
  return 2;
}


/* The outer loop's map: x_(r+1) = B x_r over (1, states), at entry v. */
typedef struct Map {
  int K;		/* 1 + the states */
  int *sink;		/* output -> its state, or -1 (an invariant) */
  uint64_t *B, *v;	/* K x K, K */
  double *LB, *lv;	/* their log2 magnitudes */
  uint64_t *tm;		/* K: the rows' type masks (Walk.ftm), row 0 unused */
  uint64_t *te;		/* K: the entry values' types (1: a float) */
} Map;


/* The outputs the walk computes: all but a while loop's final counter,
   which nest_call pushes after them (plan_While.endlast). */
static int walkouts (const plan_Plan *p) {
  return p->nout - (p->w.active && p->w.endlast && p->nout > 0);
}


/*
** Builds the map of the walk just made (its userdata stay on the stack).
** Outputs not carried become states ('sinks', entry 0: the value the last
** iteration gives them); with 'allstates', the invariant ones too.
*/
static int buildmap (Walk *w, Map *mp, int allstates) {
  lua_State *L = w->L;
  const plan_Plan *p = w->p;
  Level *lv = &w->lv[0];
  int *upd, K, i, j, nout = walkouts(p);
  mp->sink = (int *)cpm_newbuffer(L, sizeof(int) * ((size_t)nout + 1));
  for (i = 0; i < nout; i++) {
    int s = p->out[i].slot, st;
    mp->sink[i] = -1;
    if (lv->kind[s] == SK_INV && !allstates) continue;
    if (lv->kind[s] != SK_VAR && lv->kind[s] != SK_INV)
      return stopr(w, p->line, CPM_R_IR_MALFORMED, "");
    for (st = 0; st < lv->k && lv->stslot[st] != s; st++) ;
    if (st == lv->k) {
      if (lv->k + 1 >= MAT_KMAX) return stop(w, 0, "too many values");
      st = newstate(lv, s, -2) - 1;
    }
    mp->sink[i] = st;
  }
  mp->K = K = lv->k + 1;
  upd = (int *)cpm_newbuffer(L, sizeof(int) * (size_t)K);
  mp->B = (uint64_t *)cpm_newbuffer(L, sizeof(uint64_t) * ((size_t)K * K + (size_t)K));
  mp->v = mp->B + (size_t)K * K;
  mp->LB = (double *)cpm_newbuffer(L, sizeof(double) * ((size_t)K * K + (size_t)K));
  mp->lv = mp->LB + (size_t)K * K;
  mp->tm = (uint64_t *)cpm_newbuffer(L, sizeof(uint64_t) * 2 * (size_t)K);
  mp->te = mp->tm + K;
  memset(mp->tm, 0, sizeof(uint64_t) * 2 * (size_t)K);
  for (i = 0; i < K * K; i++) { mp->B[i] = 0; mp->LB[i] = -HUGE_VAL; }
  mp->B[0] = 1; mp->LB[0] = 0;
  mp->v[0] = 1; mp->lv[0] = 0;
  for (i = 1; i < K; i++) {
    int s = lv->stslot[i - 1], f;
    if (s < 0) {  /* the counter */
      if (w->c.itype == VT_INT) lua_pushinteger(L, w->c.istep);
      else lua_pushnumber(L, (lua_Number)w->c.fstep);
      if ((f = constform(w, lua_gettop(L), 1)) < 0) return 0;
      FU(w, f)[i] += 1;
      FL(w, f)[i] = 0;
      if (w->c.itype == VT_INT) lua_pushinteger(L, w->c.istart);
      else lua_pushnumber(L, (lua_Number)w->c.fstart);
      if (!toring(w, lua_gettop(L), &mp->v[i], &mp->lv[i], 1)) return 0;
      mp->te[i] = w->c.itype != VT_INT;
    }
    else {
      if (lv->kind[s] == SK_VAR) f = lv->val[s];
      else if (lv->kind[s] == SK_INV) {
        if ((f = constform(w, lv->val[s], 0)) < 0) return 0;
      }
      else return stopr(w, p->line, CPM_R_IR_MALFORMED, "");
      if (lv->entry[i - 1] == -2) { mp->v[i] = 0; mp->lv[i] = -HUGE_VAL; }  /* a sink */
      else if (!toring(w, w->ibase + p->slot_in[s], &mp->v[i], &mp->lv[i], 0))
        return 0;
      else mp->te[i] = isfloat(L, w->ibase + p->slot_in[s]);
    }
    upd[i] = f;
    if (w->ftm) mp->tm[i] = w->ftm[f];
    for (j = 0; j < K && j < w->W; j++) {
      mp->B[i * K + j] = FU(w, f)[j];
      mp->LB[i * K + j] = FL(w, f)[j];
    }
  }
  return 1;
}


/*
** The ring holds the loop's values for n iterations: no mix of integers
** and floats, and with floats every value of every iteration an integer
** below 2^53 (the bounds of the walk just made majorize every iteration's).
*/
/*
** Do the values of n iterations of the map just walked, from states
** bounded by 2^lstart (log2, K), stay integers below 2^53?  maj (K) gets
** the bound of the states over those iterations.
*/
static int exactfor (Walk *w, const Map *mp, const double *lstart,
                     mpz_srcptr n, double *maj) {
  Level *lv = &w->lv[0];
  int K = mp->K, i;
  if (bound_log2_majorant(K, mp->LB, lstart, n, 1, maj) != 0) return 0;
  for (i = 0; i < K; i++)
    if (!(maj[i] < NEST_LOG2_EXACT)) return 0;
  for (i = 0; i < lv->nbrow; i++)
    if (!(logdot(K, FL(w, lv->brow[i]), 1, maj, 1) < NEST_LOG2_EXACT))
      return 0;
  return 1;
}

#define WHY_INEXACT	"values may overflow or lose precision"


/*
** The ring holds the loop's values for n iterations: no mix of integers
** and floats it cannot type, and with floats every value of every
** iteration an integer below 2^53 (the bounds of the walk just made
** majorize every iteration's).  *inexact: that last test alone failed.
*/
static int ringcheck (Walk *w, const Map *mp, mpz_srcptr n, int *inexact) {
  *inexact = 0;
  if ((w->seen & SEEN_INT) && (w->seen & SEEN_FLT) &&
      (w->ftm == NULL || w->tmfail))
    return stop(w, 0, "the nested loop mixes integer and float values");
#if CPM_LUA54
  if (w->seen & SEEN_FLT)
#endif
  {
    double *maj = (double *)cpm_newbuffer(w->L, sizeof(double) * (size_t)mp->K);
    if (!w->bounds) return stop(w, 0, WHY_INEXACT);
    if (w->seen & SEEN_NEG0RISK)
      return stop(w, 0, "a float -0.0 could appear in the nested loop");
    if (!exactfor(w, mp, mp->lv, n, maj)) {
      *inexact = 1;
      return stop(w, 0, WHY_INEXACT);
    }
    lua_pop(w->L, 1);
  }
  return 1;
}


/* Pushes true and the outputs, from the states' final values r and, when
   'types' is not NULL, their types (1: a float; else the ring's). */
static int pushresults (Walk *w, const Map *mp, const uint64_t *r,
                        const uint64_t *types) {
  lua_State *L = w->L;
  const plan_Plan *p = w->p;
  int i, nout = walkouts(p);
  luaL_checkstack(L, nout + 4, "too many loop variables");
  lua_pushboolean(L, 1);
  for (i = 0; i < nout; i++) {
    int s = p->out[i].slot;
    if (mp->sink[i] < 0) { lua_pushvalue(L, w->lv[0].val[s]); continue; }
    if (types ? (types[mp->sink[i]] & 1) != 0 : (w->seen & SEEN_FLT) != 0)
      lua_pushnumber(L, (lua_Number)(int64_t)r[1 + mp->sink[i]]);
#if CPM_LUA54
    else lua_pushinteger(L, (lua_Integer)r[1 + mp->sink[i]]);
#else
    else lua_pushnumber(L, (lua_Number)(int64_t)r[1 + mp->sink[i]]);
#endif
  }
  return 1 + nout;
}


/* pushresults after n iterations: with a mix of integers and floats, each
   output of the type n iterations leave it (its states' type masks, in
   mp, the same at every iteration: closeloop, trinest). */
static int pushtyped (Walk *w, const Map *mp, const uint64_t *r,
                      mpz_srcptr n) {
  uint64_t *X, *T;
  if (w->ftm == NULL || !(w->seen & SEEN_INT) || !(w->seen & SEEN_FLT))
    return pushresults(w, mp, r, NULL);
  if (w->tmfail)  /* (set by a walk after ringcheck's) */
    return stop(w, 0, "the nested loop mixes integer and float values");
  X = (uint64_t *)cpm_newbuffer(w->L, sizeof(uint64_t) * 3 * (size_t)mp->K);
  T = X + mp->K;
  if (w->trizero) {  /* the first and last iterations' own masks (trinest) */
    int k = mp->K - 1;
    uint64_t *Y = T + mp->K;
    unsigned long mid = mpz_cmp_ui(n, 2) >= 0 ? 0 : 1;
    if (mpz_cmp_ui(n, 1) < 0) return stop(w, 0, "no iteration");
    typesteps_n(k, mp->te + 1, w->trifirst + 1, 1, Y, T);  /* T_1 */
    if (mid == 0) {
      mp_limb_t limbs[4];
      mpz_t tmp;
      count_Loop c2 = w->c;  /* n - 2 middle iterations */
      mpz_srcptr n2;
      if (c2.n < 2 && !c2.n64) return stop(w, 0, "no middle iteration");
      if (c2.n < 2) c2.n64 = 0;
      c2.n -= 2;
      n2 = count_mpz(&c2, limbs, tmp);
      if (!typesteps(k, Y, mp->tm + 1, n2, X, T))
        return stop(w, 0, "the nested loop's values change between integer "
                          "and float from one iteration to the next");
      typesteps_n(k, X, w->trilast + 1, 1, Y, T);  /* T_n */
    }
    return pushresults(w, mp, r, Y);
  }
  if (!typesteps(mp->K - 1, mp->te + 1, mp->tm + 1, n, X, T))
    return stop(w, 0, "the nested loop's values change between integer "
                      "and float from one iteration to the next");
  return pushresults(w, mp, r, X);
}


/* The outer level's map raised to the count; pushes the outputs.  Returns
   the number of results, or 0 (w->fail says why). */
static int finish (Walk *w) {
  Map mp;
  uint64_t *r;
  mp_limb_t limbs[4];
  mpz_t tmp;
  mpz_srcptr n = count_mpz(&w->c, limbs, tmp);
  int inexact;
  if (!buildmap(w, &mp, 0) || !ringcheck(w, &mp, n, &inexact)) return 0;
  r = (uint64_t *)cpm_newbuffer(w->L, sizeof(uint64_t) * (size_t)mp.K);
  if (mat_u64_powapply(mp.K, mp.B, r, mp.v, n) != MAT_OK)
    return stop(w, 0, "the nested loop's matrix cannot be computed");
  return pushtyped(w, &mp, r, n);
}


/* {======================================================
** Triangular nests
** ======================================================= */

/* Most walks of one guard call (the degree of the outputs in the outer
   iteration, plus two). */
#define TRI_MAXDEGREE	48


static uint64_t magnitude (int64_t x) {
  return x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
}


/* Readies the walk for another pass over the outer body (stack at 'top'). */
static void beginwalk (Walk *w, int top) {
  const plan_Nest *n = w->n;
  int s;
  lua_settop(w->L, top);
  w->nforms = 0;
  for (s = 0; s < n->ir.nslots; s++) {
    w->lv[0].kind[s] = SK_UNSET;
    w->lv[0].deg[s] = 0;
  }
  if (w->ctrinv) {  /* the counter's value at this walk's iteration (the
                       first walk: the larger in magnitude of its ends) */
    int64_t x = w->trix[0];
    if (w->tri == TRI_BOUNDS && w->c.itype != VT_INT) {
      /* a magnitude (see step_op; an integer counter needs none: a float
         beside it would be a mix, which runs as written) */
      x = magnitude(w->trix[1]) > magnitude(x) ? w->trix[1] : x;
      if (x < 0) x = -x;  /* |x| < 2^52: tribounds */
    }
    if (w->c.itype == VT_INT) lua_pushinteger(w->L, (lua_Integer)x);
    else lua_pushnumber(w->L, (lua_Number)x);
    w->ctridx = lua_gettop(w->L);
  }
  for (s = 0; s <= n->maxdepth; s++) {
    w->lv[s].ctrslot = -1;
    w->lv[s].k = 0;
    w->lv[s].nbrow = 0;
  }
  w->lv[0].ctrslot = n->ir.index;
  w->lv[0].ctrseen = w->c.itype == VT_INT ? SEEN_INT : SEEN_FLT;
  if (n->ir.index >= 0) {  /* the counter is the first state */
    int col = newstate(&w->lv[0], -1, -1);
    w->lv[0].kind[n->ir.index] = SK_VAR;
    w->lv[0].val[n->ir.index] = ctrform(w, col, w->c.itype);
  }
}


/* x := M x in Z/2^64 (K x K, K). */
static void applyu64 (int K, const uint64_t *M, uint64_t *x, uint64_t *t) {
  int i, j;
  for (i = 0; i < K; i++) {
    uint64_t a = 0;
    for (j = 0; j < K; j++) a += M[i * K + j] * x[j];
    t[i] = a;
  }
  memcpy(x, t, sizeof(uint64_t) * (size_t)K);
}


/* Forward differences in place: a[d] := Delta^d a[0] for rows of 'len'
   words, d = 0..cnt-1. */
static void differences (uint64_t *a, int cnt, size_t len) {
  int d, r;
  size_t x;
  for (d = 1; d < cnt; d++)
    for (r = cnt - 1; r >= d; r--)
      for (x = 0; x < len; x++) a[r * len + x] -= a[(r - 1) * len + x];
}


/* C(N, d) mod 2^64: the odd parts of the product and of d! apart, the
   power of 2 counted (d! odd part inverted by Newton's iteration). */
static uint64_t binom64 (uint64_t N, int d) {
  uint64_t odd = 1, dodd = 1, inv;
  int e = 0, t;
  if (N < (uint64_t)d) return 0;
  for (t = 0; t < d; t++) {
    uint64_t x = N - (uint64_t)t, y = (uint64_t)t + 1;
    while (!(x & 1)) { x >>= 1; e++; }
    while (!(y & 1)) { y >>= 1; e--; }
    odd *= x; dodd *= y;
  }
  if (e >= 64) return 0;
  inv = dodd;  /* correct to 3 bits; each step doubles them */
  for (t = 0; t < 5; t++) inv *= 2 - dodd * inv;
  return (odd * inv) << e;
}


/*
** The degree in r of every state x_r (r >= 1) when x_(r+1) = M(r) x_r
** with M(r) = sum_d C(r, d) Md[d] (d = 0..dm, K x K each): each state,
** apart from the constant, keeps its value plus (diagonal 1) or takes
** (diagonal 0) terms of other states only, along an acyclic graph; a
** state then adds up polynomials of the degree of its sources' plus their
** coefficients', one degree more when it keeps its value (a sum over r).
** Returns the largest degree, or -1 when M(r) has no such shape.
*/
static int tridegree (int K, int dm, const uint64_t *Md, int *deg) {
  size_t KK = (size_t)K * (size_t)K;
  int i, j, d, pass, left = K - 1;
  for (i = 0; i < K; i++) deg[i] = i == 0 ? 0 : -1;
  for (i = 1; i < K; i++) {
    uint64_t diag = Md[(size_t)i * K + i];
    if (diag > 1) return -1;
    for (d = 1; d <= dm; d++)
      if (Md[d * KK + (size_t)i * K + i] != 0) return -1;
  }
  for (pass = 0; pass < K && left > 0; pass++)
    for (i = 1; i < K; i++) {
      int best = -1, ready = 1;
      if (deg[i] >= 0) continue;
      for (j = 0; j < K && ready; j++) {
        int e = -1;
        if (j == i) continue;
        for (d = 0; d <= dm; d++)
          if (Md[d * KK + (size_t)i * K + j] != 0) e = d;
        if (e < 0) continue;
        if (deg[j] < 0) ready = 0;
        else if (deg[j] + e > best) best = deg[j] + e;
      }
      if (!ready) continue;
      deg[i] = best < 0 ? 0 : best + (int)Md[(size_t)i * K + i];
      left--;
    }
  if (left > 0) return -1;  /* a cycle */
  for (i = d = 0; i < K; i++) if (deg[i] > d) d = deg[i];
  return d;
}


/*
** With ctrinv, an inner loop's matrix B(r) depends on the outer iteration
** r: its entries are polynomials of degree q <= qmax in r, so an entry is
** zero at every r when it is zero at q + 1 of them (its coefficients in
** the binomial basis of r are its forward differences there).  The walks
** r = 0..qmax+1 noted where B - I was nonzero (the loop may be skipped at
** one end: closeloop then sees one walk less); when that pattern has no
** cycle and no diagonal, B(r) - I is nilpotent at every r, and B(r)^m is
** the polynomial closeloop's degree bound (K - 1 for its index) assumed.
*/
static int nilpotent_everywhere (Walk *w) {
  int l, i, j, pass;
  for (l = 0; l < w->n->nloops; l++) {
    const unsigned char *sp = &w->supp[(size_t)l * SUPPBYTES];
    unsigned char done[MAT_KMAX];
    int left = MAT_KMAX;
    if (w->n->qdeg[l] == 0 || !sp[MAT_KMAX * MAT_KMAX + 1]) continue;
    if (sp[MAT_KMAX * MAT_KMAX] < w->n->qdeg[l] + 1) return 0;
    memset(done, 0, sizeof(done));
    for (pass = 0; pass < MAT_KMAX && left > 0; pass++)  /* peel sources */
      for (i = 0; i < MAT_KMAX; i++) {
        int ready = 1;
        if (done[i]) continue;
        for (j = 0; j < MAT_KMAX && ready; j++)
          if (sp[i * MAT_KMAX + j] && (j == i || !done[j])) ready = 0;
        if (ready) { done[i] = 1; left--; }
      }
    if (left > 0) return 0;
  }
  return 1;
}


/* The outer counter's value at iteration r (exact: tribounds). */
static int64_t ctrat (const Walk *w, uint64_t r) {
  return (int64_t)((uint64_t)w->tristart + r * (uint64_t)w->tristep);
}


/*
** Walks the outer body once more (stack from 'top') in mode 'mode' with
** the counter's value of iteration r0 (and, TRI_BOUNDS, of r1 for the
** last), into ms; 0 when the walk stops or its states are not the K of
** the first walk's.
*/
static int walkat (Walk *w, int mode, uint64_t r0, uint64_t r1, int top,
                   int K, Map *ms) {
  w->tri = mode;
  w->bounds = mode == TRI_BOUNDS;
  w->trix[0] = ctrat(w, r0);
  w->trix[1] = ctrat(w, r1);
  beginwalk(w, top);
  if (!walkblock(w, 0, w->n->ir.nops) || !buildmap(w, ms, 1)) return 0;
  if (ms->K != K)
    return stop(w, 0, "the nested loop's states changed between iterations");
  return 1;
}


/* Pieces of the outer range for trisegments. */
#define TRI_SEGMENTS	8

/*
** The float proof of a triangular nest when the first walk's bound, every
** iteration at the largest inner counts, is too loose (a sum of i terms
** bounded by n times the largest): the outer range in TRI_SEGMENTS
** pieces, each walked (TRI_BOUNDS) at its own ends, so at its own largest
** counts, and bounded from the bound of the states at its start -- the
** previous piece's, whose max over its iterations covers its last.
*/
static int trisegments (Walk *w, const Map *mp) {
  lua_State *L = w->L;
  int K = mp->K, degree = w->degree, top, s, ok = 1;
  uint64_t n = w->c.n, len = (n + TRI_SEGMENTS - 1) / TRI_SEGMENTS, r0;
  double *lstart = (double *)cpm_newbuffer(L, sizeof(double) * 2 * (size_t)K);
  double *maj = lstart + K;
  if (w->c.n64 || n < 2) return 0;
  memcpy(lstart, mp->lv, sizeof(double) * (size_t)K);
  top = lua_gettop(L);
  for (s = 0, r0 = 0; ok && r0 < n; s++, r0 += len) {
    uint64_t r1 = r0 + len < n ? r0 + len - 1 : n - 1;
    mp_limb_t limbs[4];
    mpz_t tmp;
    count_Loop piece = w->c;
    Map ms;
    piece.n = r1 - r0 + 1;
    ok = walkat(w, TRI_BOUNDS, r0, r1, top, K, &ms) &&
         exactfor(w, &ms, lstart, count_mpz(&piece, limbs, tmp), maj);
    memcpy(lstart, maj, sizeof(double) * (size_t)K);
  }
  lua_settop(L, top);
  w->degree = degree;  /* the walks above added their loops' again */
  if (ok) { w->fail = NULL; return 1; }
  if (w->fail == NULL) stop(w, 0, WHY_INEXACT);
  return 0;
}


/*
** A nest with triangular loops.  An inner loop whose count m changes
** with the outer iteration r is B^m, a different matrix each time; but
** when B is unipotent, B^m = sum_t C(m,t) (B - I)^t is a polynomial in m,
** and m is affine in r (tricount), so the outer map M(r) is a polynomial
** in r of degree dm at most (the sum of those loops' degrees).  When
** moreover M(r) only adds to each state (tridegree), every state x_r is a
** polynomial in r of some degree D, and
**   x_n = sum_{d<=D} C(n-1, d) Delta^d x_1
** (Newton's forward-difference formula), exact in Z/2^64 since every
** Delta^d x_1 is an integer combination of the x_r.  So the guard walks
** the outer body at r = 0, 1, ..., D+1 with the actual counts (each walk
** gives M(r) exactly: tricount and closeloop), steps x_1..x_(D+2), and
** checks what it relies on: Delta^(dm+1) M(0) = 0 and Delta^(D+1) x_1 = 0.
** Floats: the first walk (TRI_BOUNDS) takes each triangular loop at its
** largest count, so its bounds majorize every iteration's (ringcheck).
** The first walk has just been made.
*/
static int trinest (Walk *w) {
  lua_State *L = w->L;
  Map mp;
  mp_limb_t limbs[4];
  mpz_t tmp;
  mpz_srcptr n = count_mpz(&w->c, limbs, tmp);
  uint64_t nm1, *Ms, *X, *x, *t;
  size_t KK;
  int K, dm = w->degree, D = -1, r, rend, base, i, d, *deg, inexact;
  if (!buildmap(w, &mp, 1)) return 0;
  if (!ringcheck(w, &mp, n, &inexact) && !(inexact && trisegments(w, &mp)))
    return 0;
  if (dm > TRI_MAXDEGREE)
    return stop(w, 0, "a triangular nest of too high a degree");
  K = mp.K;
  KK = (size_t)K * (size_t)K;
  nm1 = w->c.n - 1;  /* n >= 1; n = 2^64 (n64) gives 2^64 - 1 */
  Ms = (uint64_t *)cpm_newbuffer(L, sizeof(uint64_t) * KK * ((size_t)dm + 2));
  X = (uint64_t *)cpm_newbuffer(L, sizeof(uint64_t) * (size_t)K *
                                  (TRI_MAXDEGREE + 3));
  x = (uint64_t *)cpm_newbuffer(L, sizeof(uint64_t) * 2 * (size_t)K);
  t = x + K;
  deg = (int *)cpm_newbuffer(L, sizeof(int) * (size_t)K);
  memcpy(x, mp.v, sizeof(uint64_t) * (size_t)K);
  if (w->trizero && w->ftm != NULL && (w->seen & SEEN_INT) &&
      (w->seen & SEEN_FLT)) {  /* a mix: the types of the end iterations */
    Map ml;
    w->trifirst = (uint64_t *)cpm_newbuffer(L, sizeof(uint64_t) * 2 * (size_t)K);
    w->trilast = w->trifirst + K;
    base = lua_gettop(L);
    if (!walkat(w, TRI_AT, nm1, nm1, base, K, &ml)) return 0;
    memcpy(w->trilast, ml.tm, sizeof(uint64_t) * (size_t)K);
    lua_settop(L, base);
  }
  base = lua_gettop(L);
  rend = dm + 1;  /* walks at r = 0..rend */
  if (w->qmax > TRI_MAXDEGREE)
    return stop(w, 0, "a triangular nest of too high a degree");
  if (w->qmax + 1 > rend) rend = w->qmax + 1;
  for (r = 0; r <= rend; r++) {
    Map mr;
    if (!walkat(w, TRI_AT, (uint64_t)r, (uint64_t)r, base, K, &mr)) return 0;
    if (r == 0 && w->trifirst != NULL)
      memcpy(w->trifirst, mr.tm, sizeof(uint64_t) * (size_t)K);
    if (r <= dm + 1) memcpy(&Ms[(size_t)r * KK], mr.B, sizeof(uint64_t) * KK);
    applyu64(K, mr.B, x, t);  /* x_(r+1) */
    if ((uint64_t)r == nm1) {  /* the last iteration: done */
      lua_settop(L, base);
      return pushtyped(w, &mp, x, n);
    }
    if (r <= TRI_MAXDEGREE + 2)
      memcpy(&X[(size_t)r * K], x, sizeof(uint64_t) * (size_t)K);
    if (r == dm + 1) {  /* M(0..dm+1) known: the degree of the states */
      differences(Ms, dm + 2, KK);
      for (i = 0; i < (int)KK; i++)
        if (Ms[(size_t)(dm + 1) * KK + i] != 0)
          return stop(w, 0, "the outer map of the triangular nest is not "
                            "the polynomial it should be");
      if ((D = tridegree(K, dm, Ms, deg)) < 0)
        return stop(w, 0, "the outer loop of a triangular nest does more "
                          "than add to its values");
      if (D > TRI_MAXDEGREE)
        return stop(w, 0, "a triangular nest of too high a degree");
      if (D + 1 > rend) rend = D + 1;
    }
  }
  if (w->supp != NULL && !nilpotent_everywhere(w))
    return stop(w, 0, "an inner loop's matrix, which the outer counter "
                      "changes, is not unipotent at every iteration");
  /* x_1..x_(D+2) in X[0..D+1]: Newton's formula */
  differences(X, D + 2, (size_t)K);
  for (i = 0; i < K; i++)
    if (X[(size_t)(D + 1) * K + i] != 0)
      return stop(w, 0, "the values of the triangular nest are not the "
                        "polynomial they should be");
  for (i = 0; i < K; i++) {
    uint64_t a = 0;
    for (d = 0; d <= D; d++) a += binom64(nm1, d) * X[(size_t)d * K + i];
    x[i] = a;
  }
  lua_settop(L, base);
  return pushtyped(w, &mp, x, n);
}

/* One iteration's type step: X := the masks of the states after an
   iteration whose update masks are those of 'upd', from masks E. */
static void typestep (Walk *w, int K, const int *upd, const uint64_t *E,
                      uint64_t *X) {
  int j, c;
  for (j = 0; j < K - 1; j++) {
    uint64_t u = w->ftm[upd[j]], x = u & 1;
    for (c = 1; c < K && c < 64; c++)
      if (u >> c & 1) x |= E[c - 1];
    X[j] = x;
  }
}


/*
** Lua 5.4: the types of prodloop's states.  A product of changing
** matrices has no one type step, but when every iteration, whichever of
** its triangular loops run, takes the entry masks E to the same X1 and X1
** to itself, the types after any count >= 1 are X1.  Each walk's step is
** checked (*state: 0 none yet, 1 X1 known, -1 no such X1).
*/
static void prodtypes (Walk *w, int K, const int *upd, const uint64_t *E,
                       uint64_t *X1, int *state) {
  uint64_t *X = X1 + K;
  if (w->ftm == NULL || *state < 0) return;
  if (K - 1 >= 64) { *state = -1; return; }
  typestep(w, K, upd, E, X);
  if (*state == 0) memcpy(X1, X, sizeof(uint64_t) * (size_t)(K - 1));
  else if (memcmp(X1, X, sizeof(uint64_t) * (size_t)(K - 1)) != 0) {
    *state = -1;
    return;
  }
  *state = 1;
  typestep(w, K, upd, X1, X);
  if (memcmp(X1, X, sizeof(uint64_t) * (size_t)(K - 1)) != 0) *state = -1;
}


/*
** An inner loop whose body holds triangular loops of its own, whose
** counts follow this loop's variable: its iterations t = 0..m-1 apply
** different matrices B(t), and its effect is the product
** P(m) = B(m-1) ... B(0).  As in trinest, one level down: each such loop
** is B'^m' with B' unipotent and m' affine in t (deepcount), so B(t) is a
** polynomial in t of degree dm (the sum of their degrees, w->pdeg); when
** it only adds along an acyclic graph (tridegree), every column of P(t),
** t >= 1, is a polynomial of degree D, and
**   P(m) = sum_{d<=D} C(m-1, d) Delta^d P(1)
** (Newton's forward differences, exact in Z/2^64).  The body is walked at
** t = 0..max(dm, D)+1 with the loop variable's actual value (PROD_AT), the
** products taken, Delta^(dm+1) B(0) = 0 and Delta^(D+1) P(1) = 0 checked.
** A bounding walk (floats, or the first walk of a triangular nest, whose
** loop variables are ranges) walks the body once with its variable
** ranging over its values (PROD_RANGE) and the triangular loops at their
** largest counts, which majorizes every B(t); the degree of P(m) in an
** enclosing loop's iteration, through m and through the variable's start,
** is at most (K - 1)(dm + 1): a path of the graph has at most K - 2 edges,
** each adding dm and one for the sum.
*/
static int prodloop (Walk *w, int i, Level *in, Level *out,
                     const count_Loop *c, mpz_srcptr m, const int *kv,
                     const int *vv, int *res) {
  lua_State *L = w->L;
  const plan_Nest *n = w->n;
  const ir_Op *op = &n->ops[i];
  int ns = n->ir.nslots, K = in->k + 1, d = w->depth, top, mark, ok = 0;
  int pdeg0 = w->pdeg, deg0 = w->degree, bounds = w->bounds, dm = -1, D = -1;
  int ranging = w->ranging || w->tri == TRI_BOUNDS, t, x, flt, *upd, *deg;
  size_t KK = (size_t)K * (size_t)K, nmat = TRI_MAXDEGREE + 4;
  uint64_t nm1 = c->n64 ? UINT64_MAX : c->n - 1, *Ms, *Ps, *B, *Pm, *E, *X1;
  int tstate = 0, ndeep = 0;  /* prodtypes; the most triangular loops seen */
  int prodlevel = w->prodlevel, ndeep0 = w->ndeep, skipdeep = w->skipdeep;
  double *LB, *R = NULL, *lcol;
  unsigned char *snap;
  i128 slo, shi, llo, lhi, step, span;
  const char *why = NULL;
  /* its variable's start, step and values */
  if (!ctlrange(w, d, op->line, kv[0], vv[0], FR_AT, &slo, &shi, &flt))
    return 0;
  /* its limit, which no value passes (lvm.c, forprep), or none known */
  llo = -PROD_CTRL_MAX; lhi = PROD_CTRL_MAX;
  if (kv[1] == SK_VAR) {
    if (!formrange(w, d, vv[1], FR_AT, &llo, &lhi, &flt)) {
      llo = -PROD_CTRL_MAX; lhi = PROD_CTRL_MAX;
    }
  }
  else if (lua_type(L, vv[1]) == LUA_TNUMBER &&
           fabs((double)lua_tonumber(L, vv[1])) < TRI_FLT_MAX)
    llo = lhi = (i128)floor((double)lua_tonumber(L, vv[1]));
  if (c->itype == VT_INT) step = (i128)c->istep;
  else if (c->fstep == floor(c->fstep) && fabs(c->fstep) < TRI_FLT_MAX)
    step = (i128)(int64_t)c->fstep;
  else return stop(w, op->line, "an inner loop's step is not an integer");
  span = (i128)nm1 * step;
  if (c->n64 || span > PROD_CTRL_MAX || span < -PROD_CTRL_MAX)
    return stop(w, op->line, "an inner loop's count is too large to follow "
                             "its variable");
  if (w->ctrinv) return stopr(w, op->line, CPM_R_NEST_BOUNDS, "");
  /* scratch: the level as set up (restored before each walk), matrices */
  /* (a buffer of the stack, below 'top': a walk that raises leaks nothing) */
  snap = (unsigned char *)cpm_newbuffer(L, (size_t)ns * (2 + sizeof(int)) +
                                        sizeof(uint64_t) * KK * (2 * nmat + 2) +
                                        sizeof(uint64_t) * 3 * (size_t)K +
                                        sizeof(double) * (2 * KK + (size_t)K) +
                                        sizeof(int) * 2 * (size_t)K + 64);
  Ms = (uint64_t *)(void *)(((uintptr_t)(snap + (size_t)ns * (2 + sizeof(int))) + 15) & ~(uintptr_t)15);
  Ps = Ms + KK * nmat;
  B = Ps + KK * nmat;
  Pm = B + KK;
  LB = (double *)(Pm + KK);
  R = LB + KK;
  lcol = R + KK;
  E = (uint64_t *)(lcol + K);
  X1 = E + K;
  upd = (int *)(X1 + 2 * (size_t)K);
  deg = upd + K;
  memcpy(snap, in->kind, (size_t)ns);
  memcpy(snap + ns, in->deg, (size_t)ns);
  memcpy(snap + 2 * (size_t)ns, in->val, sizeof(int) * (size_t)ns);
  for (x = 0; x < K - 1 && w->ftm != NULL; x++) E[x] = w->ftm[in->entry[x]];
  top = lua_gettop(L);
  mark = w->nforms;
  in->cstep = (int64_t)step;
#define PROD_WALK(mode, tt) \
  (memcpy(in->kind, snap, (size_t)ns), memcpy(in->deg, snap + ns, (size_t)ns), \
   memcpy(in->val, snap + 2 * (size_t)ns, sizeof(int) * (size_t)ns), \
   in->nbrow = 0, w->nforms = mark, lua_settop(L, top), in->prod = (mode), \
   w->prodlevel = d + 1, w->ndeep = 0, \
   in->cval = (int64_t)(slo + (i128)(tt) * step), w->depth = d + 1, \
   ok = walkblock(w, i + 1, i + 1 + op->n1), w->depth = d, \
   ok = ok && updforms(w, in, c, op->line, upd), \
   (ok ? loopmatrix(w, K, upd, B, LB) : (void)0), \
   (ok ? prodtypes(w, K, upd, E, X1, &tstate) : (void)0), \
   (w->ndeep > ndeep ? ndeep = w->ndeep : 0), ok)
  for (x = 0; x < (int)KK; x++) Pm[x] = (uint64_t)(x / K == x % K);
  {  /* its variable's values: at its ends, bounds over its iterations */
    i128 a = span < 0 ? (slo + span > llo ? slo + span : llo) : slo;
    i128 b = span > 0 ? (shi + span < lhi ? shi + span : lhi) : shi;
    in->cfirst = (int64_t)slo;
    in->clast = (int64_t)(slo + span);
    in->clo = (int64_t)a;
    in->chi = (int64_t)b;
    in->tmax = (int64_t)nm1;
    in->limf = kv[1] == SK_VAR ? vv[1] : -1;
    in->limval = (int64_t)llo;
    if (kv[1] != SK_VAR && (llo != lhi || lua_tonumber(L, vv[1]) != (lua_Number)llo))
      in->limf = -2;  /* not known, or not an integer */
  }
  if (w->ftm != NULL && w->mayflt) {  /* the types with its triangular
                                         loops skipped */
    w->skipdeep = 1;
    if (!PROD_WALK(ranging ? PROD_RANGE : PROD_AT, 0)) goto done;
    w->skipdeep = 0;
    w->pdeg = pdeg0;
  }
  if (!ranging) {  /* the product, at this walk's values */
    if (slo != shi) { why = "an inner loop's start is not known"; goto done; }
    w->bounds = 0;
    memcpy(Ps, Pm, sizeof(uint64_t) * KK);  /* P(0) = I */
    for (t = 0; ; t++) {
      uint64_t *Pt = &Ps[KK * (size_t)(t < (int)nmat - 1 ? t : (int)nmat - 2)];
      if (!PROD_WALK(PROD_AT, t)) goto done;
      /* the degree of B(t): its triangular loops' (one skipped at t = 0,
         its count 0 there, runs at t = 1: deepcount) */
      if (w->pdeg - pdeg0 > dm) dm = w->pdeg - pdeg0;
      w->pdeg = pdeg0;
      if (dm > TRI_MAXDEGREE) break;
      if (t < (int)nmat) memcpy(&Ms[KK * (size_t)t], B, sizeof(uint64_t) * KK);
      mulu64(K, B, Pt, Pt + KK);  /* P(t + 1) */
      if ((uint64_t)t == nm1) {  /* the last iteration: P(m) */
        memcpy(Pm, Pt + KK, sizeof(uint64_t) * KK);
        break;
      }
      if (t >= 1 && D < 0 && t >= dm + 1) {  /* B(0..dm+1): P's degree */
        differences(Ms, dm + 2, KK);
        for (x = 0; x < (int)KK; x++)
          if (Ms[KK * (size_t)(dm + 1) + x] != 0) {
            why = "an inner loop's matrix is not the polynomial it should be";
            goto done;
          }
        if ((D = tridegree(K, dm, Ms, deg)) < 0) {
          why = "an inner loop whose matrix its iterations change does more "
                "than add to its values";
          goto done;
        }
        if (D > TRI_MAXDEGREE) break;
      }
      if (D >= 0 && t >= D + 1) {  /* P(1..D+2): Newton's formula */
        uint64_t *X = Ps + KK;
        differences(X, D + 2, KK);
        for (x = 0; x < (int)KK; x++)
          if (X[KK * (size_t)(D + 1) + x] != 0) {
            why = "an inner loop's values are not the polynomial they "
                  "should be";
            goto done;
          }
        for (x = 0; x < (int)KK; x++) {
          uint64_t a = 0;
          int e;
          for (e = 0; e <= D; e++) a += binom64(nm1, e) * X[KK * (size_t)e + x];
          Pm[x] = a;
        }
        break;
      }
    }
    w->bounds = bounds;
    if (dm > TRI_MAXDEGREE || D > TRI_MAXDEGREE) {
      why = "a triangular nest of too high a degree";
      goto done;
    }
  }
  if (bounds || ranging || d > 0) {  /* one walk over all its values:
    magnitudes, and its degree for an enclosing product or the first walk
    of the triangular nest (which also checked every count it may take) */
    w->ranging++;
    w->bounds = 1;  /* (the magnitudes' zeros are its matrices' pattern) */
    ok = PROD_WALK(PROD_RANGE, 0);
    w->bounds = bounds;
    w->ranging--;
    if (!ok) goto done;
    dm = w->pdeg - pdeg0;
    if (bounds && bound_log2_powmax(K, LB, m, R) != 0) {
      why = "the inner loop's matrix cannot be computed";
      goto done;
    }
  }
#undef PROD_WALK
  /* its degree in an enclosing loop's iteration: B(t)'s entries that can
     be nonzero at some iteration (their magnitudes, over every value of
     its variable) of degree dm at most, the diagonal 1 at most */
  if (dm > TRI_MAXDEGREE) { why = "a triangular nest of too high a degree"; goto done; }
  if (!(bounds || ranging || d > 0)) goto degreed;  /* (not wanted) */
  memset(Ms, 0, sizeof(uint64_t) * KK * ((size_t)dm + 1));
  for (x = 0; x < K; x++) {
    int y;
    Ms[(size_t)x * K + x] = 1;
    for (y = 0; y < K && x > 0; y++)
      if (y != x && LB[(size_t)x * K + y] != -HUGE_VAL)
        Ms[KK * (size_t)dm + (size_t)x * K + y] = 1;
  }
  D = tridegree(K, dm, Ms, deg);
  if (D < 0) {
    why = "an inner loop whose matrix its iterations change does more than "
          "add to its values";
    goto done;
  }
  if (D > TRI_MAXDEGREE) { why = "a triangular nest of too high a degree"; goto done; }
  w->pdeg = pdeg0 + D;
  if (w->tri == TRI_BOUNDS) w->degree = deg0 + D;
degreed:
  ok = applyclosed(w, in, out, K, Pm, bounds ? R : NULL, lcol, res);
  if (ok && w->ftm != NULL) {  /* the states' types (prodtypes): with one
                                   triangular loop, the walks saw it run
                                   and skipped */
    if (tstate <= 0 || ndeep > 1) w->tmfail = 1;
    for (x = 0; x < K - 1; x++) w->ftm[res[x]] = w->tmfail ? 0 : X1[x];
  }
done:
  w->bounds = bounds;
  w->depth = d;
  w->prodlevel = prodlevel;
  w->ndeep = ndeep0;
  w->skipdeep = skipdeep;
  in->prod = PROD_NONE;
  if (why != NULL) return stop(w, op->line, why);
  return ok;
}


/* }====================================================== */


/*
** Can a float enter the ring?  Always on LuaJIT.  On Lua 5.4 only through
** a float loop, a float input, a float constant or an operator that makes
** floats ('/', '^', a field read); otherwise the magnitudes, which only
** floats need, are not kept (finish refuses a float ring without them).
*/
static int mayfloat (lua_State *L, const plan_Nest *n, const plan_Plan *p,
                     const count_Loop *c) {
#if CPM_LUA54
  int i;
  if (c->itype != VT_INT) return 1;
  for (i = 0; i < p->nin; i++)
    if (lua_type(L, 4 + i) == LUA_TNUMBER && !lua_isinteger(L, 4 + i))
      return 1;
  for (i = 0; i < n->ir.nk; i++)
    if (n->k[i].type == IR_KFLT) return 1;
  for (i = 0; i < n->ir.nops; i++)
    if (n->ops[i].code == IR_INDEX || (n->ops[i].code == IR_ARITH &&
        (n->ops[i].aop == IR_DIV || n->ops[i].aop == IR_POW)))
      return 1;
  return 0;
#else
  (void)L; (void)n; (void)p; (void)c;
  return 1;
#endif
}


/* The outer counter's first and last values and its step, for the first
   walk of a triangular nest (TRI_BOUNDS): exact integers. */
static int tribounds (Walk *w) {
  const count_Loop *c = &w->c;
  uint64_t nm1 = c->n - 1;
  if (c->itype == VT_INT) {
    w->tristart = (int64_t)c->istart;
    w->tristep = (int64_t)c->istep;
  }
  else {
    double last = c->fstart + (double)nm1 * c->fstep;
    if (c->fstart != floor(c->fstart) || c->fstep != floor(c->fstep) ||
        !(fabs(c->fstart) < TRI_FLT_MAX) || !(fabs(c->fstep) < TRI_FLT_MAX) ||
        !(fabs(last) < TRI_FLT_MAX) || nm1 >= (uint64_t)1 << 53) {
      w->fail = "the outer counter of a triangular nest is not an integer "
                "it can follow";
      return 0;
    }
    w->tristart = (int64_t)c->fstart;
    w->tristep = (int64_t)c->fstep;
  }
  w->trix[0] = ctrat(w, 0);
  w->trix[1] = ctrat(w, nm1);
  w->ctrpos = w->trix[0] > 0 && w->trix[1] > 0;
  w->tri = TRI_BOUNDS;
  return 1;
}


static int nest_call (lua_State *L) {
  const plan_Plan *p = plan_test(L, lua_upvalueindex(UP_PLAN));
  const plan_Nest *n;
  Walk w;
  int nargs, counted, nres, top, maxk;
  lua_Integer limit = lua_tointeger(L, lua_upvalueindex(UP_LIMIT));
  if ((lua_gethookmask(L) & LUA_MASKLINE) || p == NULL) {  /* see guard_call */
    lua_pushboolean(L, 0);
    return 1;
  }
  n = p->nest;
  nargs = 3 + p->nin;
  maxk = n->nused + 2;
  memset(&w, 0, sizeof(w));
  if (lua_gettop(L) < nargs)
    return runaswritten(L, &w.c, 0, "the guard call lacks arguments");
  lua_settop(L, nargs);
  if (p->w.active) {  /* while, repeat: counted into control values */
    const char *why = guard_while_control(L, p, 4);
    if (why != NULL) return runaswritten(L, &w.c, 0, why);
  }
  counted = (lua_toboolean(L, lua_upvalueindex(UP_PREPARED)) && !p->w.active
             ? count_fornumprep(L, 1, &w.c) : count_fornum(L, 1, &w.c)) == COUNT_OK
            && !w.c.nbig;
  if (!counted)
    return runaswritten(L, &w.c, 0, "loop control values it cannot count exactly");
  if (count_below(&w.c, limit < 1 ? 1 : (uint64_t)limit)) {
    guard_count(L, lua_upvalueindex(UP_RECORD), GUARD_BELOW_LIMIT, NULL);
    lua_pushboolean(L, 0);
    return 1;
  }
  if (!(w.c.itype == VT_INT ||
        (w.c.itype == VT_FLT && !(w.c.fstart == 0 && signbit(w.c.fstart)))))
    return runaswritten(L, &w.c, 1, "a value of the nested loop is not a number it can follow");
  w.L = L; w.n = n; w.p = p; w.eval = 1; w.topline = p->line;
  w.bounds = w.mayflt = mayfloat(L, n, p, &w.c);
  w.ibase = 4;
  w.W = maxk + 1;
  w.maxforms = 4 * n->ir.nops * (n->maxdepth + 1) + 4 * (n->nloops + 2) * w.W + 32;
  luaL_checkstack(L, 4 * n->ir.nops + n->ir.nk + 64, "too many loop invariants");
  {  /* the forms and levels: a block of the closure, made at its first
        call (nothing the walk calls can enter this guard again) */
    size_t nf = (size_t)w.maxforms * (size_t)w.W;
    size_t lb = (levelbytes(n, n->ir.nslots, maxk) + 7) & ~(size_t)7;
    size_t need = nf * (sizeof(uint64_t) + sizeof(double)) + lb +
                  sizeof(uint64_t) * (size_t)w.maxforms;
    char *b = (char *)lua_touserdata(L, lua_upvalueindex(UP_SCRATCH));
    if (b == NULL) {
      b = (char *)cpm_newuserdata(L, need);
      lua_replace(L, lua_upvalueindex(UP_SCRATCH));
    }
    w.fu = (uint64_t *)b;
    w.fl = (double *)(b + nf * sizeof(uint64_t));
    carvelevels(&w, b + nf * (sizeof(uint64_t) + sizeof(double)),
                n->ir.nslots, maxk);
#if CPM_LUA54
    w.ftm = (uint64_t *)(b + nf * (sizeof(uint64_t) + sizeof(double)) + lb);
#endif
  }
  if (n->tri && !tribounds(&w))
    return runaswritten(L, &w.c, 1, w.fail);
  if (n->ctrinv) {
    int l;
    w.ctrinv = 1;
    w.supp = (unsigned char *)cpm_newbuffer(L, (size_t)n->nloops * SUPPBYTES + 1);
    memset(w.supp, 0, (size_t)n->nloops * SUPPBYTES + 1);
    for (l = 0; l < n->nloops; l++)
      if (n->qdeg[l] > w.qmax) w.qmax = n->qdeg[l];
  }
  top = lua_gettop(L);
  beginwalk(&w, top);
  nres = walkblock(&w, 0, n->ir.nops)
         ? (n->tri ? trinest(&w) : finish(&w)) : 0;
  if (nres > 0 && p->w.active && p->w.endlast) {  /* the final counter */
    luaL_checkstack(L, 2, "too many loop variables");
    guard_while_pushend(L, &w.c);
    nres++;
  }
  if (nres > 0) {
    top = lua_gettop(L);
    guard_count(L, lua_upvalueindex(UP_RECORD), GUARD_COMPUTED, NULL);
    lua_settop(L, top);
    return nres;
  }
  return runaswritten(L, &w.c, 1, w.fail ? w.fail : "the nested loop cannot be computed");
}


void plan_nest_guard (lua_State *L, int cfg, int plan, const guard_Site *s) {
  luaL_checkstack(L, UP_N, NULL);
  lua_pushvalue(L, cfg);
  lua_pushvalue(L, plan);
  lua_pushinteger(L, s->iters_limit);
  lua_pushboolean(L, s->strict);
  lua_pushstring(L, s->where);
  lua_pushboolean(L, s->prepared);
  lua_pushvalue(L, s->record);
  if (s->onfallback) lua_pushvalue(L, s->onfallback);
  else lua_pushnil(L);
  lua_pushnil(L);  /* UP_SCRATCH: made by the first call */
  lua_pushcclosure(L, nest_call, UP_N);
}

/* }====================================================== */
