/*
** guard.c -- the runtime guard (see guard.h for the calling convention).
**
** At each entry of a planned loop, from the actual values:
**   1. count the iterations as the VM would (count.c); too few: run the loop;
**   2. evaluate the atoms (hoisted invariants) with the VM's arithmetic, in
**      a protected call: an error means "run the loop", which raises it;
**   3. replay the types of the body over the iterations until they repeat,
**      which gives every value's type and the result types;
**   4. choose the ring: all integers -> Z/2^64 (bit-identical to Lua 5.4,
**      wrap-around included); bignums -> exact Z, where every integer and
**      float value is proven not to wrap or round; floats alone -> exact
**      integers below 2^53, proven with a majorant of every value;
**   5. compute B^n v (mat.h) and push the final values.
*/
#include <stddef.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "big.h"
#include "bound.h"
#include "gmpmem.h"
#include "count.h"
#include "guard.h"
#include "guard_gf2.h"
#include "mat.h"
#include "mat_mod.h"
#include "mat_unipot.h"
#include "range.h"
#include "guard_while.h"

#define TWO53		9007199254740992.0
#define TWO63		9223372036854775808.0
#define HISTORY		32	/* iterations of type replay before giving up */
#define BIGMARGIN	64	/* bits kept below the bignum size limit */

#define bit(t)		(1u << (t))


/* Upvalues of a guard closure. */
enum { UP_CFG = 1, UP_PLAN, UP_LIMIT, UP_STRICT, UP_WHERE, UP_PREPARED,
       UP_HOOKS, UP_ID, UP_FALLBACKS, UP_GF2, UP_RECORD, UP_COUNTS,
       UP_ONFALLBACK, UP_ZCACHE, UP_N = UP_ZCACHE };


/* Everything one guard call works with. */
typedef struct Guard {
  lua_State *L;
  const plan_Plan *p;
  const cpm_Config *cfg;
  count_Loop c;
  int abase;		/* stack index of atom 0 */
  int ibase;		/* stack index of input 0 */
  const char *why;	/* reason to run the original loop */
  int transient;	/* 'why' says nothing of the next call (memory) */
  char whybuf[96];
  /* arrays in one scratch userdata */
  unsigned char *sty;	/* nslots: types of slots, this iteration */
  unsigned char *aty;	/* natoms: types of atoms */
  unsigned char *hist;	/* (HISTORY + 1) x nstate: state types at starts */
  /* unions of the types of each state and of each computed value, over
     the iterations before the types cycle (pre) and in the cycle (cyc) */
  unsigned *stpre, *stcyc;	/* nstate */
  unsigned *brpre, *brcyc;	/* nbrows */
  unsigned *brun;		/* brpre or brcyc: where replay records */
  int mu;			/* iterations before the cycle */
  unsigned char *fin;	/* nslots: slot types after the last iteration */
  int *live;		/* live states, in order; then -1 */
  int *pos;		/* state -> its position among live states, or -1 */
  int nlive;
  int negzero;		/* a float -0.0 could appear */
  int toobig;		/* the loop would surely exceed the bignum size limit */
  int counted;		/* 'c' holds the count */
  int below;		/* fewer iterations than the limit */
  union { double d; uint64_t u; char c[3072]; } buf;	/* small scratch */
  unsigned all;		/* union of every type */
} Guard;


static int fail (Guard *g, const char *why) {
  g->why = why;
  return 0;
}


static int failmem (Guard *g, const char *why) {
  g->transient = 1;
  return fail(g, why);
}


/* {======================================================
** Atoms
** ======================================================= */

#if CPM_LUA54

/* Pushes x aop y (y ignored for unary ops) with Lua's own semantics. */
static void arith (lua_State *L, int aop, int x, int y) {
  lua_pushvalue(L, x);
  if (aop != IR_UNM && aop != IR_BNOT) lua_pushvalue(L, y);
  lua_arith(L, aop);  /* IR_ADD.. follow LUA_OPADD.. */
}

#else

/* The operators LuaJIT has (ir.h). */
static const unsigned char injit[] = {
#define IR_AOP_JIT(name, sym, irname, event, jit)	jit,
  IR_AOPS(IR_AOP_JIT)
#undef IR_AOP_JIT
};

int guard_jitarith (int aop, double a, double b, double *r) {
  switch (aop) {
    case IR_ADD: *r = a + b; return 1;
    case IR_SUB: *r = a - b; return 1;
    case IR_MUL: *r = a * b; return 1;
    case IR_DIV: *r = a / b; return 1;
    case IR_MOD: *r = a - floor(a / b) * b; return 1;
    case IR_POW: *r = pow(a, b); return 1;
    case IR_UNM: *r = -a; return 1;
    default: return 0;
  }
}

/* LuaJIT has no lua_arith: numbers by the VM's rules, bignums by their
   metamethods, anything else an error. */
static void arith (lua_State *L, int aop, int x, int y) {
  if (lua_type(L, x) == LUA_TNUMBER && lua_type(L, y) == LUA_TNUMBER) {
    double r;
    if (!guard_jitarith(aop, lua_tonumber(L, x), lua_tonumber(L, y), &r))
      luaL_error(L, "operator not in LuaJIT");
    lua_pushnumber(L, r);
    return;
  }
  if (aop < 0 || aop >= IR_NAOP || !injit[aop] ||
      (!luaL_getmetafield(L, x, ir_aopevent(aop)) &&
       !luaL_getmetafield(L, y, ir_aopevent(aop))))
    luaL_error(L, "no arithmetic for these values");
  lua_pushvalue(L, x);
  lua_pushvalue(L, y);
  lua_call(L, 2, 1);
}

#endif


#if CPM_LUA54
static int isint (lua_State *L, int idx) {
  int ok;
  lua_tointegerx(L, idx, &ok);
  return ok;
}
#endif


void guard_pushok (lua_State *L, int nout) {
  luaL_checkstack(L, nout + 4, "too many loop results");
  lua_pushboolean(L, 1);
}


int guard_numarith (lua_State *L, int aop, int x, int y) {
  if (lua_type(L, x) != LUA_TNUMBER || lua_type(L, y) != LUA_TNUMBER ||
      aop < 0 || aop >= IR_NAOP)
    return 0;
#if CPM_LUA54
  if (aop >= IR_BAND && aop != IR_UNM && (!isint(L, x) || !isint(L, y)))
    return 0;  /* "number has no integer representation" */
  if ((aop == IR_IDIV || aop == IR_MOD) && lua_isinteger(L, x) &&
      lua_isinteger(L, y) && lua_tointeger(L, y) == 0)
    return 0;  /* "attempt to perform 'n//0'" */
  lua_pushvalue(L, x);
  if (aop != IR_UNM && aop != IR_BNOT) lua_pushvalue(L, y);
  lua_arith(L, aop);  /* IR_ADD.. follow LUA_OPADD.. */
  return 1;
#else
  {
    double r;
    if (!guard_jitarith(aop, lua_tonumber(L, x), lua_tonumber(L, y), &r))
      return 0;
    lua_pushnumber(L, r);
    return 1;
  }
#endif
}


static int isnumeric (lua_State *L, int idx) {
  return lua_type(L, idx) == LUA_TNUMBER || big_test(L, idx) != NULL;
}


/*
** Protected: upvalue-free C function called with (plan, step, control and
** inputs...); returns the atoms, in order.
*/
static int evalatoms (lua_State *L) {
  const plan_Plan *p = (const plan_Plan *)lua_touserdata(L, 1);
  int base = lua_gettop(L) + 1, i;
  /* arguments: 1 plan, 2 step, 3..5 control, 6.. inputs */
  luaL_checkstack(L, p->natoms + 8, "too many loop invariants");
  for (i = 0; i < p->natoms; i++) {
    const plan_Atom *a = &p->atoms[i];
    switch (a->kind) {
      case PA_INPUT:
        lua_pushvalue(L, 6 + p->slot_in[a->x]);
        break;
      case PA_STEP:
        lua_pushvalue(L, 2);
        break;
      case PA_END:  /* set by attempt */
        lua_pushnil(L);
        break;
      case PA_CONST:
        plan_pushconst(L, &p->k[a->x]);
        break;
      case PA_ARITH:
        /* only numbers: a metamethod would run once instead of n times */
        if (!isnumeric(L, base + a->x) || !isnumeric(L, base + a->y))
          return luaL_error(L, "operand is not a number");
        arith(L, a->aop, base + a->x, base + a->y);
        break;
      case PA_INDEX:
        if (lua_type(L, base + a->x) != LUA_TTABLE)
          return luaL_error(L, "indexed value is not a table");
        lua_pushvalue(L, base + a->y);
        lua_rawget(L, base + a->x);
        if (lua_isnil(L, -1) && lua_getmetatable(L, base + a->x))
          return luaL_error(L, "field read through a metatable");
        break;
    }
  }
  return p->natoms;
}


/* Pushes the loop's step value (as the loop variable sees it). */
static void pushstep (Guard *g) {
  lua_State *L = g->L;
  switch (g->c.itype) {
    case VT_INT: lua_pushinteger(L, g->c.istep); break;
    case VT_FLT: lua_pushnumber(L, g->c.fstep); break;
    default: mpz_set(big_push(L), g->c.bstep); break;
  }
}


/* Can evaluating the atoms raise (arithmetic or field reads)? */
static int mayraise (const plan_Plan *p) {
  int i;
  for (i = 0; i < p->natoms; i++)
    if (p->atoms[i].kind == PA_ARITH || p->atoms[i].kind == PA_INDEX) return 1;
  return 0;
}


/*
** Evaluates the atoms onto the stack, at g->abase: in a protected call
** when some may raise, directly otherwise (inputs, constants and the step
** only: the common case, and the cheap one).
*/
static int atoms (Guard *g) {
  lua_State *L = g->L;
  const plan_Plan *p = g->p;
  int i;
  luaL_checkstack(L, p->natoms + p->nin + 16, "too many loop invariants");
  g->abase = lua_gettop(L) + 1;
  if (!mayraise(p)) {
    for (i = 0; i < p->natoms; i++) {
      const plan_Atom *a = &p->atoms[i];
      switch (a->kind) {
        case PA_INPUT: lua_pushvalue(L, g->ibase + p->slot_in[a->x]); break;
        case PA_STEP: pushstep(g); break;
        case PA_END: lua_pushnil(L); break;  /* set by attempt */
        default: plan_pushconst(L, &p->k[a->x]); break;
      }
    }
    return 1;
  }
  lua_pushcfunction(L, evalatoms);
  lua_pushlightuserdata(L, (void *)p);
  pushstep(g);
  for (i = 0; i < 3 + p->nin; i++) lua_pushvalue(L, 1 + i);
  if (lua_pcall(L, 5 + p->nin, p->natoms, 0) != 0) {
    lua_pop(L, 1);
    return fail(g, "an invariant expression raises an error");
  }
  return 1;
}

