/*
** plan.c -- the planner: from a loop's IR to a plan (plan.h), or to the
** reason why the loop cannot be planned.
**
** One iteration of the body is executed symbolically.  Every slot holds
** either an atom (a value that is the same in every iteration) or an
** affine row over the state at iteration start.  An op whose operands are
** all atoms is hoisted: it becomes a new atom, evaluated once at loop entry
** with the VM's own arithmetic, whatever the operator.  The other ops must
** be + and - of rows, unary minus, * by an atom, or * of two rows.
**
** A product of two rows is a row over monomials: each product of two
** columns is the column of a monomial state (PS_MONO), the product of the
** carried values it names.  After the walk every monomial gets its own
** update, the product of its factors' updates expanded (the index's
** powers by the binomial theorem, in effect), which may name new
** monomials in turn.  The closure is finite when the body is "solvable"
** (Rodriguez-Carbonell and Kapur, ISSAC 2004; Kincaid, Cyphert, Breck and
** Reps, POPL 2018): no monomial of degree >= 2 in a variable's update has
** a factor that depends, through the updates, on that variable.  Then the
** variables form strata, each linear in itself plus a polynomial in lower
** strata.  Otherwise (r = r * i, x = x * x) the degree grows with n: the
** loop is refused.  In Z, Z/2^64 and every ring the guard uses, a
** monomial row carries exactly the product of its factors' values, since
** reduction is a ring homomorphism.
**
** '%' by an atom m keeps its operand's row and marks the slot reduced:
** when every carried value (and every output) is reduced modulo the same
** m at the end of the body, or is a copy of such a value, the rows hold
** over Z/m (reduction is a ring homomorphism again) and the guard
** computes B^n v mod m.  A carried value that is not reduced while
** others are mixes rings: refused.
*/
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mat.h"
#include "plan.h"
#include "plan_gf2.h"
#include "reasons.h"


#define UNSET		INT_MIN		/* a slot not yet read or written */
#define RED_ENTRY	(-1)	/* reduction marks: not written yet */
#define RED_NONE	0	/* a value not reduced */
#define RED_MOD		1	/* the result of '%' by the loop's m */
#define redatom(a)	(-2 - (a))	/* a hoisted '%' by atom a */
#define ishrow(h)	((h) < 0 && (h) != UNSET)
#define h2row(h)	(-1 - (h))
#define row2h(r)	(-1 - (r))


/* The userdata that owns a plan and every array of it. */
typedef struct Box {
  plan_Plan p;
  void *scratch[16];	/* the builder's arrays, freed with the box */
  int dead;		/* finalized: a finalizer of the same cycle may still
			   reach it (resurrection); plan_test then says NULL */
} Box;


/* Work state of one planning. */
typedef struct Builder {
  lua_State *L;
  const ir_Loop *ir;
  plan_Plan *p;
  Box *box;
  plan_Refusal *why;
  int W;		/* row width: column 0 is the constant, 1+s state s */
  int maxstate;
  int *pool;		/* rows, W coefficient ids each */
  int nrows, maxrows;
  int maxatoms, maxcoefs, maxtypes, maxbrows;
  int *sym;		/* slot -> atom id (>= 0), row handle (< 0) or UNSET */
  unsigned char *written;
  int *stateof;		/* slot -> its PS_SLOT state, or -1 */
  int *constatom;	/* constant -> its PA_CONST atom, or -1 */
  int *inputatom;	/* slot -> its PA_INPUT atom, or -1 */
  int indexstate;	/* the PS_INDEX state, or -1 */
  int stepatom;
  int *brow;		/* bounds rows: row ids */
  int bitwise;		/* refused at a bitwise op (the GF(2) planner may take it) */
  int nmonos;		/* PS_MONO states so far */
  int *monoline;	/* state -> line of the op that made the monomial */
  int *monoop;		/* state -> that op's index, or -1 */
  int curop;		/* the op whose refusal names it (ir_optext), or -1 */
  int *cols;		/* 2 W ints: the nonzero columns of two rows */
  int *red;		/* slot -> RED_* (or 2 + s: the entry value of
			   state s), as last written; RED_ENTRY unwritten */
  int modatom;		/* the atom every '%' reduces by, or -1 */
  int modline;		/* the line of the first '%' of a loop-carried value */
} Builder;


static const char *const aopnames[] = {
#define IR_AOP_SYM(name, sym, irname, event, jit)	sym,
  IR_AOPS(IR_AOP_SYM)
#undef IR_AOP_SYM
};

static const char *const aopirnames[] = {
#define IR_AOP_IRNAME(name, sym, irname, event, jit)	irname,
  IR_AOPS(IR_AOP_IRNAME)
#undef IR_AOP_IRNAME
};

static const char *const aopevents[] = {
#define IR_AOP_EVENT(name, sym, irname, event, jit)	event,
  IR_AOPS(IR_AOP_EVENT)
#undef IR_AOP_EVENT
};

const char *ir_aopname (int aop) {
  return (aop >= 0 && aop < IR_NAOP) ? aopnames[aop] : "?";
}

const char *ir_aopirname (int aop) {
  return (aop >= 0 && aop < IR_NAOP) ? aopirnames[aop] : NULL;
}

const char *ir_aopevent (int aop) {
  return (aop >= 0 && aop < IR_NAOP) ? aopevents[aop] : NULL;
}


/* Fills the refusal with reason 'r' (reasons.h), formatted with the rest,
   then the text of the op B->curop when its names are known:
   "operator '//' applied to a loop-carried value (s // 2)". */
