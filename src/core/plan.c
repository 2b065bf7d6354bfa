/*
** plan.c -- the planner: from a loop's IR to a plan (plan.h), or to the
** reason why the loop cannot be planned.
**
** One iteration of the body is executed symbolically.  Every slot holds
** either an atom (a value that is the same in every iteration) or an
** affine row over the state at iteration start.  An op whose operands are
** all atoms is hoisted: it becomes a new atom, evaluated once at loop entry
** with the VM's own arithmetic, whatever the operator.  The other ops must
** be affine: + and - of rows, unary minus, and * by an atom.
*/
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "plan_gf2.h"


#define UNSET		INT_MIN		/* a slot not yet read or written */
#define ishrow(h)	((h) < 0 && (h) != UNSET)
#define h2row(h)	(-1 - (h))
#define row2h(r)	(-1 - (r))


/* The userdata that owns a plan and every array of it. */
typedef struct Box {
  plan_Plan p;
  void *scratch[8];	/* the builder's arrays, freed with the box */
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
} Builder;


static const char *const aopnames[] = {
  "+", "-", "*", "%", "^", "/", "//", "&", "|", "~", "<<", ">>", "-", "~"
};

const char *ir_aopname (int aop) {
  return (aop >= 0 && aop < IR_NAOP) ? aopnames[aop] : "?";
}