/* }====================================================== */


/* {======================================================
** Types
** ======================================================= */

static unsigned char combine (unsigned char a, unsigned char b) {
  if (a == VT_NONE || a == VT_OTHER || b == VT_NONE || b == VT_OTHER)
    return VT_OTHER;
#if CPM_LUA54
  if (a == VT_BIG || b == VT_BIG)  /* a float would make it a float */
    return (a == VT_FLT || b == VT_FLT) ? VT_OTHER : VT_BIG;
  return (a == VT_FLT || b == VT_FLT) ? VT_FLT : VT_INT;
#else
  return (a == VT_BIG || b == VT_BIG) ? VT_BIG : VT_FLT;
#endif
}


static unsigned char reftype (const Guard *g, int ref) {
  return ref >= 0 ? g->sty[ref] : g->aty[-1 - ref];
}


/* Is the atom a number > 0 (so that x * it is never -0.0)? */
static int positive (const Guard *g, int atom) {
  lua_State *L = g->L;
  int idx = g->abase + atom;
  if (lua_type(L, idx) == LUA_TNUMBER) return lua_tonumber(L, idx) > 0;
  return big_test(L, idx) != NULL && mpz_sgn(big_test(L, idx)) > 0;
}


/* One iteration of the type program over g->sty. */
static void replay (Guard *g) {
  const plan_Plan *p = g->p;
  int i;
  for (i = 0; i < p->ntypes; i++) {
    const plan_Type *t = &p->types[i];
    unsigned char r;
    switch (t->kind) {
      case PT_ATOM: g->sty[t->a] = g->aty[t->x]; continue;
      case PT_MOVE: g->sty[t->a] = g->sty[t->x]; continue;
      case PT_ARITH:
        r = combine(reftype(g, t->x), reftype(g, t->y));
        if (r == VT_FLT && (t->factor == PLAN_PRODUCT ||
                            (t->factor >= 0 && !positive(g, t->factor))))
          g->negzero = 1;
        break;
      default:  /* PT_UNM */
        r = g->sty[t->x];
        if (r == VT_NONE) r = VT_OTHER;
        if (r == VT_FLT) g->negzero = 1;
        break;
    }
    g->sty[t->a] = r;
    g->brun[t->row] |= bit(r);
  }
}


/* Sets the slot types of an iteration start from history entry 'h'. */
static void startiter (Guard *g, int h) {
  const plan_Plan *p = g->p;
  int s;
  for (s = 0; s < p->nstate; s++)
    if (p->state[s].kind == PS_SLOT)
      g->sty[p->state[s].slot] = g->hist[h * p->nstate + s];
  if (p->index >= 0) g->sty[p->index] = (unsigned char)g->c.itype;
}


/* (n - d) mod m, for the count n >= d. */
static uint64_t countmod (const Guard *g, uint64_t d, uint64_t m) {
  mp_limb_t limbs[4];
  mpz_t tmp;
  mpz_srcptr n = count_mpz(&g->c, limbs, tmp);
  uint64_t r = (uint64_t)mpz_fdiv_ui(n, (unsigned long)m);
  d %= m;
  return (r + m - d) % m;
}


/* Records the types of the states at an iteration start (before) or end. */
static void statetypes (Guard *g, unsigned *un, int before) {
  const plan_Plan *p = g->p;
  int s;
  for (s = 0; s < p->nstate; s++) {
    const plan_State *st = &p->state[s];
    if (before && st->kind == PS_INDEX) un[s] |= bit(g->c.itype);
    else if (before ? st->kind == PS_SLOT : st->kind == PS_SINK)
      un[s] |= bit(g->sty[st->slot]);
  }
}


/* Is iteration j past the end of the loop? */
static int pastend (const Guard *g, int j) {
  return !g->c.nbig && !g->c.n64 && (uint64_t)j >= g->c.n;
}


/*
** The type a value at loop entry has for the replay.  On LuaJIT every
** number is VT_FLT, and combine() takes a number and a bignum to a bignum:
** true only when the number is integral and finite (big.c converts it
** exactly; 700.25 * big(6) is the float 4201.5).  Any other number has no
** exact value in a ring either, so it is VT_OTHER: the loop runs as
** written (with big(6) and 700.25, `a = p * a` became a float loop that
** overflows to inf, where the guard took it for a bignum loop past the
** size limit and raised).
*/
static unsigned char entrytype (lua_State *L, int idx) {
  vtype t = count_vtype(L, idx);
#if !CPM_LUA54
  if (t == VT_FLT) {
    lua_Number x = lua_tonumber(L, idx);
    if (!(x == floor(x) && x - x == 0)) return VT_OTHER;
  }
#endif
  return (unsigned char)t;
}


/*
** Replays the types until the state types repeat (after mu iterations,
** with period lam); then replays each distinct iteration once more to
** collect the type unions, and the last iteration for the final types
** (g->fin).  Sets g->all.
*/
static int types (Guard *g) {
  lua_State *L = g->L;
  const plan_Plan *p = g->p;
  int ns = p->nstate, s, j, mu = -1, lam = 0, last, nj;
  memset(g->sty, VT_NONE, (size_t)p->nslots);
  for (s = 0; s < p->nin; s++)
    g->sty[p->in[s]] = entrytype(L, g->ibase + s);
  for (s = 0; s < p->natoms; s++)
    g->aty[s] = entrytype(L, g->abase + s);
  for (s = 0; s < ns; s++)
    if (p->state[s].kind == PS_SLOT)
      g->hist[s] = g->sty[p->state[s].slot];
  g->brun = g->brcyc;
  for (j = 0; !pastend(g, j); j++) {  /* iteration j starts with hist[j] */
    int m;
    startiter(g, j);
    replay(g);
    for (s = 0; s < ns; s++)
      g->hist[(j + 1) * ns + s] =
          p->state[s].kind == PS_SLOT ? g->sty[p->state[s].slot] : 0;
    for (m = 0; m <= j; m++)
      if (memcmp(&g->hist[m * ns], &g->hist[(j + 1) * ns], (size_t)ns) == 0)
        break;
    if (m <= j) { mu = m; lam = j + 1 - m; break; }
    if (j + 1 == HISTORY) return fail(g, "value types do not settle");
  }
  nj = mu < 0 ? j : mu + lam;  /* the distinct iterations */
  g->mu = mu < 0 ? 0 : mu;
  memset(g->brpre, 0, (size_t)p->nbrows * sizeof(unsigned));
  memset(g->brcyc, 0, (size_t)p->nbrows * sizeof(unsigned));
  for (j = 0; j < nj && !pastend(g, j); j++) {
    unsigned *st = j < g->mu ? g->stpre : g->stcyc;
    g->brun = j < g->mu ? g->brpre : g->brcyc;
    startiter(g, j);
    statetypes(g, st, 1);
    replay(g);
    statetypes(g, st, 0);
  }
  /* the start of the last iteration, n - 1 */
  if (mu < 0 || (!g->c.nbig && !g->c.n64 && g->c.n - 1 < (uint64_t)(mu + lam)))
    last = (int)(g->c.n - 1);
  else
    last = mu + (int)countmod(g, 1 + (uint64_t)mu, (uint64_t)lam);
  g->brun = g->brcyc;
  startiter(g, last);
  replay(g);
  memcpy(g->fin, g->sty, (size_t)p->nslots);
  g->all = 0;
  for (s = 0; s < ns; s++) g->all |= g->stpre[s] | g->stcyc[s];
  for (s = 0; s < p->nbrows; s++) g->all |= g->brpre[s] | g->brcyc[s];
  if (g->all & (bit(VT_OTHER) | bit(VT_NONE)))
    return fail(g, "a value of the loop is not a number of a type it can follow");
  return 1;
}

/* }====================================================== */


/* {======================================================
** Bounds
** ======================================================= */

/* log2 |x| (-HUGE_VAL for 0); HUGE_VAL when not finite. */
static double log2dbl (double x) {
  if (x != x || x == HUGE_VAL || x == -HUGE_VAL) return HUGE_VAL;
  return x == 0 ? -HUGE_VAL : log2(fabs(x));
}


static double log2mpz (mpz_srcptr z) {
  long e;
  double d;
  if (mpz_sgn(z) == 0) return -HUGE_VAL;
  d = mpz_get_d_2exp(&e, z);
  return (double)e + log2(fabs(d));
}


/* log2 |value at idx|, as log2dbl. */
static double log2abs (lua_State *L, int idx) {
  mpz_srcptr z = big_test(L, idx);
  if (z != NULL) return log2mpz(z);
#if CPM_LUA54
  if (lua_isinteger(L, idx)) return log2dbl((double)lua_tointeger(L, idx));
#endif
  return log2dbl(lua_tonumber(L, idx));
}


/* log2 of the magnitudes of the coefficients, from their actual values
   (computed by the ring) or bounded from the atoms. */
static void coeflogs (Guard *g, double *alog) {
  const plan_Plan *p = g->p;
  int i;
  for (i = 0; i < p->ncoefs; i++) {
    const plan_Coef *c = &p->coefs[i];
    switch (c->kind) {
      case PC_ATOM: alog[i] = log2abs(g->L, g->abase + c->x); break;
      case PC_INT: alog[i] = log2dbl((double)c->v); break;
      case PC_ADD: case PC_SUB:
        alog[i] = bound_log2_add(alog[c->x], alog[c->y]);
        break;
      case PC_MUL:
        alog[i] = (alog[c->x] == -HUGE_VAL || alog[c->y] == -HUGE_VAL)
                      ? -HUGE_VAL : alog[c->x] + alog[c->y];
        break;
      default: alog[i] = alog[c->x]; break;
    }
  }
}


static double logcoef (const double *alog, int c) {
  return c == PLAN_ZERO ? -HUGE_VAL : alog[c];
}


/* log2 |entry value of state s|. */
static double logentry (Guard *g, int s) {
  const plan_State *st = &g->p->state[s];
  switch (st->kind) {
    case PS_SLOT: return log2abs(g->L, g->ibase + g->p->slot_in[st->slot]);
    case PS_SINK: return -HUGE_VAL;
    case PS_MONO: {  /* the product of its factors */
      double l = 0;
      int f;
      for (f = 0; f < st->nfac; f++) {
        double lf = logentry(g, st->fac[f]);
        if (lf == -HUGE_VAL) return -HUGE_VAL;
        l += lf;
      }
      return l;
    }
    default:
      switch (g->c.itype) {
        case VT_INT: return log2dbl((double)g->c.istart);
        case VT_FLT: return log2dbl(g->c.fstart);
        default: return log2mpz(g->c.bstart);
      }
  }
}