static int refuse (Builder *B, int line, cpm_Reason r, ...) {
  va_list ap;
  char text[96];
  B->why->line = line;
  va_start(ap, r);
  vsnprintf(B->why->msg, sizeof(B->why->msg), cpm_reason(r), ap);
  va_end(ap);
  if (B->curop >= 0 && ir_optext(B->ir, B->curop, text, sizeof(text))) {
    size_t n = strlen(B->why->msg);
    snprintf(B->why->msg + n, sizeof(B->why->msg) - n, " (%s)", text);
  }
  return 0;
}


/* {======================================================
** Storage
** ======================================================= */

static int box_gc (lua_State *L) {
  Box *box = (Box *)luaL_checkudata(L, 1, PLAN_MT);
  plan_Plan *p = &box->p;
  size_t i;
  free(p->in); free(p->atoms); free(p->coefs); free(p->state);
  free(p->rows); free(p->brows); free(p->types); free(p->out);
  free(p->slot_in); free(p->gops); free(p->gupd); free(p->calls);
  plan_freeconsts(p->k, p->nk);
  if (p->branch != NULL) plan_branch_free(p->branch);
  if (p->nest != NULL) plan_nest_free(p->nest);
  memset(p, 0, sizeof(*p));
  for (i = 0; i < sizeof(box->scratch) / sizeof(box->scratch[0]); i++) {
    free(box->scratch[i]);
    box->scratch[i] = NULL;
  }
  box->dead = 1;
  return 0;
}


/* Allocates 'n' zeroed elements of 'size' bytes; raises on failure. */
static void *zalloc (lua_State *L, size_t n, size_t size) {
  void *b = calloc(n ? n : 1, size);
  if (b == NULL) luaL_error(L, "cpm: not enough memory to plan the loop");
  return b;
}


/* Allocates a scratch array owned by the box. */
static void *scratch (Builder *B, size_t n, size_t size) {
  size_t i;
  for (i = 0; i < sizeof(B->box->scratch) / sizeof(B->box->scratch[0]); i++)
    if (B->box->scratch[i] == NULL)
      return B->box->scratch[i] = zalloc(B->L, n, size);
  return luaL_error(B->L, "cpm: planner scratch exhausted"), NULL;
}


static void free_scratch (Box *box) {
  size_t i;
  for (i = 0; i < sizeof(box->scratch) / sizeof(box->scratch[0]); i++) {
    free(box->scratch[i]);
    box->scratch[i] = NULL;
  }
}

/* }====================================================== */


/* {======================================================
** Atoms and coefficients
** ======================================================= */

static int newatom (Builder *B, plan_AtomKind kind, int aop, int x, int y) {
  plan_Plan *p = B->p;
  plan_Atom *a;
  cpm_assert(p->natoms < B->maxatoms);
  a = &p->atoms[p->natoms];
  a->kind = kind; a->aop = aop; a->x = x; a->y = y;
  return p->natoms++;
}


static int newcoef (Builder *B, plan_CoefKind kind, int x, int y,
                    int64_t v) {
  plan_Plan *p = B->p;
  plan_Coef *c;
  if (p->ncoefs >= B->maxcoefs) {  /* grow */
    int n = B->maxcoefs * 2;
    plan_Coef *nc = (plan_Coef *)realloc(p->coefs, (size_t)n * sizeof(*nc));
    if (nc == NULL) luaL_error(B->L, "cpm: not enough memory to plan the loop");
    p->coefs = nc;
    B->maxcoefs = n;
  }
  c = &p->coefs[p->ncoefs];
  c->kind = kind; c->x = x; c->y = y; c->v = v;
  return p->ncoefs++;
}


static int isint (Builder *B, int c, int64_t v) {
  return c != PLAN_ZERO && B->p->coefs[c].kind == PC_INT &&
         B->p->coefs[c].v == v;
}


static int cint (Builder *B, int64_t v) {
  return v == 0 ? PLAN_ZERO : newcoef(B, PC_INT, 0, 0, v);
}


static int cneg (Builder *B, int x) {
  const plan_Coef *c;
  if (x == PLAN_ZERO) return PLAN_ZERO;
  c = &B->p->coefs[x];
  if (c->kind == PC_INT && c->v != INT64_MIN) return cint(B, -c->v);
  if (c->kind == PC_NEG) return c->x;
  return newcoef(B, PC_NEG, x, 0, 0);
}


static int cadd (Builder *B, int x, int y) {
  int64_t r;
  if (x == PLAN_ZERO) return y;
  if (y == PLAN_ZERO) return x;
  if (B->p->coefs[x].kind == PC_INT && B->p->coefs[y].kind == PC_INT &&
      !__builtin_add_overflow(B->p->coefs[x].v, B->p->coefs[y].v, &r))
    return cint(B, r);
  return newcoef(B, PC_ADD, x, y, 0);
}


static int csub (Builder *B, int x, int y) {
  int64_t r;
  if (y == PLAN_ZERO) return x;
  if (x == PLAN_ZERO) return cneg(B, y);
  if (B->p->coefs[x].kind == PC_INT && B->p->coefs[y].kind == PC_INT &&
      !__builtin_sub_overflow(B->p->coefs[x].v, B->p->coefs[y].v, &r))
    return cint(B, r);
  return newcoef(B, PC_SUB, x, y, 0);
}


