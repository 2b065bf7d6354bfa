/*
** plan_gf2.c -- planning xor/shift/mask loop bodies over GF(2).
**
** A Lua 5.4 integer is a vector of 64 bits.  x ~ y, x << c and x >> c (c
** fixed), x & m and x | m (m fixed) and ~x are affine maps of those bits,
** so a body made of them (and moves) is one affine map of the state's
** bits: n iterations are its n-th power (mat_gf2.c).  Here the body is
** executed once symbolically: each slot holds an atom (an invariant,
** hoisted and evaluated at entry as in plan.c) or a form (a value that
** depends on the state), and every op on a form is recorded as a GF(2)
** op for the guard (guard_gf2.c), which builds the actual map from the
** invariants' values at loop entry.
*/
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan_gf2.h"
#include "reasons.h"

#define UNSET		INT_MIN
#define isform(h)	((h) < 0 && (h) != UNSET)
#define h2form(h)	(-1 - (h))
#define form2h(f)	(-1 - (f))



typedef struct GBuilder {
  lua_State *L;
  const ir_Loop *ir;
  plan_Plan *p;
  plan_Refusal *why;
  int maxatoms, maxgops, maxstate, maxcalls;
  int *sym;		/* slot -> atom (>= 0), form handle (< 0) or UNSET */
  int *stateof;		/* slot -> its PS_SLOT state, or -1 */
  int *inputatom;	/* slot -> its PA_INPUT atom, or -1 */
  int *constatom;	/* constant -> its PA_CONST atom, or -1 */
  unsigned char *written;
  int curop;		/* the op being planned (its text ends a reason), or -1 */
} GBuilder;