/*
** The largest log2 a value of type set 'ts' may reach.  Where floats are
** involved every number must stay below 2^53: an integer operand of a
** float operation is converted, and must convert exactly.
*/
static double loglimit (const Guard *g, unsigned ts) {
  double lim = HUGE_VAL;
  if (ts & bit(VT_BIG)) lim = (double)g->cfg->maxbits - BIGMARGIN;
  if (ts & (bit(VT_INT) | bit(VT_FLT)))
    lim = (g->all & bit(VT_FLT)) ? 52.99 : 62.99;
  return lim;
}


/* Checks states and computed values against 'maj', the log2 majorant of
   the states over the iterations whose type unions are 'st' and 'br'. */
static int within (Guard *g, const double *alog, const double *maj,
                   const unsigned *st, const unsigned *br) {
  const plan_Plan *p = g->p;
  int ns = p->nstate, k = ns + 1, i, j;
  for (i = 0; i < ns; i++)
    if (st[i] != 0 && !(maj[i] < loglimit(g, st[i])))
      return fail(g, "values may overflow or lose precision");
  for (i = 0; i < p->nbrows; i++) {
    const int *r = &p->brows[(size_t)i * k];
    double b;
    if (br[i] == 0) continue;
    b = logcoef(alog, r[ns]);
    for (j = 0; j < ns; j++)
      if (r[j] != PLAN_ZERO && maj[j] != -HUGE_VAL)
        b = bound_log2_add(b, alog[r[j]] + maj[j]);
    if (!(b < loglimit(g, br[i])))
      return fail(g, "values may overflow or lose precision");
  }
  return 1;
}


/*
** A cheap sufficient test before bounds()'s majorant: every state of the
** iterations 0 .. n is at most max(1, |B|)^n max(1, |v|) in the row-sum
** norm, |B| <= k max |B_ij|, and a computed value at most its row's
** largest coefficient times k times that.  Loops far below their limits
** (bignum loops of a size limit of gigabits) then skip the majorant's
** O(k^3 log n) log-domain products, which cost more than the power itself
** at n = 10^5 (Fibonacci).
*/
static int crudewithin (Guard *g, const double *alog, const double *logA,
                        const double *logv, mpz_srcptr n) {
  const plan_Plan *p = g->p;
  int ns = p->nstate, k = ns + 1, i, j;
  double ln = 0, lv = 0, lk = log2((double)k), nd, c;
  for (i = 0; i < k * k; i++) if (logA[i] > ln) ln = logA[i];
  for (i = 0; i < k; i++) if (logv[i] > lv) lv = logv[i];
  ln += lk;
  nd = mpz_get_d(n) * (1 + 1e-12) + 1;  /* mpz_get_d truncates */
  c = ln * nd + lv;
  c += 1e-9 * fabs(c) + 1e-9;
  if (!(c < HUGE_VAL)) return 0;
  for (i = 0; i < ns; i++) {
    unsigned ts = g->stpre[i] | g->stcyc[i];
    if (ts != 0 && !(c < loglimit(g, ts))) return 0;
  }
  for (i = 0; i < p->nbrows; i++) {
    const int *r = &p->brows[(size_t)i * k];
    unsigned ts = g->brpre[i] | g->brcyc[i];
    double b = 0;
    if (ts == 0) continue;
    for (j = 0; j < k; j++)
      if (logcoef(alog, r[j]) > b) b = logcoef(alog, r[j]);
    if (!(b + lk + c < loglimit(g, ts))) return 0;
  }
  return 1;
}


/*
** Magnitudes in doubles, for quickwithin(): upper bounds of |x| that are
** exact for the integers below 2^53 that loops mostly have (so that the
** majorant's exactness test keeps them exact), rounded up by a relative
** 2^-50 (more than a rounding of 2^-53, itself rounded) otherwise.  -1:
** a bignum, left to the log-domain path.
*/
static double upround (double x, int exact) {
  return exact ? x : x * (1 + 0x1p-50);
}

static double absint (int64_t i) {  /* |i| */
  double d = i < 0 ? -(double)i : (double)i;
  return upround(d, mat_smallint(d));
}

static double absvalue (lua_State *L, int idx) {
  if (big_test(L, idx) != NULL) return -1;
#if CPM_LUA54
  if (lua_isinteger(L, idx)) return absint((int64_t)lua_tointeger(L, idx));
#endif
  return fabs(lua_tonumber(L, idx));  /* a double: exact */
}

static double upmul (double x, double y) {  /* x, y >= 0; 0 * inf = 0 */
  double p;
  if (x == 0 || y == 0) return 0;
  p = x * y;
  return upround(p, p < TWO53 && mat_smallint(x) && mat_smallint(y));
}

static double upadd (double x, double y) {  /* x, y >= 0 */
  double t = x + y;
  return upround(t, t < TWO53 && mat_smallint(x) && mat_smallint(y));
}

/* |coefficient| for each coefficient, as coeflogs() in log2; 0, or -1
   for a bignum atom. */
static int coefabs (Guard *g, double *a) {
  const plan_Plan *p = g->p;
  int i;
  for (i = 0; i < p->ncoefs; i++) {
    const plan_Coef *c = &p->coefs[i];
    switch (c->kind) {
      case PC_ATOM:
        if ((a[i] = absvalue(g->L, g->abase + c->x)) < 0) return -1;
        break;
      case PC_INT: a[i] = absint(c->v); break;
      case PC_ADD: case PC_SUB: a[i] = upadd(a[c->x], a[c->y]); break;
      case PC_MUL: a[i] = upmul(a[c->x], a[c->y]); break;
      default: a[i] = a[c->x]; break;
    }
  }
  return 0;
}

/* |entry value of state s|, as logentry() in log2; -1 for a bignum. */
static double entryabs (Guard *g, int s) {
  const plan_State *st = &g->p->state[s];
  switch (st->kind) {
    case PS_SLOT: return absvalue(g->L, g->ibase + g->p->slot_in[st->slot]);
    case PS_SINK: return 0;
    case PS_MONO: {
      double m = 1;
      int f;
      for (f = 0; f < st->nfac; f++) {
        double e = entryabs(g, st->fac[f]);
        if (e < 0) return -1;
        m = upmul(m, e);
      }
      return m;
    }
    default:
      switch (g->c.itype) {
        case VT_INT: return absint((int64_t)g->c.istart);
        case VT_FLT: return fabs(g->c.fstart);
        default: return -1;
      }
  }
}


/*
** A second sufficient test, for loops without bignums (floats must stay
** exact integers below 2^53, where crudewithin()'s norm bound, exponential
** in n, fails at once even for `s = s + i`): the majorant of bounds() in
** plain doubles, mat_majorant (mat_bound.c: (A max I)^n v, every rounding
** covered), instead of the log domain, whose log2 and exp2 calls made
** most of the guard's time on LuaJIT (about 80% for `s = s + i` at
** n = 10^6).  The matrix and the vector are the magnitudes of the
** coefficients and of the entry values (coefabs, entryabs); the
** majorant's entries go back to log2 (plus a margin above log2's error of
** an ulp) for within(), against the same limits.  The one majorant over
** 0 .. n also bounds the values typed before the cycle (iterations
** 0 .. mu).  Where it cannot settle (a loop that permutes its values,
** where A max I grows and max over j of A^j does not; values past the
** double range; a bignum) the log-domain majorant decides, as before.
** 'd' has room for k * k + 2 k + ncoefs doubles.  Sets no reason.
*/
static int quickwithin (Guard *g, const double *alog, mpz_srcptr n,
                        double *d) {
  const plan_Plan *p = g->p;
  int ns = p->nstate, k = ns + 1, i, j;
  double *A = d, *v = A + (size_t)k * k, *maj = v + k, *ca = maj + k;
  const char *why = g->why;
  int ok;
  if (coefabs(g, ca) != 0) return 0;
  for (i = 0; i < ns; i++) {
    for (j = 0; j < k; j++) {
      int c = p->rows[(size_t)i * k + j];
      A[i * k + j] = c == PLAN_ZERO ? 0 : ca[c];
    }
    if ((v[i] = entryabs(g, i)) < 0) return 0;
  }
  for (j = 0; j < k; j++) A[ns * k + j] = (j == ns);
  v[ns] = 1;
  if (mat_majorant(k, A, v, n, maj) != MAT_OK) return 0;
  for (i = 0; i < k; i++) {
    double l = log2(maj[i]);  /* -inf for 0, +inf for +inf */
    maj[i] = maj[i] == 0 ? -HUGE_VAL : l + 1e-12 * (fabs(l) + 1);
  }
  ok = within(g, alog, maj, g->stcyc, g->brcyc) &&
       (g->mu == 0 || within(g, alog, maj, g->stpre, g->brpre));
  g->why = why;  /* within()'s reason, if any, is not the guard's */
  return ok;
}


/*
** Proves that every value of every iteration stays within its type's
** limit: integers never wrap, floats stay exact integers, bignums stay
** below the size limit.  Values typed before the types cycle are checked
** against a majorant over those first iterations only.  Uses the work
** array 'w' (room for the matrix and three vectors, then k * k + 2 k +
** ncoefs doubles for quickwithin()).
*/
static int bounds (Guard *g, double *alog, double *w) {
  const plan_Plan *p = g->p;
  int ns = p->nstate, k = ns + 1, i, j;
  double *logA = w, *logv = logA + (size_t)k * k, *maj = logv + k;
  mp_limb_t limbs[4];
  mpz_t tmp;
  mpz_srcptr n = count_mpz(&g->c, limbs, tmp);
  coeflogs(g, alog);
  for (i = 0; i < ns; i++) {
    for (j = 0; j < k; j++)
      logA[i * k + j] = logcoef(alog, p->rows[(size_t)i * k + j]);
    logv[i] = logentry(g, i);
  }
  for (j = 0; j < k; j++) logA[ns * k + j] = (j == ns) ? 0 : -HUGE_VAL;
  logv[ns] = 0;
  if (crudewithin(g, alog, logA, logv, n)) return 1;
  if (!(g->all & bit(VT_BIG)) &&
      quickwithin(g, alog, n, w + (size_t)k * k + 3 * k))
    return 1;
  if (bound_log2_majorant(k, logA, logv, n, 1, maj) != 0)
    return failmem(g, "not enough memory to bound the loop's values");
  if (!within(g, alog, maj, g->stcyc, g->brcyc)) return 0;
  if (g->mu > 0) {  /* the iterations before the cycle: 0 .. mu */
    mp_limb_t mulimb = (mp_limb_t)g->mu;
    mpz_t m;
    mpz_roinit_n(m, &mulimb, 1);
    if (bound_log2_majorant(k, logA, logv, m, 1, maj) != 0)
      return failmem(g, "not enough memory to bound the loop's values");
    if (!within(g, alog, maj, g->stpre, g->brpre)) return 0;
  }
  return 1;
}