static int cmul (Builder *B, int x, int y) {
  int64_t r;
  if (x == PLAN_ZERO || y == PLAN_ZERO) return PLAN_ZERO;
  if (isint(B, x, 1)) return y;
  if (isint(B, y, 1)) return x;
  if (isint(B, x, -1)) return cneg(B, y);
  if (isint(B, y, -1)) return cneg(B, x);
  if (B->p->coefs[x].kind == PC_INT && B->p->coefs[y].kind == PC_INT &&
      !__builtin_mul_overflow(B->p->coefs[x].v, B->p->coefs[y].v, &r))
    return cint(B, r);
  return newcoef(B, PC_MUL, x, y, 0);
}

/* }====================================================== */


/* {======================================================
** Rows
** ======================================================= */

static int *rowp (Builder *B, int r) {
  return &B->pool[(size_t)r * (size_t)B->W];
}


/* A new row, all zero. */
static int newrow (Builder *B) {
  int j, *r;
  if (B->nrows >= B->maxrows) {
    int n = B->maxrows * 2;
    int *np;
    size_t slot;
    for (slot = 0; B->box->scratch[slot] != B->pool; slot++) ;
    np = (int *)realloc(B->pool, (size_t)n * (size_t)B->W * sizeof(int));
    if (np == NULL) luaL_error(B->L, "cpm: not enough memory to plan the loop");
    B->pool = np;
    B->box->scratch[slot] = np;
    B->maxrows = n;
  }
  r = rowp(B, B->nrows);
  for (j = 0; j < B->W; j++) r[j] = PLAN_ZERO;
  return B->nrows++;
}


/* The row of state 's' alone (column 1+s, coefficient 1). */
static int unitrow (Builder *B, int s) {
  int r = newrow(B);
  rowp(B, r)[1 + s] = cint(B, 1);
  return r;
}


/* The row of atom 'a' (the constant column). */
static int atomrow (Builder *B, int a) {
  int r = newrow(B);
  rowp(B, r)[0] = newcoef(B, PC_ATOM, a, 0, 0);
  return r;
}


static int torow (Builder *B, int h) {
  return ishrow(h) ? h2row(h) : atomrow(B, h);
}


/* x + sign * y, as a new row. */
static int rowaddsub (Builder *B, int x, int y, int sub) {
  int r = newrow(B), j;
  for (j = 0; j < B->W; j++) {
    int cx = rowp(B, x)[j], cy = rowp(B, y)[j];
    rowp(B, r)[j] = sub ? csub(B, cx, cy) : cadd(B, cx, cy);
  }
  return r;
}


static int rowneg (Builder *B, int x) {
  int r = newrow(B), j;
  for (j = 0; j < B->W; j++) rowp(B, r)[j] = cneg(B, rowp(B, x)[j]);
  return r;
}


/* Row 'x' times the atom 'a' (the atom on the 'left' or right). */
static int rowscale (Builder *B, int x, int a, int left) {
  int r = newrow(B), j;
  int c = newcoef(B, PC_ATOM, a, 0, 0);
  for (j = 0; j < B->W; j++) {
    int cx = rowp(B, x)[j];
    rowp(B, r)[j] = left ? cmul(B, c, cx) : cmul(B, cx, c);
  }
  return r;
}

/* }====================================================== */


/* {======================================================
** Monomials
** ======================================================= */

static int newstate (Builder *B, plan_StateKind kind, int slot) {
  plan_Plan *p = B->p;
  cpm_assert(p->nstate < B->maxstate);
  p->state[p->nstate].kind = kind;
  p->state[p->nstate].slot = slot;
  p->state[p->nstate].live = 0;
  p->state[p->nstate].nfac = 0;
  return p->nstate++;
}


/* The factors of state 's' (itself, unless a monomial), sorted; their count. */
static int factors (Builder *B, int s, int *fac) {
  const plan_State *st = &B->p->state[s];
  if (st->kind != PS_MONO) {
    fac[0] = s;
    return 1;
  }
  memcpy(fac, st->fac, (size_t)st->nfac * sizeof(int));
  return st->nfac;
}


/*
** The row column of the product of columns 'j1' and 'j2' (0 is the
** constant 1, 1 + s state s): finds or makes the monomial state.  Returns
** -1 (with the reason) beyond the limits.
*/
static int monocol (Builder *B, int j1, int j2, int line) {
  plan_Plan *p = B->p;
  int f1[PLAN_MAXDEGREE], f2[PLAN_MAXDEGREE], f[PLAN_MAXDEGREE];
  int n1, n2, n, a = 0, b = 0, s;
  if (j1 == 0) return j2;
  if (j2 == 0) return j1;
  n1 = factors(B, j1 - 1, f1);
  n2 = factors(B, j2 - 1, f2);
  if (n1 + n2 > PLAN_MAXDEGREE)
    return refuse(B, line, CPM_R_PRODUCT_FACTORS, PLAN_MAXDEGREE) - 1;
  for (n = 0; n < n1 + n2; n++)  /* merge */
    f[n] = (b >= n2 || (a < n1 && f1[a] <= f2[b])) ? f1[a++] : f2[b++];
  for (s = 0; s < p->nstate; s++)
    if (p->state[s].kind == PS_MONO && p->state[s].nfac == n &&
        memcmp(p->state[s].fac, f, (size_t)n * sizeof(int)) == 0)
      return 1 + s;
  if (B->nmonos >= PLAN_MAXMONOS)
    return refuse(B, line, CPM_R_PRODUCT_MONOS, PLAN_MAXMONOS) - 1;
  s = newstate(B, PS_MONO, -1);
  p->state[s].nfac = n;
  memcpy(p->state[s].fac, f, (size_t)n * sizeof(int));
  B->monoline[s] = line;
  B->monoop[s] = B->curop;
  B->nmonos++;
  return 1 + s;
}