static int refuse (GBuilder *B, int line, cpm_Reason r, ...) {
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


static void *zalloc (lua_State *L, size_t n, size_t size) {
  void *b = calloc(n ? n : 1, size);
  if (b == NULL) luaL_error(L, "cpm: not enough memory to plan the loop");
  return b;
}


static int newatom (GBuilder *B, plan_AtomKind kind, int aop, int x, int y) {
  plan_Atom *a;
  cpm_assert(B->p->natoms < B->maxatoms);
  a = &B->p->atoms[B->p->natoms];
  a->kind = kind; a->aop = aop; a->x = x; a->y = y;
  return B->p->natoms++;
}


/* A new form: op 'aop' on operands x, y (operand encoding of plan_GOp). */
static int newform (GBuilder *B, int aop, int x, int y) {
  plan_GOp *o;
  cpm_assert(B->p->ngops < B->maxgops);
  o = &B->p->gops[B->p->ngops];
  o->aop = aop; o->x = x; o->y = y;
  o->count = IR_COUNT_LUA;
  return form2h(B->p->ngops++);
}


/* A handle as a plan_GOp operand. */
static int operand (int h) {
  return isform(h) ? h2form(h) : -1 - h;
}


static int newstate (GBuilder *B, plan_StateKind kind, int slot) {
  plan_Plan *p = B->p;
  if (p->nstate >= PLAN_GF2_MAXWORDS) {
    B->curop = -1;  /* a limit of the loop's, not of one op */
    refuse(B, B->ir->line, CPM_R_GF2_WORDS, PLAN_GF2_MAXWORDS);
    return -1;
  }
  p->state[p->nstate].kind = kind;
  p->state[p->nstate].slot = slot;
  p->state[p->nstate].live = 1;
  return p->nstate++;
}


/* The handle of operand 'x' at this point, or UNSET after a refusal. */
static int readarg (GBuilder *B, ir_Arg x, int line) {
  if (ir_isconst(x)) {
    int k = ir_constidx(x);
    if (B->constatom[k] < 0)
      B->constatom[k] = newatom(B, PA_CONST, 0, k, 0);
    return B->constatom[k];
  }
  if (B->sym[x] == UNSET) {
    if (x == B->ir->index)
      return refuse(B, line, CPM_R_COUNTER_BITWISE), UNSET;
    if (B->written[x]) {
      int s = newstate(B, PS_SLOT, x);
      if (s < 0) return UNSET;
      B->stateof[x] = s;
      B->sym[x] = newform(B, PLAN_GENTRY, s, 0);
    }
    else B->sym[x] = B->inputatom[x] = newatom(B, PA_INPUT, 0, x, 0);
  }
  return B->sym[x];
}


/* The function called by 'op' (ir.h, n1 and n2): an invariant, recorded
   for the guard to compare with the library's own. */
static int call (GBuilder *B, const ir_Op *op) {
  plan_Plan *p = B->p;
  int h;
  if (op->n2 <= 0) return 1;
  if ((h = readarg(B, op->n2 - 1, op->line)) == UNSET) return 0;
  if (isform(h)) return refuse(B, op->line, CPM_R_CALL);
  cpm_assert(p->ncalls < B->maxcalls);
  p->calls[2 * p->ncalls] = h;
  p->calls[2 * p->ncalls + 1] = op->n1;
  p->ncalls++;
  return 1;
}


/*
** Is 'op' a bitwise op that only the GF(2) ring computes?  On LuaJIT,
** which has no bitwise operators, they come from calls of the bit
** library (findjit.c, lower.lua) on 32-bit values with the library's
** counts (ir_Op.count): an atom could not evaluate them, so an op of
** invariants is a form too, whose value depends on no state bit.
*/
static int bitdomain (const ir_Op *op) {
#if CPM_LUAJIT
  if (op->code == IR_UNARY) return op->aop == IR_BNOT;
  return op->code == IR_ARITH &&
         (op->aop == IR_BAND || op->aop == IR_BOR || op->aop == IR_BXOR ||
          op->aop == IR_SHL || op->aop == IR_SHR);
#else
  (void)op;
  return 0;
#endif
}


static int step (GBuilder *B, const ir_Op *op) {
  int hb, hc;
  if ((op->code == IR_ARITH || op->code == IR_UNARY) && !call(B, op))
    return 0;
  switch (op->code) {
    case IR_MOVE:
      if ((hb = readarg(B, op->b, op->line)) == UNSET) return 0;
      B->sym[op->a] = hb;
      return 1;
    case IR_IF: return refuse(B, op->line, CPM_R_BRANCH);
    case IR_LOOP: return refuse(B, op->line, CPM_R_NESTED);
    case IR_UNARY:
      if ((hb = readarg(B, op->b, op->line)) == UNSET) return 0;
      if (!isform(hb) && !bitdomain(op))
        B->sym[op->a] = newatom(B, PA_ARITH, op->aop, hb, hb);
      else if (op->aop == IR_BNOT)
        B->sym[op->a] = newform(B, IR_BNOT, operand(hb), operand(hb));
      else return refuse(B, op->line, CPM_R_MIX_BITWISE);
      return 1;
    case IR_ARITH: case IR_INDEX:
      if ((hb = readarg(B, op->b, op->line)) == UNSET ||
          (hc = readarg(B, op->c, op->line)) == UNSET)
        return 0;
      if (!isform(hb) && !isform(hc) && !bitdomain(op)) {
        B->sym[op->a] = newatom(B, op->code == IR_INDEX ? PA_INDEX : PA_ARITH,
                                op->aop, hb, hc);
        return 1;
      }
      if (op->code == IR_INDEX)
        return refuse(B, op->line, CPM_R_FIELD_CARRIED,
                      isform(hb) ? "table" : "key");
      switch (op->aop) {
        case IR_SHL: case IR_SHR:
          if (isform(hc)) return refuse(B, op->line, CPM_R_SHIFT_CARRIED);
          break;
        case IR_BAND: case IR_BOR: case IR_BXOR:
          break;
        default:
          return refuse(B, op->line, CPM_R_MIX_BITWISE);
      }
      B->sym[op->a] = newform(B, op->aop, operand(hb), operand(hc));
      if (op->aop == IR_SHL || op->aop == IR_SHR)
        B->p->gops[h2form(B->sym[op->a])].count = op->count;
      return 1;
    default:
      return refuse(B, op->line, CPM_R_IR_UNKNOWN);
  }
}


/* States' updates, sinks, outputs, inputs. */
static int finish (GBuilder *B) {
  const ir_Loop *ir = B->ir;
  plan_Plan *p = B->p;
  int s;
  for (s = 0; s < ir->nslots; s++) {
    plan_Out *o;
    if (!B->written[s] || s == ir->index || !ir->liveout || !ir->liveout[s])
      continue;
    o = &p->out[p->nout++];
    o->slot = s; o->state = -1; o->atom = -1;
    if (B->stateof[s] >= 0) o->state = B->stateof[s];
    else if (!isform(B->sym[s])) o->atom = B->sym[s];
    else if ((o->state = newstate(B, PS_SINK, s)) < 0) return 0;
  }
  p->gupd = (int *)zalloc(B->L, (size_t)p->nstate + 1, sizeof(int));
  for (s = 0; s < p->nstate; s++)
    p->gupd[s] = operand(B->sym[p->state[s].slot]);
  p->slot_in = (int *)zalloc(B->L, (size_t)p->nslots + 1, sizeof(int));
  p->in = (int *)zalloc(B->L, (size_t)p->nslots + 1, sizeof(int));
  for (s = 0; s < p->nslots; s++) {
    p->slot_in[s] = -1;
    if (B->stateof[s] >= 0 || B->inputatom[s] >= 0) {
      p->slot_in[s] = p->nin;
      p->in[p->nin++] = s;
    }
  }
  return 1;
}


plan_Plan *plan_gf2_make (lua_State *L, const ir_Loop *ir, plan_Refusal *why) {
  GBuilder B;
  plan_Plan *p;
  int *ints, i, ok = 1;
  size_t ns = (size_t)ir->nslots + 1;
  memset(&B, 0, sizeof(B));
  B.L = L; B.ir = ir; B.why = why;
  B.curop = -1;
  why->line = ir->line; why->msg[0] = '\0';
  p = plan_newbox(L);
  /* the builder's arrays: a userdata above the plan, collected later */
  ints = (int *)cpm_newbuffer(L, (4 * ns + (size_t)ir->nk + 1) * sizeof(int));
  B.sym = ints; B.stateof = ints + ns; B.inputatom = ints + 2 * ns;
  B.written = (unsigned char *)(ints + 3 * ns);
  B.constatom = ints + 4 * ns;
  memset(B.written, 0, ns * sizeof(int));
  for (i = 0; i < ir->nslots; i++) {
    B.sym[i] = UNSET; B.stateof[i] = B.inputatom[i] = -1;
  }
  for (i = 0; i < ir->nk; i++) B.constatom[i] = -1;
  for (i = 0; i < ir->nops; i++)
    if (ir->ops[i].code != IR_IF && ir->ops[i].code != IR_LOOP)
      B.written[ir->ops[i].a] = 1;
  B.p = p;
  p->ring = PLAN_GF2;
  p->modatom = -1;  /* no modular ring */
  p->kind = ir->kind; p->line = ir->line;
  p->nslots = ir->nslots; p->index = ir->index;
  B.maxatoms = ir->nslots + ir->nk + ir->nops + 2;
  p->atoms = (plan_Atom *)zalloc(L, (size_t)B.maxatoms, sizeof(plan_Atom));
  B.maxgops = ir->nops + PLAN_GF2_MAXWORDS + 1;
  p->gops = (plan_GOp *)zalloc(L, (size_t)B.maxgops, sizeof(plan_GOp));
  p->state = (plan_State *)zalloc(L, PLAN_GF2_MAXWORDS, sizeof(plan_State));
  p->out = (plan_Out *)zalloc(L, ns, sizeof(plan_Out));
  B.maxcalls = ir->nops;
  p->calls = (int *)zalloc(L, 2 * (size_t)ir->nops + 1, sizeof(int));
  for (i = 0; ok && i < ir->nops; i++) {
    B.curop = i;
    ok = step(&B, &ir->ops[i]);
  }
  B.curop = -1;
  if (ok) ok = finish(&B);
  lua_pop(L, 1);  /* the builder's arrays */
  if (!ok) {
    lua_pop(L, 1);  /* the plan: collected later */
    return NULL;
  }
  plan_copyconsts(L, ir, &p->k, &p->nk);
  return p;
}