/* Is every coefficient >= 0?  (Signs of atoms, kept through + and *.) */
static int nonnegcoefs (Guard *g, unsigned char *nn) {
  const plan_Plan *p = g->p;
  int i, all = 1;
  for (i = 0; i < p->ncoefs; i++) {
    const plan_Coef *c = &p->coefs[i];
    switch (c->kind) {
      case PC_ATOM: {
        int idx = g->abase + c->x;
        mpz_srcptr z = big_test(g->L, idx);
        nn[i] = z ? mpz_sgn(z) >= 0 : lua_tonumber(g->L, idx) >= 0;
        break;
      }
      case PC_INT: nn[i] = c->v >= 0; break;
      case PC_ADD: case PC_MUL: nn[i] = nn[c->x] && nn[c->y]; break;
      default: nn[i] = 0; break;
    }
  }
  for (i = 0; i < p->nstate * (p->nstate + 1); i++)
    if (p->rows[i] != PLAN_ZERO && !nn[p->rows[i]]) all = 0;
  return all;
}


/*
** Are the loop's values exactly those of B^n v over Z?  Bignum values
** are; a Lua integer may wrap and a float may round, so a state or a
** computed value of either type makes the size estimate of
** surelytoobig() a guess.  The loop variable is exact when it is an
** integer (the VM's count keeps it in range) or a float whose every value
** is an integer below 2^53.
*/
static int exactbig (const Guard *g) {
  const plan_Plan *p = g->p;
  int i;
  for (i = 0; i < p->nstate; i++) {
    if (p->state[i].kind == PS_INDEX) {
      if (g->c.itype == VT_FLT &&
          (g->c.nbig || g->c.n64 ||
           !(fabs(g->c.fstart) + (double)g->c.n * fabs(g->c.fstep) < TWO53)))
        return 0;
    }
    else if ((g->stpre[i] | g->stcyc[i]) & ~bit(VT_BIG)) return 0;
  }
  for (i = 0; i < p->nbrows; i++)
    if ((g->brpre[i] | g->brcyc[i]) & ~bit(VT_BIG)) return 0;
  return 1;
}


/*
** After bounds() failed for a bignum loop: is it certain that the loop
** would create a bignum beyond the size limit?  With no negative
** coefficient and no negative entry value nothing can cancel, so B^n v is
** |B|^n |v| and its size is known: the loop would raise, and the guard
** says so at once (DESIGN.md, rule 6) instead of running it for ages.
** Only for a body without effects outside its locals (plan.effects):
** otherwise the loop as written must run, to leave the effects it makes
** before its bignum operation raises.  'w' holds logA and logv as
** bounds() left them.
*/
static int surelytoobig (Guard *g, double *w, unsigned char *nn) {
  const plan_Plan *p = g->p;
  int ns = p->nstate, k = ns + 1, i;
  double *logA = w, *logv = logA + (size_t)k * k, *est = logv + k;
  double lim = (double)g->cfg->maxbits + BIGMARGIN;
  mp_limb_t limbs[4];
  mpz_t tmp;
  if (p->effects || !exactbig(g) || !nonnegcoefs(g, nn)) return 0;
  for (i = 0; i < ns; i++) {
    const plan_State *st = &p->state[i];
    if (st->kind == PS_SLOT) {
      int idx = g->ibase + p->slot_in[st->slot];
      mpz_srcptr z = big_test(g->L, idx);
      if (z ? mpz_sgn(z) < 0 : !(lua_tonumber(g->L, idx) >= 0)) return 0;
    }
    else if (st->kind == PS_INDEX) {
      if (g->c.itype == VT_BIG ? mpz_sgn(g->c.bstart) < 0
          : (g->c.itype == VT_INT ? g->c.istart < 0 : g->c.fstart < 0))
        return 0;
    }
  }
  if (bound_log2_majorant(k, logA, logv, count_mpz(&g->c, limbs, tmp), 0,
                          est) != 0)
    return 0;
  for (i = 0; i < ns; i++)
    if ((p->state[i].kind == PS_SLOT || p->state[i].kind == PS_SINK) &&
        g->fin[p->state[i].slot] == VT_BIG && est[i] - 1e-6 * est[i] > lim)
      return 1;
  return 0;
}

/* }====================================================== */


/* {======================================================
** Rings
** ======================================================= */

/* A Lua integer or integral float as a uint64 (two's complement). */
static int tou64 (lua_State *L, int idx, uint64_t *u) {
#if CPM_LUA54
  if (lua_isinteger(L, idx)) {
    *u = (uint64_t)lua_tointeger(L, idx);
    return 1;
  }
#endif
  if (lua_type(L, idx) == LUA_TNUMBER) {
    double x = lua_tonumber(L, idx);
    if (x != floor(x) || !(x >= -TWO63 && x < TWO63)) return 0;
    if (x == 0 && signbit(x)) return 0;  /* -0.0 */
    *u = (uint64_t)(int64_t)x;
    return 1;
  }
  return 0;
}


/* Pushes ring value 'u' as a value of type 't'. */
static void pushu64 (lua_State *L, uint64_t u, unsigned char t) {
  if (t == VT_FLT) lua_pushnumber(L, (lua_Number)(int64_t)u);
  else lua_pushinteger(L, (lua_Integer)(int64_t)u);
}


/* The live states, in state order. */
static void livestates (Guard *g) {
  const plan_Plan *p = g->p;
  int s;
  g->nlive = 0;
  for (s = 0; s < p->nstate; s++) {
    g->pos[s] = -1;
    if (p->state[s].live) {
      g->pos[s] = g->nlive;
      g->live[g->nlive++] = s;
    }
  }
}


static int coefu64 (Guard *g, uint64_t *cu) {
  const plan_Plan *p = g->p;
  int i;
  for (i = 0; i < p->ncoefs; i++) {
    const plan_Coef *c = &p->coefs[i];
    switch (c->kind) {
      case PC_ATOM:
        if (!tou64(g->L, g->abase + c->x, &cu[i]))
          return fail(g, "a coefficient is not an integer");
        break;
      case PC_INT: cu[i] = (uint64_t)c->v; break;
      case PC_ADD: cu[i] = cu[c->x] + cu[c->y]; break;
      case PC_SUB: cu[i] = cu[c->x] - cu[c->y]; break;
      case PC_MUL: cu[i] = cu[c->x] * cu[c->y]; break;
      default: cu[i] = 0 - cu[c->x]; break;
    }
  }
  return 1;
}


/* The entry value of base state 's' (PS_SLOT or PS_INDEX) in Z/2^64. */
static int entryu64 (Guard *g, int s, uint64_t *u) {
  const plan_State *st = &g->p->state[s];
  if (st->kind == PS_SLOT)
    return tou64(g->L, g->ibase + g->p->slot_in[st->slot], u);
  *u = g->c.itype == VT_INT ? (uint64_t)g->c.istart
                            : (uint64_t)(int64_t)g->c.fstart;
  return 1;
}


/* Z/2^64: computes and pushes the outputs. */
static int ringu64 (Guard *g, uint64_t *cu, uint64_t *mat) {
  lua_State *L = g->L;
  const plan_Plan *p = g->p;
  int k = g->nlive + 1, w = p->nstate + 1, i, j;
  uint64_t *v = mat + (size_t)k * k, *out = v + k;
  mp_limb_t limbs[4];
  mpz_t tmp;
  if (!coefu64(g, cu)) return 0;
  for (i = 0; i < g->nlive; i++) {
    int s = g->live[i];
    const int *row = &p->rows[(size_t)s * w];
    const plan_State *st = &p->state[s];
    for (j = 0; j < g->nlive; j++) {
      int c = row[g->live[j]];
      mat[i * k + j] = c == PLAN_ZERO ? 0 : cu[c];
    }
    mat[i * k + g->nlive] = row[p->nstate] == PLAN_ZERO ? 0 : cu[row[p->nstate]];
    if (st->kind == PS_SLOT || st->kind == PS_INDEX) {
      if (!entryu64(g, s, &v[i]))
        return fail(g, "a loop value is not an integer");
    }
    else if (st->kind == PS_MONO) {  /* wrapped, as the loop's products */
      int f;
      uint64_t u;
      v[i] = 1;
      for (f = 0; f < st->nfac; f++) {
        if (!entryu64(g, st->fac[f], &u))
          return fail(g, "a loop value is not an integer");
        v[i] *= u;
      }
    }
    else v[i] = 0;
  }
  for (j = 0; j < k; j++) mat[g->nlive * k + j] = (j == g->nlive);
  v[g->nlive] = 1;
  if (p->nmonos > 0 &&  /* polynomial terms: most often I + N */
      mat_u64_unipot_apply(k, mat, out, v, count_mpz(&g->c, limbs, tmp)) == MAT_OK)
    ;
  else if (mat_u64_powapply(k, mat, out, v, count_mpz(&g->c, limbs, tmp)) != MAT_OK)
    return fail(g, "the matrix is too large");
  guard_pushok(L, p->nout);
  for (i = 0; i < p->nout; i++) {
    const plan_Out *o = &p->out[i];
    if (o->state >= 0) pushu64(L, out[g->pos[o->state]], g->fin[o->slot]);
    else lua_pushvalue(L, g->abase + o->atom);
  }
  return 1 + p->nout;
}


/* A pool of mpz owned by a userdata, so nothing leaks on a Lua error. */
#define POOL_META	"cpm.mpzpool"	/* its metatable, in the registry */
typedef struct Pool {
  int n;
  mpz_t z[1];
} Pool;

static int pool_gc (lua_State *L) {
  Pool *pl = (Pool *)lua_touserdata(L, 1);
  int i;
  for (i = 0; i < pl->n; i++) mpz_clear(pl->z[i]);
  pl->n = 0;
  return 0;
}