/* The nonzero columns of row 'r' into 'cols'; their count. */
static int nonzero (Builder *B, int r, int *cols) {
  int j, n = 0;
  for (j = 0; j < B->W; j++)
    if (rowp(B, r)[j] != PLAN_ZERO) cols[n++] = j;
  return n;
}


/* Row x times row y, as a new row; -1 (with the reason) beyond the limits. */
static int rowmul (Builder *B, int x, int y, int line) {
  int r = newrow(B), *cx = B->cols, *cy = B->cols + B->W, nx, ny, a, b;
  nx = nonzero(B, x, cx);
  ny = nonzero(B, y, cy);
  for (a = 0; a < nx; a++)
    for (b = 0; b < ny; b++) {
      int col = monocol(B, cx[a], cy[b], line), c;
      if (col < 0) return -1;
      c = cmul(B, rowp(B, x)[cx[a]], rowp(B, y)[cy[b]]);
      rowp(B, r)[col] = cadd(B, rowp(B, r)[col], c);
    }
  return r;
}

/* }====================================================== */


/* {======================================================
** Symbolic execution of one iteration
** ======================================================= */



/* The value handle of operand 'x' (a slot or a constant), at this point. */
static int readarg (Builder *B, ir_Arg x) {
  if (ir_isconst(x)) {
    int k = ir_constidx(x);
    if (B->constatom[k] < 0)
      B->constatom[k] = newatom(B, PA_CONST, 0, k, 0);
    return B->constatom[k];
  }
  if (B->sym[x] == UNSET) {  /* first read, before any write: entry value */
    if (x == B->ir->index) {
      if (B->indexstate < 0) B->indexstate = newstate(B, PS_INDEX, x);
      B->sym[x] = row2h(unitrow(B, B->indexstate));
    }
    else if (B->written[x]) {
      B->stateof[x] = newstate(B, PS_SLOT, x);
      B->sym[x] = row2h(unitrow(B, B->stateof[x]));
    }
    else {
      B->inputatom[x] = newatom(B, PA_INPUT, 0, x, 0);
      B->sym[x] = B->inputatom[x];
    }
  }
  return B->sym[x];
}


/* A type-program reference to operand 'x': its slot, or its atom. */
static int typeref (Builder *B, ir_Arg x) {
  return ir_isconst(x) ? -1 - B->constatom[ir_constidx(x)] : x;
}


static plan_Type *newtype (Builder *B, plan_TypeKind kind, int a) {
  plan_Type *t;
  cpm_assert(B->p->ntypes < B->maxtypes);
  t = &B->p->types[B->p->ntypes++];
  t->kind = kind; t->a = a; t->aop = 0; t->x = t->y = 0; t->row = -1;
  t->factor = -1;
  return t;
}


/* Records the bounds row of a computed value. */
static int boundrow (Builder *B, int r) {
  cpm_assert(B->p->nbrows < B->maxbrows);
  B->brow[B->p->nbrows] = r;
  return B->p->nbrows++;
}


/* The reduction mark of operand 'x' at this point. */
static int redof (Builder *B, ir_Arg x) {
  if (ir_isconst(x)) return RED_NONE;
  if (B->red[x] != RED_ENTRY) return B->red[x];
  return B->stateof[x] >= 0 ? 2 + B->stateof[x] : RED_NONE;
}


static int step_move (Builder *B, const ir_Op *op) {
  int h = readarg(B, op->b);
  B->red[op->a] = redof(B, op->b);
  if (ishrow(h)) {
    plan_Type *t = newtype(B, PT_MOVE, op->a);
    t->x = op->b;  /* a slot: constants are atoms */
  }
  else
    newtype(B, PT_ATOM, op->a)->x = h;
  B->sym[op->a] = h;
  return 1;
}


static int step_arith (Builder *B, const ir_Op *op) {
  int hb = readarg(B, op->b), hc = readarg(B, op->c);
  int r;
  plan_Type *t;
  B->red[op->a] = RED_NONE;
  if (!ishrow(hb) && !ishrow(hc)) {  /* hoisted */
    int a = newatom(B, op->code == IR_INDEX ? PA_INDEX : PA_ARITH,
                    op->aop, hb, hc);
    newtype(B, PT_ATOM, op->a)->x = a;
    B->sym[op->a] = a;
    if (op->code == IR_ARITH && op->aop == IR_MOD) B->red[op->a] = redatom(hc);
    return 1;
  }
  if (op->code == IR_INDEX)
    return refuse(B, op->line, CPM_R_FIELD_CARRIED, ishrow(hb) ? "table" : "key");
  switch (op->aop) {
    case IR_ADD: case IR_SUB:
      r = rowaddsub(B, torow(B, hb), torow(B, hc), op->aop == IR_SUB);
      break;
    case IR_MUL:
      if (ishrow(hb) && ishrow(hc)) {
        r = rowmul(B, h2row(hb), h2row(hc), op->line);
        if (r < 0) return 0;
      }
      else
        r = ishrow(hb) ? rowscale(B, h2row(hb), hc, 0)
                       : rowscale(B, h2row(hc), hb, 1);
      break;
    case IR_MOD:  /* row % atom: the same row, in Z/m */
      if (ishrow(hc))
        return refuse(B, op->line, CPM_R_OP_CARRIED, ir_aopname(op->aop));
      if (B->modatom >= 0 && B->modatom != hc)
        return refuse(B, op->line, CPM_R_MOD_DIFFERENT);
      if (B->modatom < 0) B->modline = op->line;
      B->modatom = hc;
      r = h2row(hb);
      break;
    default:
      B->bitwise = op->aop >= IR_BAND && op->aop <= IR_SHR;
      return refuse(B, op->line, CPM_R_OP_CARRIED, ir_aopname(op->aop));
  }
  t = newtype(B, PT_ARITH, op->a);
  t->aop = op->aop;
  t->x = typeref(B, op->b);
  t->y = typeref(B, op->c);
  t->row = boundrow(B, r);
  if (op->aop == IR_MUL)
    t->factor = !ishrow(hb) ? hb : !ishrow(hc) ? hc
                : op->b == op->c ? -1 : PLAN_PRODUCT;
  B->sym[op->a] = row2h(r);
  B->red[op->a] = op->aop == IR_MOD ? RED_MOD : RED_NONE;
  return 1;
}