static int refuse (Builder *B, int line, const char *fmt, const char *arg) {
  B->why->line = line;
  snprintf(B->why->msg, sizeof(B->why->msg), fmt, arg);
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
  free(p->slot_in); free(p->gops); free(p->gupd);
  for (i = 0; p->k != NULL && i < (size_t)p->nk; i++)
    if (p->k[i].type == IR_KSTR) free((void *)p->k[i].u.s.s);
  free(p->k);
  memset(p, 0, sizeof(*p));
  for (i = 0; i < sizeof(box->scratch) / sizeof(box->scratch[0]); i++) {
    free(box->scratch[i]);
    box->scratch[i] = NULL;
  }
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
** Symbolic execution of one iteration
** ======================================================= */

static int newstate (Builder *B, plan_StateKind kind, int slot) {
  plan_Plan *p = B->p;
  cpm_assert(p->nstate < B->maxstate);
  p->state[p->nstate].kind = kind;
  p->state[p->nstate].slot = slot;
  p->state[p->nstate].live = 0;
  return p->nstate++;
}


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


static int step_move (Builder *B, const ir_Op *op) {
  int h = readarg(B, op->b);
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
  if (!ishrow(hb) && !ishrow(hc)) {  /* hoisted */
    int a = newatom(B, op->code == IR_INDEX ? PA_INDEX : PA_ARITH,
                    op->aop, hb, hc);
    newtype(B, PT_ATOM, op->a)->x = a;
    B->sym[op->a] = a;
    return 1;
  }
  if (op->code == IR_INDEX)
    return refuse(B, op->line, "field read with a loop-carried %s",
                  ishrow(hb) ? "table" : "key");
  switch (op->aop) {
    case IR_ADD: case IR_SUB:
      r = rowaddsub(B, torow(B, hb), torow(B, hc), op->aop == IR_SUB);
      break;
    case IR_MUL:
      if (ishrow(hb) && ishrow(hc))
        return refuse(B, op->line, "multiplication of two loop-carried values%s", "");
      r = ishrow(hb) ? rowscale(B, h2row(hb), hc, 0)
                     : rowscale(B, h2row(hc), hb, 1);
      break;
    default:
      B->bitwise = op->aop >= IR_BAND && op->aop <= IR_SHR;
      return refuse(B, op->line, "operator '%s' applied to a loop-carried value",
                    ir_aopname(op->aop));
  }
  t = newtype(B, PT_ARITH, op->a);
  t->aop = op->aop;
  t->x = typeref(B, op->b);
  t->y = typeref(B, op->c);
  t->row = boundrow(B, r);
  if (op->aop == IR_MUL) t->factor = ishrow(hb) ? hc : hb;
  B->sym[op->a] = row2h(r);
  return 1;
}


static int step_unary (Builder *B, const ir_Op *op) {
  int h = readarg(B, op->b);
  int r;
  plan_Type *t;
  if (!ishrow(h)) {
    int a = newatom(B, PA_ARITH, op->aop, h, h);
    newtype(B, PT_ATOM, op->a)->x = a;
    B->sym[op->a] = a;
    return 1;
  }
  if (op->aop != IR_UNM) {
    B->bitwise = op->aop == IR_BNOT;
    return refuse(B, op->line, "operator '%s' applied to a loop-carried value",
                  ir_aopname(op->aop));
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
    switch (op->code) {
      case IR_MOVE: ok = step_move(B, op); break;
      case IR_ARITH: case IR_INDEX: ok = step_arith(B, op); break;
      case IR_UNARY: ok = step_unary(B, op); break;
      case IR_IF: return refuse(B, op->line, "branch in loop body%s", "");
      case IR_LOOP: return refuse(B, op->line, "nested loop in loop body%s", "");
      default: return refuse(B, op->line, "unknown IR op%s", "");
    }
    if (!ok) return 0;
  }
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
    return refuse(B, ir->line, "loop body too large%s", "");
  for (i = 0; i < ir->nops; i++) {
    const ir_Op *op = &ir->ops[i];
    if (op->code == IR_IF || op->code == IR_LOOP) continue;  /* refused later */
    if (op->a < 0 || op->a >= ir->nslots || badarg(ir, op->b) ||
        ((op->code == IR_ARITH || op->code == IR_INDEX) && badarg(ir, op->c)) ||
        ((op->code == IR_ARITH || op->code == IR_UNARY) &&
         (op->aop < 0 || op->aop >= IR_NAOP ||
          (op->code == IR_UNARY) != (op->aop == IR_UNM || op->aop == IR_BNOT))))
      return refuse(B, op->line, "malformed loop IR%s", "");
    B->written[op->a] = 1;
  }
  return 1;
}


void plan_copyconsts (lua_State *L, plan_Plan *p, const ir_Loop *ir) {
  int i;
  p->k = (ir_Const *)zalloc(L, (size_t)ir->nk + 1, sizeof(ir_Const));
  for (i = 0; i < ir->nk; i++) {
    p->k[i] = ir->k[i];
    if (ir->k[i].type == IR_KSTR) {
      char *s = (char *)malloc(ir->k[i].u.s.len + 1);
      p->k[i].type = IR_KNIL;  /* until the copy is owned */
      if (s == NULL) luaL_error(L, "cpm: not enough memory to plan the loop");
      memcpy(s, ir->k[i].u.s.s, ir->k[i].u.s.len);
      s[ir->k[i].u.s.len] = '\0';
      p->k[i].u.s.s = s;
      p->k[i].type = IR_KSTR;
    }
    p->nk = i + 1;
  }
}


/* Builds the final update rows, outputs and liveness. */
static void finish (Builder *B, int *update) {
  const ir_Loop *ir = B->ir;
  plan_Plan *p = B->p;
  int s, i, changed;
  /* update rows of carried slots (sinks are added below) */
  for (s = 0; s < p->nstate; s++) {
    const plan_State *st = &p->state[s];
    if (st->kind == PS_SLOT)
      update[s] = torow(B, B->sym[st->slot]);
    else {  /* PS_INDEX: counter + step */
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


plan_Plan *plan_make (lua_State *L, const ir_Loop *ir, plan_Refusal *why) {
  Builder B;
  Box *box;
  plan_Plan *p;
  int used, *update;
  memset(&B, 0, sizeof(B));
  B.L = L; B.ir = ir; B.why = why;
  why->line = ir->line; why->msg[0] = '\0';
  box = newbox(L);
  B.box = box;
  B.p = p = &box->p;
  p->kind = ir->kind; p->line = ir->line;
  p->nslots = ir->nslots; p->index = ir->index;
  B.written = (unsigned char *)scratch(&B, (size_t)ir->nslots + 1, 1);
  if (!validate(&B)) goto refused;
  used = countused(ir);
  B.maxstate = 2 * used + 2;
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
  {
    int s;
    for (s = 0; s < ir->nslots; s++) {
      B.sym[s] = UNSET; B.stateof[s] = -1; B.inputatom[s] = -1;
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
  finish(&B, update);
  layout(&B, update);
  plan_copyconsts(L, p, ir);
  free_scratch(box);
  return p;
refused:
  lua_pop(L, 1);  /* the box: collected later, frees what it holds */
  return NULL;
}


plan_Plan *plan_test (lua_State *L, int idx) {
  Box *box = (Box *)cpm_testudata(L, idx, PLAN_MT);
  return box ? &box->p : NULL;
}

/* }====================================================== */