static Pool *pushpool (lua_State *L, int n) {
  Pool *pl = (Pool *)cpm_newuserdata(L, sizeof(Pool) + (size_t)n * sizeof(mpz_t));
  pl->n = 0;
  if (luaL_newmetatable(L, POOL_META)) {  /* once per lua_State */
    lua_pushcfunction(L, pool_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  for (; pl->n < n; pl->n++) mpz_init(pl->z[pl->n]);
  return pl;
}


/* Sets 'z' to the value at 'idx' (an integer, integral float or bignum);
   returns a pointer to the value (z, or the bignum itself), NULL if none. */
static mpz_srcptr tompz (lua_State *L, int idx, mpz_ptr z) {
  mpz_srcptr b = big_test(L, idx);
  if (b != NULL) return b;
#if CPM_LUA54
  if (lua_isinteger(L, idx)) {
    big_setint(z, lua_tointeger(L, idx));
    return z;
  }
#endif
  if (lua_type(L, idx) == LUA_TNUMBER) {
    double x = lua_tonumber(L, idx);
    if (x != floor(x) || x != x || x == HUGE_VAL || x == -HUGE_VAL) return NULL;
    if (x == 0 && signbit(x)) return NULL;
    mpz_set_d(z, x);
    return z;
  }
  return NULL;
}


/* Pushes exact value 'z' as a value of type 't' ('z' may be emptied). */
static void pushmpz (lua_State *L, mpz_ptr z, unsigned char t) {
  if (t == VT_BIG) mpz_swap(big_push(L), z);
  else if (t == VT_FLT) lua_pushnumber(L, mpz_get_d(z));  /* exact: < 2^53 */
  else {
    lua_Integer i = 0;
    big_getint(z, &i);  /* fits: proven by the bounds */
    lua_pushinteger(L, i);
  }
}


/* Sets 'z' to the entry value of base state 's' (PS_SLOT or PS_INDEX);
   returns it (z, or the bignum itself), or NULL when not an integer. */
static mpz_srcptr entrympz (Guard *g, int s, mpz_ptr z) {
  const plan_State *st = &g->p->state[s];
  if (st->kind == PS_SLOT)
    return tompz(g->L, g->ibase + g->p->slot_in[st->slot], z);
  if (g->c.itype == VT_INT) big_setint(z, g->c.istart);
  else if (g->c.itype == VT_FLT) mpz_set_d(z, g->c.fstart);
  else mpz_set(z, g->c.bstart);
  return z;
}


/*
** The exact ring's state kept in the guard's upvalue UP_ZCACHE between
** calls: the analysis of the last B (mat_mpz_plan; a loop's matrix is
** most often the same at every call, constant coefficients, and its
** analysis costs about as much as the rest of the guard) and the call's
** work values.  A call takes the plan out while using it and marks the
** work values busy, so that a call made meanwhile (a finalizer's, run by
** an allocation) finds no plan and makes its own pool rather than share
** one; busy values a Lua error unwound stay busy (later calls then make
** their own pools; the cache frees them with itself).  A call made after
** the cache's finalizer ran (from another finalizer of the same cycle,
** which resurrects the guard, or while lua_close runs) keeps nothing in
** it: the finalizer does not run twice, so whatever the cache held then
** would never be freed.
*/
typedef struct ZCache {
  mat_Plan *P;		/* the last B's plan, or NULL */
  int busy;		/* z in use */
  int closed;		/* finalized: keeps nothing from now on */
  int n;		/* entries of z */
  mpz_t *z;		/* work values (mat_zalloc) */
} ZCache;

static void zcache_freepool (ZCache *zc) {
  mat_zfree(zc->z, zc->n);
  zc->z = NULL;
  zc->n = 0;
}

static int zcache_gc (lua_State *L) {
  ZCache *zc = (ZCache *)lua_touserdata(L, 1);
  mat_plan_free(zc->P);
  zc->P = NULL;
  zcache_freepool(zc);
  zc->closed = 1;
  return 0;
}

/* The cache, made at the first call (raises on a memory error: before
   anything is taken from it). */
static ZCache *zcache (lua_State *L) {
  ZCache *zc = (ZCache *)lua_touserdata(L, lua_upvalueindex(UP_ZCACHE));
  if (zc == NULL) {
    zc = (ZCache *)cpm_newuserdata(L, sizeof(ZCache));
    memset(zc, 0, sizeof *zc);
    lua_newtable(L);
    lua_pushcfunction(L, zcache_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_replace(L, lua_upvalueindex(UP_ZCACHE));
  }
  return zc;
}

/* nz work values: the cache's when they are free (grown when too few)
   and it is not finalized, else a new pool on the stack. */
static mpz_t *zcache_pool (lua_State *L, ZCache *zc, int nz) {
  if (zc->closed) return pushpool(L, nz)->z;
  if (!zc->busy && zc->n < nz) {
    mpz_t *z = mat_zalloc(nz);
    if (z != NULL) {
      zcache_freepool(zc);
      zc->z = z;
      zc->n = nz;
    }
  }
  if (!zc->busy && zc->n >= nz) {
    zc->busy = 1;
    return zc->z;
  }
  return pushpool(L, nz)->z;
}

/* The plan of B if it is the one kept (taken out), else NULL. */
static mat_Plan *zplan_take (ZCache *zc, int k, mpz_srcptr const *B) {
  mat_Plan *P = zc->P;
  zc->P = NULL;
  if (!mat_plan_matches(P, k, B)) {
    mat_plan_free(P);
    P = NULL;
  }
  return P;
}

/* Plans with numbers above this many bits are not kept: their analysis
   is cheap next to their power, and they would hold memory between calls. */
#define ZPLAN_KEEP_BITS	((uint64_t)1 << 16)

static void zplan_put (ZCache *zc, mat_Plan *P) {
  mat_plan_free(zc->P);
  zc->P = NULL;
  if (!zc->closed && mat_plan_bits(P) <= ZPLAN_KEEP_BITS) zc->P = P;
  else mat_plan_free(P);
}


/* Exact Z: computes and pushes the outputs, with the work values pz
   (nz of them) and room for the pointer arrays in buf (ringz sizes it). */
static int ringz_run (Guard *g, ZCache *zc, mpz_t *pz, int nz, void *buf) {
  lua_State *L = g->L;
  const plan_Plan *p = g->p;
  int k = g->nlive + 1, w = p->nstate + 1, i, j, res;
  mpz_ptr *cz = (mpz_ptr *)buf, zero, one, *vout;
  mpz_srcptr *B, *vin;
  uint64_t *vbits, bb;
  unsigned char *need;
  mp_limb_t limbs[4];
  mpz_t tmp;
  mpz_srcptr n;
  mat_Plan *mp;
  B = (mpz_srcptr *)(cz + p->ncoefs + 1);
  vin = B + (size_t)k * k;
  vout = (mpz_ptr *)(vin + k);
  vbits = (uint64_t *)(vout + k);
  need = (unsigned char *)(vbits + k);
  zero = pz[nz - 1];
  one = pz[nz - 2];
  mpz_set_ui(zero, 0);
  mpz_set_ui(one, 1);
  for (i = 0; i < p->ncoefs; i++) {
    const plan_Coef *c = &p->coefs[i];
    cz[i] = pz[i];
    switch (c->kind) {
      case PC_ATOM: {
        mpz_srcptr a = tompz(L, g->abase + c->x, cz[i]);
        if (a == NULL) return fail(g, "a coefficient is not an integer");
        if (a != cz[i]) mpz_set(cz[i], a);
        break;
      }
      case PC_INT: {
        big_setint(cz[i], (lua_Integer)c->v);
        break;
      }
      case PC_ADD: mpz_add(cz[i], cz[c->x], cz[c->y]); break;
      case PC_SUB: mpz_sub(cz[i], cz[c->x], cz[c->y]); break;
      case PC_MUL: mpz_mul(cz[i], cz[c->x], cz[c->y]); break;
      default: mpz_neg(cz[i], cz[c->x]); break;
    }
  }
  for (i = 0; i < g->nlive; i++) {
    int s = g->live[i];
    const int *row = &p->rows[(size_t)s * w];
    const plan_State *st = &p->state[s];
    mpz_ptr slot = pz[p->ncoefs + i];
    for (j = 0; j < g->nlive; j++) {
      int c = row[g->live[j]];
      B[i * k + j] = c == PLAN_ZERO ? zero : cz[c];
    }
    B[i * k + g->nlive] = row[p->nstate] == PLAN_ZERO ? zero : cz[row[p->nstate]];
    if (st->kind == PS_SLOT || st->kind == PS_INDEX) {
      vin[i] = entrympz(g, s, slot);
      if (vin[i] == NULL) return fail(g, "a loop value is not an integer");
    }
    else if (st->kind == PS_MONO) {  /* exact, proven not to wrap */
      mpz_ptr fz = pz[nz - 3];
      int f;
      mpz_set_ui(slot, 1);
      for (f = 0; f < st->nfac; f++) {
        mpz_srcptr e = entrympz(g, st->fac[f], fz);
        if (e == NULL) return fail(g, "a loop value is not an integer");
        mpz_mul(slot, slot, e);
      }
      vin[i] = slot;
    }
    else vin[i] = zero;
  }
  for (j = 0; j < k; j++) B[g->nlive * k + j] = (j == g->nlive) ? one : zero;
  vin[g->nlive] = one;
  for (i = 0; i < k; i++) {
    vout[i] = pz[p->ncoefs + k + i];
    vbits[i] = mpz_sgn(vin[i]) ? (uint64_t)mpz_sizeinbase(vin[i], 2) : 0;
  }
  n = count_mpz(&g->c, limbs, tmp);
  mp = zplan_take(zc, k, B);
  res = mp != NULL ? MAT_OK : mat_mpz_plan(k, B, g->cfg->maxbits, &mp);
  if (res == MAT_ENOMEM) return failmem(g, "the matrix power failed");
  bb = res == MAT_OK ? mat_plan_bits_bound(mp, vbits, n) : UINT64_MAX;
  if (bb > g->cfg->maxbits) {
    zplan_put(zc, mp);
    return fail(g, "the computation would exceed the bignum size limit");
  }
  /* k results and as many work values of up to bb bits (gmpmem.h); without
     that memory the loop runs as written, and fails where it would */
  if (!gmpmem_can(bb > UINT64_MAX / (2 * (uint64_t)k + 2) ? UINT64_MAX
                                                           : bb * (2 * (uint64_t)k + 2))) {
    zplan_put(zc, mp);
    return fail(g, "not enough memory for the matrix power");
  }
  /* only the outputs' values: the engine may then skip work (Fibonacci
     returning one of its two values ends as mpz_fib_ui does) */
  memset(need, 0, (size_t)k);
  for (i = 0; i < p->nout; i++)
    if (p->out[i].state >= 0) need[g->pos[p->out[i].state]] = 1;
  res = mat_plan_powapply(mp, vout, vin, n, need, NULL);
  zplan_put(zc, mp);
  if (res != MAT_OK) return failmem(g, "the matrix power failed");
  guard_pushok(L, p->nout);
  for (i = 0; i < p->nout; i++) {
    const plan_Out *o = &p->out[i];
    if (o->state >= 0) pushmpz(L, vout[g->pos[o->state]], g->fin[o->slot]);
    else lua_pushvalue(L, g->abase + o->atom);
  }
  return 1 + p->nout;
}

#define ZBUF_STACK	512	/* pointer arrays up to this many bytes: on the C stack */
#define ZPOOL_KEEP_LIMBS	16	/* larger work values are freed after a call */

static int ringz (Guard *g) {
  lua_State *L = g->L;
  const plan_Plan *p = g->p;
  int k = g->nlive + 1, nz = p->ncoefs + 2 * k + 3, r;
  size_t size = (size_t)(p->ncoefs + 1) * sizeof(mpz_ptr)
              + (size_t)k * k * sizeof(mpz_srcptr)
              + (size_t)k * (2 * sizeof(mpz_ptr) + sizeof(uint64_t) + 1);
  union { mpz_ptr align; char c[ZBUF_STACK]; } sbuf;
  ZCache *zc = zcache(L);
  void *buf = size <= sizeof(sbuf) ? (void *)sbuf.c : cpm_newbuffer(L, size);
  mpz_t *pz = zcache_pool(L, zc, nz);
  r = ringz_run(g, zc, pz, nz, buf);
  if (pz == zc->z) {  /* kept for small numbers, not to hold large ones */
    int i;
    for (i = 0; i < nz; i++)
      if (mpz_size(pz[i]) > ZPOOL_KEEP_LIMBS) {
        mpz_set_ui(pz[i], 0);
        mpz_realloc2(pz[i], 64);
      }
    zc->busy = 0;
  }
  return r;
}

/* }====================================================== */


/* {======================================================
** Z/m: loops whose every carried value is reduced modulo one m
** ======================================================= */

/*
** Proves that no integer the body computes wraps and no float loses
** precision (LuaJIT's a % m, a - floor(a/m) m, is exact below 2^52).  The
** rows are exact only modulo m, so magnitudes are propagated through the
** body's ops instead: at an iteration start a carried value is its entry
** value, a copy of another's, or a value reduced modulo m (so below the
** largest of those and |m|), the loop variable stays within |start| +
** n |step|, and every '%' result is below |m|.
*/
static int modbounds (Guard *g, double lm) {
  lua_State *L = g->L;
  const plan_Plan *p = g->p;
  double lb[IR_MAXSLOTS + 1];
  double login = lm, lstep, lb2;
  mp_limb_t limbs[4];
  mpz_t tmp;
  int i, s;
#define refb(r)	((r) >= 0 ? lb[r] : log2abs(L, g->abase - 1 - (r)))
  for (s = 0; s < p->nstate; s++)
    if (p->state[s].kind == PS_SLOT)
      login = bound_log2_add(login, logentry(g, s));
  /* only the slots the body names (nslots counts every register and
     upvalue of the function: walking them all cost a third of a call) */
  for (i = 0; i < p->ntypes; i++) {
    const plan_Type *t = &p->types[i];
    lb[t->a] = -HUGE_VAL;
    if (t->kind != PT_ATOM && t->x >= 0) lb[t->x] = -HUGE_VAL;
    if (t->kind == PT_ARITH && t->y >= 0) lb[t->y] = -HUGE_VAL;
  }
  for (i = 0; i < p->nin; i++) lb[p->in[i]] = log2abs(L, g->ibase + i);
  for (s = 0; s < p->nstate; s++)
    if (p->state[s].kind == PS_SLOT) lb[p->state[s].slot] = login;
  if (p->index >= 0) {
    lstep = g->c.itype == VT_INT ? log2dbl((double)g->c.istep)
          : g->c.itype == VT_FLT ? log2dbl(g->c.fstep) : log2mpz(g->c.bstep);
    lb[p->index] = g->c.itype == VT_INT ? log2dbl((double)g->c.istart)
                 : g->c.itype == VT_FLT ? log2dbl(g->c.fstart) : log2mpz(g->c.bstart);
    lb[p->index] = bound_log2_add(lb[p->index],
                                  log2mpz(count_mpz(&g->c, limbs, tmp)) + lstep);
  }
  for (i = 0; i < p->ntypes; i++) {
    const plan_Type *t = &p->types[i];
    unsigned ts;
    switch (t->kind) {
      case PT_ATOM: lb[t->a] = log2abs(L, g->abase + t->x); continue;
      case PT_MOVE: lb[t->a] = lb[t->x]; continue;
      case PT_UNM: lb2 = lb[t->x]; break;
      default:
        switch (t->aop) {
          case IR_ADD: case IR_SUB: lb2 = bound_log2_add(refb(t->x), refb(t->y)); break;
          case IR_MUL:
            lb2 = (refb(t->x) == -HUGE_VAL || refb(t->y) == -HUGE_VAL)
                      ? -HUGE_VAL : refb(t->x) + refb(t->y);
            break;
          default: lb2 = lm; break;  /* IR_MOD: reduced */
        }
    }
    ts = g->brpre[t->row] | g->brcyc[t->row];
    if ((ts & (bit(VT_INT) | bit(VT_FLT))) &&
        !(lb2 < ((ts & bit(VT_FLT)) ? 51.99 : 62.99)))
      return fail(g, "values may overflow or lose precision");
    /* a float '%' is exact only when its operand is below 2^52 too: LuaJIT
       reduces an entry value of 1e300 as a - floor(a/m) m, not exactly
       (read before the result's bound replaces it: 'x = x % m') */
    if (t->kind == PT_ARITH && t->aop == IR_MOD && (ts & bit(VT_FLT)) &&
        !(refb(t->x) < 51.99))
      return fail(g, "values may overflow or lose precision");
    lb[t->a] = lb2;
  }
#undef refb
  return 1;
}


/* Pushes r, in [0, |m|), as the value of a floored reduction modulo m
   (the sign of m), of type 't'. */
static void pushmod (lua_State *L, mpz_ptr r, mpz_srcptr m, unsigned char t) {
  if (mpz_sgn(m) < 0 && mpz_sgn(r) != 0) mpz_add(r, r, m);
  pushmpz(L, r, t);
}


/* x mod mu in [0, mu), x a two's complement int64. */
static uint64_t redu64 (uint64_t x, uint64_t mu) {
  int64_t r = (int64_t)x % (int64_t)mu;
  return (uint64_t)(r < 0 ? r + (int64_t)mu : r);
}


static uint64_t mulmodu (uint64_t a, uint64_t b, uint64_t mu) {
  return (uint64_t)(((unsigned __int128)a * b) % mu);
}


/*
** Z/m for |m| < 2^63 when no value is a bignum: the whole computation in
** 64-bit words (the common case, and the fast one).  Returns -1 when a
** value is not a Lua number (the caller takes the mpz path).
*/
static int ringmod64 (Guard *g, uint64_t mu, int mneg, uint64_t *cu,
                      uint64_t *mat) {
  lua_State *L = g->L;
  const plan_Plan *p = g->p;
  int k = g->nlive + 1, w = p->nstate + 1, i, j, f;
  uint64_t *v = mat + (size_t)k * k, *out = v + k, u;
  mp_limb_t limbs[4];
  mpz_t tmp;
  for (i = 0; i < p->ncoefs; i++) {
    const plan_Coef *c = &p->coefs[i];
    switch (c->kind) {
      case PC_ATOM:
        if (!tou64(L, g->abase + c->x, &u)) return -1;
        cu[i] = redu64(u, mu);
        break;
      case PC_INT: cu[i] = redu64((uint64_t)c->v, mu); break;
      case PC_ADD: cu[i] = (cu[c->x] + cu[c->y]) % mu; break;
      case PC_SUB: cu[i] = (cu[c->x] + mu - cu[c->y]) % mu; break;
      case PC_MUL: cu[i] = mulmodu(cu[c->x], cu[c->y], mu); break;
      default: cu[i] = cu[c->x] ? mu - cu[c->x] : 0; break;
    }
  }
  for (i = 0; i < g->nlive; i++) {
    int s = g->live[i];
    const int *row = &p->rows[(size_t)s * w];
    const plan_State *st = &p->state[s];
    for (j = 0; j < k; j++) {
      int c = j < g->nlive ? row[g->live[j]] : row[p->nstate];
      mat[i * k + j] = c == PLAN_ZERO ? 0 : cu[c];
    }
    if (st->kind == PS_SLOT || st->kind == PS_INDEX) {
      if (!entryu64(g, s, &u)) return -1;
      v[i] = redu64(u, mu);
    }
    else if (st->kind == PS_MONO) {
      v[i] = 1 % mu;
      for (f = 0; f < st->nfac; f++) {
        if (!entryu64(g, st->fac[f], &u)) return -1;
        v[i] = mulmodu(v[i], redu64(u, mu), mu);
      }
    }
    else v[i] = 0;
  }
  v[g->nlive] = 1 % mu;
  if (mat_mod_u64_powapply(k, mat, out, v, count_mpz(&g->c, limbs, tmp), mu)
      != MAT_OK)
    return fail(g, "the matrix power failed");
  guard_pushok(L, p->nout);
  for (i = 0; i < p->nout; i++) {
    const plan_Out *o = &p->out[i];
    if (o->state >= 0) {
      uint64_t r = out[g->pos[o->state]];
      int64_t x = (int64_t)r;
      if (mneg && r != 0) x = (int64_t)(r - mu);  /* the sign of m */
      if (g->fin[o->slot] == VT_BIG) big_setint(big_push(L), (lua_Integer)x);
      else pushu64(L, (uint64_t)x, g->fin[o->slot]);
    }
    else lua_pushvalue(L, g->abase + o->atom);
  }
  return 1 + p->nout;
}


/* Z/m: computes and pushes the outputs. */
static int ringmod (Guard *g, uint64_t *cu, uint64_t *mat) {
  lua_State *L = g->L;
  const plan_Plan *p = g->p;
  int k = g->nlive + 1, w = p->nstate + 1, i, j, f;
  int nz = p->ncoefs + 2 * k * k + 2 * k + 4;
  Pool *pl;
  mpz_ptr *cz, m, am, fz, *bz, *vz;
  mpz_srcptr e, n;
  mp_limb_t limbs[4];
  mpz_t tmp;
  unsigned okty = CPM_LUA54 ? bit(VT_INT) | bit(VT_BIG)
                            : bit(VT_FLT) | bit(VT_BIG);
  uint64_t mu;
  if (g->all & ~okty)
    return fail(g, "a reduction of floats follows fmod's rules");
  if (count_below(&g->c, (uint64_t)p->nstate + 2)) return 0;
  if (!(g->all & bit(VT_BIG)) && tou64(L, g->abase + p->modatom, &mu) &&
      mu != 0 && mu != ((uint64_t)1 << 63)) {  /* |m| < 2^63 */
    int mneg = (int64_t)mu < 0, res;
    if (mneg) mu = 0 - mu;
    if (!modbounds(g, log2((double)mu))) return 0;
    res = ringmod64(g, mu, mneg, cu, mat);
    if (res >= 0) return res;
  }
  pl = pushpool(L, nz);
  cz = (mpz_ptr *)cpm_newbuffer(L, (size_t)(nz + 1) * sizeof(mpz_ptr));
  for (i = 0; i < nz; i++) cz[i] = pl->z[i];
  bz = cz + p->ncoefs;
  vz = bz + (size_t)k * k;
  m = vz[k]; am = vz[k + 1]; fz = vz[k + 2];
  e = tompz(L, g->abase + p->modatom, m);
  if (e == NULL) return fail(g, "the modulus is not an integer");
  if (e != m) mpz_set(m, e);
  if (mpz_sgn(m) == 0) return fail(g, "a reduction modulo 0");
  mpz_abs(am, m);
  if (!modbounds(g, log2mpz(am))) return 0;
  /* coefficients, exactly, then reduced */
  for (i = 0; i < p->ncoefs; i++) {
    const plan_Coef *c = &p->coefs[i];
    switch (c->kind) {
      case PC_ATOM:
        e = tompz(L, g->abase + c->x, cz[i]);
        if (e == NULL) return fail(g, "a coefficient is not an integer");
        if (e != cz[i]) mpz_set(cz[i], e);
        break;
      case PC_INT: big_setint(cz[i], (lua_Integer)c->v); break;
      case PC_ADD: mpz_add(cz[i], cz[c->x], cz[c->y]); break;
      case PC_SUB: mpz_sub(cz[i], cz[c->x], cz[c->y]); break;
      case PC_MUL: mpz_mul(cz[i], cz[c->x], cz[c->y]); break;
      default: mpz_neg(cz[i], cz[c->x]); break;
    }
    mpz_fdiv_r(cz[i], cz[i], am);  /* kept small: products stay cheap */
  }
  for (i = 0; i < g->nlive; i++) {
    int s = g->live[i];
    const int *row = &p->rows[(size_t)s * w];
    const plan_State *st = &p->state[s];
    for (j = 0; j < k; j++) {
      int c = j < g->nlive ? row[g->live[j]] : row[p->nstate];
      if (c == PLAN_ZERO) mpz_set_ui(bz[i * k + j], 0);
      else mpz_set(bz[i * k + j], cz[c]);
    }
    if (st->kind == PS_SLOT || st->kind == PS_INDEX) {
      e = entrympz(g, s, fz);
      if (e == NULL) return fail(g, "a loop value is not an integer");
      mpz_fdiv_r(vz[i], e, am);
    }
    else if (st->kind == PS_MONO) {
      mpz_set_ui(vz[i], 1);
      for (f = 0; f < st->nfac; f++) {
        e = entrympz(g, st->fac[f], fz);
        if (e == NULL) return fail(g, "a loop value is not an integer");
        mpz_mul(vz[i], vz[i], e);
        mpz_fdiv_r(vz[i], vz[i], am);
      }
    }
    else mpz_set_ui(vz[i], 0);
  }
  for (j = 0; j < k; j++) mpz_set_ui(bz[g->nlive * k + j], j == g->nlive);
  mpz_set_ui(vz[g->nlive], 1);
  n = count_mpz(&g->c, limbs, tmp);
  if (mpz_sizeinbase(am, 2) < 63) {
    uint64_t *bu = (uint64_t *)cpm_newbuffer(L, ((size_t)k * k + 2 * (size_t)k)
                                             * sizeof(uint64_t));
    uint64_t *vu = bu + (size_t)k * k, *ou = vu + k;
    for (i = 0; i < k * k; i++) bu[i] = mpz_get_ui(bz[i]);
    for (i = 0; i < k; i++) vu[i] = mpz_get_ui(vz[i]);
    if (mat_mod_u64_powapply(k, bu, ou, vu, n, mpz_get_ui(am)) != MAT_OK)
      return fail(g, "the matrix power failed");
    for (i = 0; i < k; i++) mpz_set_ui(vz[i], ou[i]);
  }
  else {
    if (2 * (uint64_t)mpz_sizeinbase(am, 2) + BIGMARGIN > g->cfg->maxbits)
      return fail(g, "the computation would exceed the bignum size limit");
    if (mat_mod_mpz_powapply(k, (mpz_srcptr *)bz, vz, (mpz_srcptr *)vz, n, am)
        != MAT_OK)
      return fail(g, "the matrix power failed");
  }
  guard_pushok(L, p->nout);
  for (i = 0; i < p->nout; i++) {
    const plan_Out *o = &p->out[i];
    if (o->state >= 0) pushmod(L, vz[g->pos[o->state]], m, g->fin[o->slot]);
    else lua_pushvalue(L, g->abase + o->atom);
  }
  return 1 + p->nout;
}

/* }====================================================== */


/* {======================================================
** The guard
** ======================================================= */

/* Allocates the scratch arrays of 'g' in one userdata (on the stack). */
static void scratch (Guard *g, double **w, double **alog, uint64_t **cu,
                     uint64_t **mat) {
  const plan_Plan *p = g->p;
  size_t ns = (size_t)p->nstate, k = ns + 1;
  size_t nd = 2 * k * k + 5 * k + 2 * (size_t)p->ncoefs + 1;
  size_t nu = (size_t)p->ncoefs + k * k + 2 * k + 1;
  size_t nb = (size_t)p->nslots * 2 + (size_t)p->natoms + (HISTORY + 1) * ns;
  size_t nw = 2 * (ns + (size_t)p->nbrows), ni = 2 * ns + 2;
  size_t size = nd * sizeof(double) + nu * sizeof(uint64_t) +
                nw * sizeof(unsigned) + ni * sizeof(int) + nb + 16;
  char *b = size <= sizeof(g->buf) ? g->buf.c
                                   : (char *)cpm_newbuffer(g->L, size);
  memset(b, 0, size);
  *w = (double *)b; b += (2 * k * k + 5 * k + (size_t)p->ncoefs) * sizeof(double);
  *alog = (double *)b; b += ((size_t)p->ncoefs + 1) * sizeof(double);
  *cu = (uint64_t *)b; b += ((size_t)p->ncoefs + 1) * sizeof(uint64_t);
  *mat = (uint64_t *)b; b += (k * k + 2 * k) * sizeof(uint64_t);
  g->stpre = (unsigned *)b; b += ns * sizeof(unsigned);
  g->stcyc = (unsigned *)b; b += ns * sizeof(unsigned);
  g->brpre = (unsigned *)b; b += (size_t)p->nbrows * sizeof(unsigned);
  g->brcyc = (unsigned *)b; b += (size_t)p->nbrows * sizeof(unsigned);
  g->live = (int *)b; b += (ns + 1) * sizeof(int);
  g->pos = (int *)b; b += (ns + 1) * sizeof(int);
  g->sty = (unsigned char *)b; b += p->nslots;
  g->fin = (unsigned char *)b; b += p->nslots;
  g->aty = (unsigned char *)b; b += p->natoms;
  g->hist = (unsigned char *)b;
}


/* Could a -0.0 made in the body reach an output that ends as a float? */
static int negzeroout (const Guard *g) {
  int i;
  for (i = 0; i < g->p->nout; i++)
    if (g->p->out[i].mayneg0 && g->fin[g->p->out[i].slot] == VT_FLT) return 1;
  return 0;
}


int guard_objslot (const plan_Plan *p) {
  int i;
  for (i = 0; i < p->nout; i++) {
    int s = p->out[i].slot;
    int input = s >= 0 && s < p->nslots && p->slot_in[s] >= 0;
    if (p->kind == IR_FORNUM) return input ? s : -1;
    if (p->kind != IR_WHILE && p->kind != IR_REPEAT) return -1;
    if (input && s != p->index) return s;
  }
  return -1;
}


/* Is this a call that the LuaJIT bytecode front end makes below the
   default limit for a loop whose value guard_objslot holds a userdata at
   entry, from GUARD_OBJ_ITERS_LIMIT iterations (guard.h), and is that
   userdata a cpm.big?  (Any other value: the loop as written, untold, as
   a call below the limit.) */
static int objloop (Guard *g, lua_Integer limit) {
#if CPM_LUAJIT
  const plan_Plan *p = g->p;
  int s = guard_objslot(p);
  if (s < 0 || limit != guard_defaultlimit(p)) return 0;
  return big_test(g->L, g->ibase + p->slot_in[s]) != NULL &&
         !count_below(&g->c, GUARD_OBJ_ITERS_LIMIT);
#else
  (void)g; (void)limit;
  return 0;
#endif
}


/* Tries to compute the loop; returns the number of results or 0. */
static int attempt (Guard *g, lua_Integer limit, int prepared) {
  lua_State *L = g->L;
  const plan_Plan *p = g->p;
  double *w, *alog;
  uint64_t *cu, *mat;
  count_Status cs;
  g->c.bign = g->c.bstart = g->c.bstep = NULL;
  if (lua_gettop(L) < 3 + p->nin)
    return failmem(g, "the guard call lacks arguments");
  g->ibase = 4;
  if (p->kind == IR_FORRANGE) {
    g->c.bign = big_push(L);
    g->c.bstart = big_push(L);
    g->c.bstep = big_push(L);
    cs = count_forrange(L, 1, &g->c);
  }
  else {
    if (p->w.active) {  /* while, repeat: counted into control values */
      const char *why = guard_while_control(L, p, g->ibase);
      if (why != NULL) return fail(g, why);
      prepared = 0;
    }
    cs = prepared ? count_fornumprep(L, 1, &g->c)
                  : count_fornum(L, 1, &g->c);
  }
  if (cs != COUNT_OK)
    return fail(g, "loop control values it cannot count exactly");
  g->counted = 1;
  if (count_below(&g->c, limit < 1 ? 1 : (uint64_t)limit) && !objloop(g, limit)) {
    g->below = 1;
    return 0;  /* too short to be worth it: not a failure */
  }
  if (p->index >= 0 && g->c.itype == VT_FLT && g->c.fstart == 0 &&
      signbit(g->c.fstart))  /* the rings have no -0.0 */
    return fail(g, "the loop variable starts at -0.0");
  if (!atoms(g)) return 0;
  if (p->w.active && p->w.endatom >= 0) {  /* a while loop's final counter */
    guard_while_pushend(L, &g->c);
    lua_replace(L, g->abase + p->w.endatom);
  }
  if (p->ring == PLAN_GF2) {  /* xor/shift bodies: guard_gf2.c */
    mp_limb_t limbs[4];
    mpz_t tmp;
    return guard_gf2(L, p, g->abase, g->ibase, count_mpz(&g->c, limbs, tmp),
                     lua_upvalueindex(UP_GF2), &g->why);
  }
  scratch(g, &w, &alog, &cu, &mat);
  if (!types(g)) return 0;
  livestates(g);
  if (p->modatom >= 0) {
    if (g->negzero && negzeroout(g))
      return fail(g, "a float result could be -0.0");
    return ringmod(g, cu, mat);
  }
  if (g->all == bit(VT_INT))
    return ringu64(g, cu, mat);
  if (!bounds(g, alog, w)) {
    if ((g->all & bit(VT_BIG)) && surelytoobig(g, w, (unsigned char *)cu))
      g->toobig = 1;
    return 0;
  }
  if (g->negzero && negzeroout(g))
    return fail(g, "a float result could be -0.0");
  return (g->all & bit(VT_BIG)) ? ringz(g) : ringu64(g, cu, mat);
}


lua_Integer guard_defaultlimit (const plan_Plan *p) {
  double k = p->nstate, b = p->nbrows;
  double den = GUARD_GK * k + b + GUARD_G1;
  double l = GUARD_SCALE * (GUARD_G0 + GUARD_GP * pow(k, GUARD_P) +
                            GUARD_GB * b) / (den >= 1 ? den : 1);
  if (!(l < (double)GUARD_MAX_ITERS_LIMIT)) return GUARD_MAX_ITERS_LIMIT;
  if (l < GUARD_MIN_ITERS_LIMIT) return GUARD_MIN_ITERS_LIMIT;
  return (lua_Integer)ceil(l);
}


/* The counts of the record at 'record' (guard.h), or NULL. */
static lua_Integer *counts (lua_State *L, int record) {
  lua_Integer *k;
  if (!lua_istable(L, record)) return NULL;
  lua_pushliteral(L, "counts");
  lua_rawget(L, record);
  k = (lua_Integer *)lua_touserdata(L, -1);  /* the record anchors it */
  lua_pop(L, 1);
  return k;
}


/* Adds one to the count of 'why' in the record at 'record'. */
static void countreason (lua_State *L, int record, const char *why) {
  luaL_checkstack(L, 4, NULL);
  lua_pushliteral(L, "reasons");
  lua_rawget(L, record);
  if (lua_istable(L, -1)) {
    lua_pushstring(L, why);
    lua_pushvalue(L, -1);
    lua_rawget(L, -3);
    lua_pushinteger(L, lua_tointeger(L, -1) + 1);
    lua_replace(L, -2);
    lua_rawset(L, -3);
  }
  lua_pop(L, 1);
}


void guard_count (lua_State *L, int record, int which, const char *why) {
  lua_Integer *k;
  record = cpm_absindex(L, record);
  luaL_checkstack(L, 2, NULL);
  if ((k = counts(L, record)) == NULL) return;
  k[which]++;
  if (why != NULL) countreason(L, record, why);
}


void guard_onfallback (lua_State *L, int fn, const char *where,
                       const char *why, const count_Loop *c) {
  fn = cpm_absindex(L, fn);
  if (lua_isnil(L, fn)) return;
  luaL_checkstack(L, 5, NULL);
  lua_pushvalue(L, fn);
  lua_pushstring(L, where);
  lua_pushstring(L, why);
  if (c == NULL) lua_pushnil(L);
  else if (!c->nbig && !c->n64 && c->n <= ((uint64_t)1 << 53))
    lua_pushinteger(L, (lua_Integer)c->n);
  else {
    mp_limb_t limbs[4];
    mpz_t tmp;
    mpz_ptr z = big_push(L);
    mpz_set(z, count_mpz(c, limbs, tmp));
  }
  lua_call(L, 3, 0);  /* the user's function: its errors are its own */
}


/*
** Counts a fallback ('why' given) or a success ('why' NULL, results
** computed) of the call site; the GUARD_FALLBACKS_TO_STOP-th fallback in
** a row sets the guard's entry in its hook table to false.
*/
static void tally (lua_State *L, const char *why, int transient) {
  lua_Integer n = 0;
  if (transient || lua_isnil(L, lua_upvalueindex(UP_HOOKS))) return;
  if (why != NULL)
    n = lua_tointeger(L, lua_upvalueindex(UP_FALLBACKS)) + 1;
  lua_pushinteger(L, n);
  lua_replace(L, lua_upvalueindex(UP_FALLBACKS));
  if (n >= GUARD_FALLBACKS_TO_STOP) {
    lua_pushboolean(L, 0);
    lua_rawseti(L, lua_upvalueindex(UP_HOOKS),
                lua_tointeger(L, lua_upvalueindex(UP_ID)));
  }
}


static int guard_call (lua_State *L) {
  Guard g;
  int nres, top;
  lua_Integer *k = (lua_Integer *)lua_touserdata(L, lua_upvalueindex(UP_COUNTS));
  /* Under a line hook (a debugger stepping, a coverage tool counting) the
     loop's lines must run and be seen: it runs as written, not a failure. */
  if (lua_gethookmask(L) & LUA_MASKLINE) {
    lua_pushboolean(L, 0);
    return 1;
  }
  /* not the scratch buffer: scratch() clears what it hands out */
  memset(&g, 0, offsetof(Guard, buf));
  g.all = 0;
  g.L = L;
  g.cfg = cpm_config(L);
  g.p = plan_test(L, lua_upvalueindex(UP_PLAN));
  if (g.p == NULL) {  /* finalized, reached again by a finalizer: as written */
    lua_pushboolean(L, 0);
    return 1;
  }
  top = lua_gettop(L);
  nres = attempt(&g, (lua_Integer)lua_tointeger(L, lua_upvalueindex(UP_LIMIT)),
                 lua_toboolean(L, lua_upvalueindex(UP_PREPARED)));
  if (nres > 0) {
    if (g.p->kind == IR_FORRANGE) range_finish(range_test(L, 2));
    tally(L, NULL, 0);
    k[GUARD_COMPUTED]++;
    return nres;
  }
  lua_settop(L, top);
  if (g.below) k[GUARD_BELOW_LIMIT]++;
  else if (!g.toobig) {
    k[GUARD_FELL_BACK]++;
    if (g.why != NULL) countreason(L, lua_upvalueindex(UP_RECORD), g.why);
  }
  if (g.toobig) {
    char bits[32];
    snprintf(bits, sizeof(bits), "%" PRIu64, g.cfg->maxbits);
    lua_pushfstring(L, "cpm: %s: the loop's values would exceed the bignum "
                    "size limit (%s bits, see cpm.maxbits)",
                    lua_tostring(L, lua_upvalueindex(UP_WHERE)), bits);
    return lua_error(L);
  }
  if (g.why != NULL && lua_toboolean(L, lua_upvalueindex(UP_STRICT))) {
    lua_pushfstring(L, "cpm: %s: %s", lua_tostring(L, lua_upvalueindex(UP_WHERE)),
                    g.why);  /* names the loop itself: no position prefix */
    return lua_error(L);
  }
  if (g.why != NULL) tally(L, g.why, g.transient);
  if (!g.below)
    guard_onfallback(L, lua_upvalueindex(UP_ONFALLBACK),
                     lua_tostring(L, lua_upvalueindex(UP_WHERE)),
                     g.why != NULL ? g.why : "no reason given",
                     g.counted ? &g.c : NULL);
  lua_pushboolean(L, 0);
  if (g.why == NULL) return 1;
  lua_pushstring(L, g.why);
  return 2;
}


/* Pushes the record of site 's' (guard.h, GUARD_STATSKEY). */
static void pushrecord (lua_State *L, const guard_Site *s) {
  if (s->record) {
    lua_pushvalue(L, s->record);
    return;
  }
  lua_createtable(L, 0, 3);
  lua_pushstring(L, s->where);
  lua_setfield(L, -2, "where");
  memset(cpm_newuserdata(L, sizeof(lua_Integer) * GUARD_NCOUNTS), 0,
         sizeof(lua_Integer) * GUARD_NCOUNTS);
  lua_setfield(L, -2, "counts");
  lua_newtable(L);
  lua_setfield(L, -2, "reasons");
  if (s->stats) {
    lua_pushliteral(L, GUARD_STATSKEY);
    lua_rawget(L, s->stats);
    if (!lua_istable(L, -1)) {
      lua_pop(L, 1);
      lua_newtable(L);
      lua_pushliteral(L, GUARD_STATSKEY);
      lua_pushvalue(L, -2);
      lua_rawset(L, s->stats);
    }
    lua_pushvalue(L, -2);
    lua_rawseti(L, -2, s->id);
    lua_pop(L, 1);
  }
}


void guard_pushsite (lua_State *L, int cfg, int plan, const guard_Site *s) {
  guard_Site a = *s;  /* its stack indices made absolute */
  a.hooks = s->hooks ? cpm_absindex(L, s->hooks) : 0;
  a.stats = s->stats ? cpm_absindex(L, s->stats) : 0;
  a.record = s->record ? cpm_absindex(L, s->record) : 0;
  a.onfallback = s->onfallback ? cpm_absindex(L, s->onfallback) : 0;
  cfg = cpm_absindex(L, cfg);
  plan = cpm_absindex(L, plan);
  luaL_checkstack(L, UP_N + 4, NULL);
  pushrecord(L, &a);
  a.record = lua_gettop(L);
  if (plan_test(L, plan) != NULL && plan_test(L, plan)->branch != NULL) {
    plan_branch_guard(L, cfg, plan, &a);
    lua_remove(L, a.record);
    return;
  }
  if (plan_test(L, plan) != NULL && plan_test(L, plan)->nest != NULL) {
    plan_nest_guard(L, cfg, plan, &a);
    lua_remove(L, a.record);
    return;
  }
  lua_pushvalue(L, cfg);
  lua_pushvalue(L, plan);
  lua_pushinteger(L, a.iters_limit);
  lua_pushboolean(L, a.strict);
  lua_pushstring(L, a.where);
  lua_pushboolean(L, a.prepared);
  if (a.hooks) lua_pushvalue(L, a.hooks);
  else lua_pushnil(L);
  lua_pushinteger(L, a.id);
  lua_pushinteger(L, 0);
  lua_pushnil(L);  /* UP_GF2: the GF(2) engine's cache (guard_gf2.c) */
  lua_pushvalue(L, a.record);
  lua_getfield(L, a.record, "counts");
  if (a.onfallback) lua_pushvalue(L, a.onfallback);
  else lua_pushnil(L);
  lua_pushnil(L);  /* UP_ZCACHE: the exact ring's plan and work values */
  lua_pushcclosure(L, guard_call, UP_N);
  lua_remove(L, a.record);
}


void guard_push (lua_State *L, int cfg, int plan, lua_Integer iters_limit,
                 int strict, const char *where) {
  guard_Site s;
  s.iters_limit = iters_limit;
  s.strict = strict;
  s.prepared = 0;
  s.hooks = 0;
  s.id = 0;
  s.where = where;
  s.stats = s.record = s.onfallback = 0;
  guard_pushsite(L, cfg, plan, &s);
}

/* }====================================================== */