static int step_unary (Builder *B, const ir_Op *op) {
  int h = readarg(B, op->b);
  int r;
  plan_Type *t;
  B->red[op->a] = RED_NONE;
  if (!ishrow(h)) {
    int a = newatom(B, PA_ARITH, op->aop, h, h);
    newtype(B, PT_ATOM, op->a)->x = a;
    B->sym[op->a] = a;
    return 1;
  }
  if (op->aop != IR_UNM) {
    B->bitwise = op->aop == IR_BNOT;
    return refuse(B, op->line, CPM_R_OP_CARRIED, ir_aopname(op->aop));
  }
  r = rowneg(B, h2row(h));
  t = newtype(B, PT_UNM, op->a);
  t->x = op->b;
  t->row = boundrow(B, r);
  B->sym[op->a] = row2h(r);
  return 1;
}


static int walk (Builder *B) {
  const ir_Loop *ir = B->ir;
  int i;
  for (i = 0; i < ir->nops; i++) {
    const ir_Op *op = &ir->ops[i];
    int ok;
    B->curop = i;
    switch (op->code) {
      case IR_MOVE: ok = step_move(B, op); break;
      case IR_ARITH: case IR_INDEX: ok = step_arith(B, op); break;
      case IR_UNARY: ok = step_unary(B, op); break;
      case IR_IF: return refuse(B, op->line, CPM_R_BRANCH);
      case IR_LOOP: return refuse(B, op->line, CPM_R_NESTED);
      default: return refuse(B, op->line, CPM_R_IR_UNKNOWN);
    }
    if (!ok) return 0;
  }
  B->curop = -1;
  return 1;
}

/* }====================================================== */


/* {======================================================
** Validation, outputs and the final layout
** ======================================================= */

static int badarg (const ir_Loop *ir, ir_Arg x) {
  return ir_isconst(x) ? ir_constidx(x) >= ir->nk : x >= ir->nslots;
}


/* Checks the IR's shape; fills 'written'. */
static int validate (Builder *B) {
  const ir_Loop *ir = B->ir;
  int i;
  if (ir->nslots < 0 || ir->nslots > IR_MAXSLOTS || ir->nops < 0 ||
      ir->nops > IR_MAXOPS || ir->nk < 0 || ir->index >= ir->nslots ||
      ir->index < -1)
    return refuse(B, ir->line, CPM_R_TOO_LARGE);
  for (i = 0; i < ir->nops; i++) {
    const ir_Op *op = &ir->ops[i];
    if (op->code == IR_IF || op->code == IR_LOOP) continue;  /* refused later */
    if (op->a < 0 || op->a >= ir->nslots || badarg(ir, op->b) ||
        ((op->code == IR_ARITH || op->code == IR_INDEX) && badarg(ir, op->c)) ||
        ((op->code == IR_ARITH || op->code == IR_UNARY) &&
         (op->aop < 0 || op->aop >= IR_NAOP ||
          (op->code == IR_UNARY) != (op->aop == IR_UNM || op->aop == IR_BNOT))) ||
        op->n2 < 0 || (op->n2 > 0 && (op->n2 - 1 >= ir->nslots ||
                                      op->n1 <= IR_FN_NONE || op->n1 >= IR_NFN)) ||
        op->count < IR_COUNT_LUA || op->count > IR_COUNT_BIT32SUB)
      return refuse(B, op->line, CPM_R_IR_MALFORMED);
    B->written[op->a] = 1;
    if (ir->escapes == NULL || ir->escapes[op->a]) B->p->effects = 1;
  }
  return 1;
}


void plan_copyconsts (lua_State *L, const ir_Loop *ir, ir_Const **k,
                      int *nk) {
  int i;
  *nk = 0;
  *k = (ir_Const *)zalloc(L, (size_t)ir->nk + 1, sizeof(ir_Const));
  for (i = 0; i < ir->nk; i++) {
    ir_Const *c = &(*k)[i];
    *c = ir->k[i];
    if (ir->k[i].type == IR_KSTR) {
      char *s = (char *)malloc(ir->k[i].u.s.len + 1);
      c->type = IR_KNIL;  /* until the copy is owned */
      if (s == NULL) luaL_error(L, "cpm: not enough memory to plan the loop");
      memcpy(s, ir->k[i].u.s.s, ir->k[i].u.s.len);
      s[ir->k[i].u.s.len] = '\0';
      c->u.s.s = s;
      c->type = IR_KSTR;
    }
    *nk = i + 1;
  }
}


void plan_freeconsts (ir_Const *k, int nk) {
  int i;
  for (i = 0; k != NULL && i < nk; i++)
    if (k[i].type == IR_KSTR) free((void *)k[i].u.s.s);
  free(k);
}


void plan_pushconst (lua_State *L, const ir_Const *k) {
  switch (k->type) {
    case IR_KNIL: lua_pushnil(L); break;
    case IR_KFALSE: lua_pushboolean(L, 0); break;
    case IR_KTRUE: lua_pushboolean(L, 1); break;
    case IR_KINT: lua_pushinteger(L, (lua_Integer)k->u.i); break;
    case IR_KFLT: lua_pushnumber(L, (lua_Number)k->u.n); break;
    case IR_KSTR: lua_pushlstring(L, k->u.s.s, k->u.s.len); break;
  }
}


/* Does state 'from' depend on state 'to' through the updates (or is it)?
   'seen' is nstate bytes of scratch. */
static int dependson (Builder *B, const int *update, int from, int to,
                      unsigned char *seen) {
  plan_Plan *p = B->p;
  int *stack = B->cols;  /* each state is pushed once */
  int top = 0, found = 0;
  memset(seen, 0, (size_t)p->nstate);
  stack[top++] = from;
  seen[from] = 1;
  while (top > 0 && !found) {
    int s = stack[--top], j;
    if (s == to) found = 1;
    if (update[s] < 0) continue;
    for (j = 0; j < p->nstate; j++) {
      int f[PLAN_MAXDEGREE], n, m;
      if (rowp(B, update[s])[1 + j] == PLAN_ZERO) continue;
      n = factors(B, j, f);
      for (m = 0; m < n; m++)
        if (!seen[f[m]]) { seen[f[m]] = 1; stack[top++] = f[m]; }
    }
  }
  return found;
}


/*
** Is the body solvable?  A monomial of degree >= 2 in the update of a
** carried value must not have a factor that depends on that value:
** otherwise the degree grows with every iteration (r = r * i, x = x * x).
*/
static int solvable (Builder *B, const int *update) {
  plan_Plan *p = B->p;
  int s, j, ok = 1;
  unsigned char *seen = (unsigned char *)scratch(B, (size_t)p->nstate + 1, 1);
  for (s = 0; s < p->nstate && ok; s++) {
    if (p->state[s].kind != PS_SLOT) continue;
    for (j = 0; j < p->nstate && ok; j++) {
      const plan_State *m = &p->state[j];
      int f;
      if (m->kind != PS_MONO || rowp(B, update[s])[1 + j] == PLAN_ZERO)
        continue;
      for (f = 0; f < m->nfac && ok; f++)
        if (dependson(B, update, m->fac[f], s, seen)) {
          B->curop = B->monoop[j];
          ok = refuse(B, B->monoline[j], CPM_R_DEGREE_GROWS);
          B->curop = -1;
        }
    }
  }
  return ok;
}


/* The update of every monomial state: the product of its factors'
   updates (new monomials are appended, and get theirs in turn). */
static int monoupdates (Builder *B, int *update) {
  plan_Plan *p = B->p;
  int s;
  for (s = 0; s < p->nstate; s++) {
    const plan_State *st = &p->state[s];
    int r, f;
    if (st->kind != PS_MONO) continue;
    r = update[st->fac[0]];
    B->curop = B->monoop[s];  /* a new monomial is named by its origin */
    for (f = 1; f < st->nfac; f++) {
      r = rowmul(B, r, update[st->fac[f]], B->monoline[s]);
      if (r < 0) return 0;
    }
    B->curop = -1;
    update[s] = r;
  }
  return 1;
}


/*
** Modular loops: is every carried value reduced at the end of the body,
** or a copy of the entry value of one that is (so reduced from the
** second iteration on: the guard needs more iterations than states)?
** The least set of such states, grown to a fixed point from the values a
** '%' makes (a state that only copies itself is never reduced).
*/
static int allreduced (Builder *B) {
  plan_Plan *p = B->p;
  unsigned char *ok = (unsigned char *)scratch(B, (size_t)p->nstate + 1, 1);
  int s, i, changed;
  for (s = 0; s < p->nstate; s++) ok[s] = 0;
  do {
    changed = 0;
    for (s = 0; s < p->nstate; s++) {
      int f;
      if (p->state[s].kind != PS_SLOT || ok[s]) continue;
      f = redof(B, p->state[s].slot);
      if (f == RED_MOD || f == redatom(B->modatom) || (f >= 2 && ok[f - 2]))
        ok[s] = 1, changed = 1;
    }
  } while (changed);
  for (s = 0; s < p->nstate; s++)
    if (p->state[s].kind == PS_SLOT && !ok[s]) break;
  for (i = 0; s == p->nstate && i < p->nout; i++) {
    int f = redof(B, p->out[i].slot);
    if (p->out[i].atom >= 0) continue;  /* an invariant: pushed as it is */
    if (!(f == RED_MOD || (f >= 2 && ok[f - 2]))) break;
  }
  if (s < p->nstate || i < p->nout)
    return refuse(B, B->modline, CPM_R_MOD_MIXED);
  return 1;
}


/* Builds the final update rows, outputs and liveness. */
static int finish (Builder *B, int *update) {
  const ir_Loop *ir = B->ir;
  plan_Plan *p = B->p;
  int s, i, changed;
  for (s = 0; s < B->maxstate; s++) update[s] = -1;
  /* update rows of carried slots (sinks and monomials are added below) */
  for (s = 0; s < p->nstate; s++) {
    const plan_State *st = &p->state[s];
    if (st->kind == PS_SLOT)
      update[s] = torow(B, B->sym[st->slot]);
    else if (st->kind == PS_INDEX) {  /* counter + step */
      int r = unitrow(B, s);
      rowp(B, r)[0] = newcoef(B, PC_ATOM, B->stepatom, 0, 0);
      update[s] = r;
    }
  }
  /* outputs */
  for (s = 0; s < ir->nslots; s++) {
    plan_Out *o;
    if (!B->written[s] || s == ir->index || !ir->liveout || !ir->liveout[s])
      continue;
    o = &p->out[p->nout++];
    o->slot = s; o->state = -1; o->atom = -1;
    if (B->stateof[s] >= 0)
      o->state = B->stateof[s];
    else if (!ishrow(B->sym[s]))
      o->atom = B->sym[s];
    else {
      int st = newstate(B, PS_SINK, s);
      update[st] = h2row(B->sym[s]);
      o->state = st;
    }
  }
  if (B->nmonos > 0 && (!solvable(B, update) || !monoupdates(B, update)))
    return 0;
  if (B->modatom >= 0 && !allreduced(B)) return 0;
  p->nmonos = B->nmonos;
  p->modatom = B->modatom;
  /* liveness: outputs, then closure through the update rows */
  for (i = 0; i < p->nout; i++)
    if (p->out[i].state >= 0) p->state[p->out[i].state].live = 1;
  do {
    changed = 0;
    for (s = 0; s < p->nstate; s++) {
      int j;
      if (!p->state[s].live) continue;
      for (j = 0; j < p->nstate; j++)
        if (!p->state[j].live && rowp(B, update[s])[1 + j] != PLAN_ZERO) {
          p->state[j].live = 1;
          changed = 1;
        }
    }
  } while (changed);
  return 1;
}


/*
** Which outputs can a float -0.0 reach?  A forward "may be -0.0" analysis of
** the body, iterated to its fixed point over the iterations: every *, unary
** op, hoisted op and field read may make one (the guard checks nothing
** about them when this says no); a + b is -0.0 only if both are, a - b
** only if a is; entry values are not -0.0 (the guard refuses those that
** are), the loop variable may be.  IEEE 754, section 6.3.
*/
static void mayneg0 (Builder *B) {
  const ir_Loop *ir = B->ir;
  int n = ir->nslots, changed, i, s;
  unsigned char *start = (unsigned char *)zalloc(B->L, 2 * (size_t)n + 2, 1);
  unsigned char *cur = start + n + 1;
#define ng(x)	(!ir_isconst(x) && cur[x])
  if (ir->index >= 0) start[ir->index] = 1;
  do {
    memcpy(cur, start, (size_t)n);
    for (i = 0; i < ir->nops; i++) {
      const ir_Op *op = &ir->ops[i];
      unsigned char v = 1;
      if (op->code == IR_MOVE) v = ng(op->b);
      else if (op->code == IR_ARITH && op->aop == IR_ADD)
        v = ng(op->b) && ng(op->c);
      else if (op->code == IR_ARITH && op->aop == IR_SUB) v = ng(op->b);
      if (op->code != IR_IF && op->code != IR_LOOP) cur[op->a] = v;
    }
    changed = 0;
    for (s = 0; s < n; s++)
      if (cur[s] && !start[s]) start[s] = changed = 1;
  } while (changed);
#undef ng
  for (i = 0; i < B->p->nout; i++)
    B->p->out[i].mayneg0 = cur[B->p->out[i].slot];
  free(start);
}


/* Copies row 'r' into plan layout: states 0..nstate-1, constant last. */
static void putrow (Builder *B, int *dst, int r) {
  int n = B->p->nstate, j;
  const int *src = rowp(B, r);
  for (j = 0; j < n; j++) dst[j] = src[1 + j];
  dst[n] = src[0];
}


static void layout (Builder *B, const int *update) {
  plan_Plan *p = B->p;
  int n = p->nstate, i, s;
  size_t w = (size_t)n + 1;
  p->rows = (int *)zalloc(B->L, (size_t)n * w, sizeof(int));
  for (s = 0; s < n; s++) putrow(B, &p->rows[(size_t)s * w], update[s]);
  p->brows = (int *)zalloc(B->L, (size_t)p->nbrows * w, sizeof(int));
  for (i = 0; i < p->nbrows; i++)
    putrow(B, &p->brows[(size_t)i * w], B->brow[i]);
  /* inputs: every slot whose entry value is used, in slot order */
  p->slot_in = (int *)zalloc(B->L, (size_t)p->nslots + 1, sizeof(int));
  p->in = (int *)zalloc(B->L, (size_t)p->nslots + 1, sizeof(int));
  for (s = 0; s < p->nslots; s++) {
    p->slot_in[s] = -1;
    if (s == p->index) continue;  /* the counter comes from the control */
    if (B->stateof[s] >= 0 || B->inputatom[s] >= 0) {
      p->slot_in[s] = p->nin;
      p->in[p->nin++] = s;
    }
  }
}


static int countused (const ir_Loop *ir) {
  unsigned char *seen;
  int i, n = 0;
  seen = (unsigned char *)calloc((size_t)ir->nslots + 1, 1);
  if (seen == NULL) return ir->nslots;
  for (i = 0; i < ir->nops; i++) {
    const ir_Op *op = &ir->ops[i];
    ir_Arg args[4];
    int j;
    args[0] = op->a; args[1] = op->b; args[2] = op->c; args[3] = op->d;
    for (j = 0; j < 4; j++)
      if (args[j] >= 0 && args[j] < ir->nslots && !seen[args[j]]) {
        seen[args[j]] = 1;
        n++;
      }
  }
  free(seen);
  return n;
}


static Box *newbox (lua_State *L) {
  Box *box = (Box *)cpm_newuserdata(L, sizeof(Box));
  memset(box, 0, sizeof(Box));
  if (luaL_newmetatable(L, PLAN_MT)) {
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return box;
}


plan_Plan *plan_newbox (lua_State *L) {
  return &newbox(L)->p;
}


static int hasloop (const ir_Loop *ir) {
  int i;
  for (i = 0; i >= 0 && i < ir->nops && i < IR_MAXOPS; i++)
    if (ir->ops[i].code == IR_LOOP) return 1;
  return 0;
}


static int hasbranch (const ir_Loop *ir) {
  int i;
  for (i = 0; i >= 0 && i < ir->nops && i < IR_MAXOPS; i++)
    if (ir->ops[i].code == IR_IF) return 1;
  return 0;
}


plan_Plan *plan_make (lua_State *L, const ir_Loop *ir, plan_Refusal *why) {
  Builder B;
  Box *box;
  plan_Plan *p;
  int used, *update;
  if (ir->kind == IR_WHILE || ir->kind == IR_REPEAT)
    return plan_while_make(L, ir, why);
  /* a nest with branches: plan_branch.c takes the path, plan_nest.c (by
     plan_make again) plans it */
  if (hasbranch(ir)) return plan_branch_make(L, ir, why);
  if (hasloop(ir)) return plan_nest_make(L, ir, why);
  memset(&B, 0, sizeof(B));
  B.L = L; B.ir = ir; B.why = why;
  B.curop = -1;
  why->line = ir->line; why->msg[0] = '\0';
  box = newbox(L);
  B.box = box;
  B.p = p = &box->p;
  p->kind = ir->kind; p->line = ir->line;
  p->nslots = ir->nslots; p->index = ir->index;
  B.written = (unsigned char *)scratch(&B, (size_t)ir->nslots + 1, 1);
  if (!validate(&B)) goto refused;
  used = countused(ir);
  B.maxstate = 2 * used + 2 + PLAN_MAXMONOS;
  B.W = B.maxstate + 1;
  B.maxrows = 2 * ir->nops + B.maxstate + 8;
  B.pool = (int *)scratch(&B, (size_t)B.maxrows * (size_t)B.W, sizeof(int));
  B.maxatoms = ir->nslots + ir->nk + ir->nops + 2;
  p->atoms = (plan_Atom *)zalloc(L, (size_t)B.maxatoms, sizeof(plan_Atom));
  B.maxcoefs = 64 + 4 * ir->nops;
  p->coefs = (plan_Coef *)zalloc(L, (size_t)B.maxcoefs, sizeof(plan_Coef));
  p->state = (plan_State *)zalloc(L, (size_t)B.maxstate, sizeof(plan_State));
  B.maxtypes = ir->nops + 1;
  p->types = (plan_Type *)zalloc(L, (size_t)B.maxtypes, sizeof(plan_Type));
  B.maxbrows = ir->nops + 1;
  B.brow = (int *)scratch(&B, (size_t)B.maxbrows, sizeof(int));
  p->out = (plan_Out *)zalloc(L, (size_t)ir->nslots + 1, sizeof(plan_Out));
  B.sym = (int *)scratch(&B, (size_t)ir->nslots + 1, sizeof(int));
  B.stateof = (int *)scratch(&B, (size_t)ir->nslots + 1, sizeof(int));
  B.inputatom = (int *)scratch(&B, (size_t)ir->nslots + 1, sizeof(int));
  B.constatom = (int *)scratch(&B, (size_t)ir->nk + 1, sizeof(int));
  update = (int *)scratch(&B, (size_t)B.maxstate, sizeof(int));
  B.monoline = (int *)scratch(&B, (size_t)B.maxstate, sizeof(int));
  B.monoop = (int *)scratch(&B, (size_t)B.maxstate, sizeof(int));
  B.cols = (int *)scratch(&B, 2 * (size_t)B.W, sizeof(int));
  B.red = (int *)scratch(&B, (size_t)ir->nslots + 1, sizeof(int));
  B.modatom = -1;
  p->modatom = -1;
  {
    int s;
    for (s = 0; s < ir->nslots; s++) {
      B.sym[s] = UNSET; B.stateof[s] = -1; B.inputatom[s] = -1;
      B.red[s] = RED_ENTRY;
    }
    for (s = 0; s < ir->nk; s++) B.constatom[s] = -1;
  }
  B.indexstate = -1;
  B.stepatom = newatom(&B, PA_STEP, 0, 0, 0);
  if (!walk(&B)) {
    if (!B.bitwise) goto refused;
    lua_pop(L, 1);  /* the affine attempt: collected later */
    return plan_gf2_make(L, ir, why);
  }
  if (!finish(&B, update)) goto refused;
  mayneg0(&B);
  if (p->nstate + 1 > MAT_KMAX) {  /* the engine's limit, and the bound's */
    refuse(&B, ir->line, CPM_R_TOO_MANY_VALUES, MAT_KMAX - 1);
    goto refused;
  }
  layout(&B, update);
  plan_copyconsts(L, ir, &p->k, &p->nk);
  free_scratch(box);
  return p;
refused:
  lua_pop(L, 1);  /* the box: collected later, frees what it holds */
  return NULL;
}


plan_Plan *plan_test (lua_State *L, int idx) {
  Box *box = (Box *)cpm_testudata(L, idx, PLAN_MT);
  return box != NULL && !box->dead ? &box->p : NULL;
}

/* }====================================================== */
