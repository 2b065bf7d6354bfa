/*
** count.c -- iteration counts exactly as each VM computes them.
**
** Lua 5.4 (lvm.c, forprep): when the initial value and the step are
** integers the loop is an integer loop; the limit is clipped to an integer
** (floor for a positive step, ceil for a negative one; a float beyond the
** integer range clips to maxinteger/mininteger or skips the loop) and the
** count is precomputed as an unsigned division, so it never overflows.
** Otherwise the loop is a float loop stepping by repeated addition.
** LuaJIT: every loop is a float loop.  Float loops are handled only when
** all their values are integers below 2^53, where repeated addition is
** exact; anything else is left to the VM.
*/
#include <math.h>

#include "count.h"
#include "big.h"
#include "range.h"

#define TWO53	9007199254740992.0	/* 2^53 */
#define TWO63	9223372036854775808.0	/* 2^63 */


vtype count_vtype (lua_State *L, int idx) {
  switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
#if CPM_LUA54
      return lua_isinteger(L, idx) ? VT_INT : VT_FLT;
#else
      return VT_FLT;
#endif
    case LUA_TUSERDATA:
      return big_test(L, idx) ? VT_BIG : VT_OTHER;
    default:
      return VT_OTHER;
  }
}


static int isexact (double x) {
  return x == floor(x) && fabs(x) < TWO53;
}


/* A float loop whose values are all exact integers. */
static count_Status floatloop (double init, double limit, double step,
                               count_Loop *c) {
  double last;
  if (step == 0) return COUNT_UNKNOWN;
  c->itype = VT_FLT;
  c->fstart = init;
  c->fstep = step;
  c->n = 0; c->n64 = 0; c->nbig = 0;
  if (limit != limit) {  /* NaN: every comparison with it is false */
#if CPM_LUA54
    /* lvm.c's forprep skips the loop only when `limit < init` (or
       `init < limit` going down) holds, and floatforloop goes on only
       when `idx <= limit` does: one iteration, at init */
    if (!isexact(init) || !isexact(step)) return COUNT_UNKNOWN;
    c->n = 1;
#endif
    /* LuaJIT's FORI enters only when `init <= limit` (or >=): none */
    return COUNT_OK;
  }
  if (!isexact(init) || !isexact(step)) return COUNT_UNKNOWN;
  if (step > 0 ? limit < init : init < limit)
    return COUNT_OK;  /* skipped */
  last = step > 0 ? floor(limit) : ceil(limit);
  if (fabs(last) + fabs(step) >= TWO53)
    return COUNT_UNKNOWN;  /* would step past exact floats */
  c->n = (uint64_t)((step > 0 ? last - init : init - last) / fabs(step)) + 1;
  return COUNT_OK;
}


#if CPM_LUA54

/* Lua 5.4's 'forlimit': returns 1 when the loop must not run. */
static int forlimit (lua_State *L, int idx, lua_Integer init,
                     lua_Integer step, lua_Integer *p) {
  if (lua_isinteger(L, idx)) *p = lua_tointeger(L, idx);
  else {
    double f = lua_tonumber(L, idx);
    double fl = step < 0 ? ceil(f) : floor(f);
    if (fl >= -TWO63 && fl < TWO63) *p = (lua_Integer)fl;
    else if (0 < f) {  /* too large (NaN goes below) */
      if (step < 0) return 1;
      *p = LUA_MAXINTEGER;
    }
    else {
      if (step > 0) return 1;
      *p = LUA_MININTEGER;
    }
  }
  return step > 0 ? init > *p : init < *p;
}


uint64_t count_intsteps (lua_Integer init, lua_Integer limit,
                         lua_Integer step) {
  if (step > 0) {
    uint64_t count = (uint64_t)limit - (uint64_t)init;
    return step == 1 ? count : count / (uint64_t)step;
  }
  /* -(step + 1) + 1 is -step, without overflow for LUA_MININTEGER */
  return ((uint64_t)init - (uint64_t)limit) / ((uint64_t)(-(step + 1)) + 1u);
}


count_Status count_fornum (lua_State *L, int first, count_Loop *c) {
  vtype ti = count_vtype(L, first), tl = count_vtype(L, first + 1),
        ts = count_vtype(L, first + 2);
  c->nbig = 0; c->n64 = 0; c->n = 0;
  if (tl != VT_INT && tl != VT_FLT) return COUNT_UNKNOWN;
  if (ti == VT_INT && ts == VT_INT) {
    lua_Integer init = lua_tointeger(L, first);
    lua_Integer step = lua_tointeger(L, first + 2);
    lua_Integer limit;
    if (step == 0) return COUNT_UNKNOWN;  /* the VM raises */
    c->itype = VT_INT;
    c->istart = init;
    c->istep = step;
    if (forlimit(L, first + 1, init, step, &limit)) return COUNT_OK;
    /* the first iteration, plus the steps after it */
    c->n = count_intsteps(init, limit, step) + 1;
    c->n64 = (c->n == 0);
    return COUNT_OK;
  }
  if ((ti == VT_INT || ti == VT_FLT) && (ts == VT_INT || ts == VT_FLT))
    return floatloop(lua_tonumber(L, first), lua_tonumber(L, first + 1),
                     lua_tonumber(L, first + 2), c);
  return COUNT_UNKNOWN;
}

count_Status count_fornumprep (lua_State *L, int first, count_Loop *c) {
  c->nbig = 0; c->n64 = 0; c->n = 0;
  if (count_vtype(L, first + 2) == VT_INT) {
    if (!lua_isinteger(L, first) || !lua_isinteger(L, first + 1))
      return COUNT_UNKNOWN;  /* not a state FORPREP leaves */
    c->itype = VT_INT;
    c->istart = lua_tointeger(L, first);
    c->istep = lua_tointeger(L, first + 2);
    c->n = (uint64_t)lua_tointeger(L, first + 1) + 1;
    c->n64 = (c->n == 0);
    return c->istep == 0 ? COUNT_UNKNOWN : COUNT_OK;
  }
  if (count_vtype(L, first) != VT_FLT || count_vtype(L, first + 1) != VT_FLT ||
      count_vtype(L, first + 2) != VT_FLT)
    return COUNT_UNKNOWN;
  return floatloop(lua_tonumber(L, first), lua_tonumber(L, first + 1),
                   lua_tonumber(L, first + 2), c);
}

#else

count_Status count_fornumprep (lua_State *L, int first, count_Loop *c) {
  return count_fornum(L, first, c);  /* LuaJIT's FORI keeps the values */
}

count_Status count_fornum (lua_State *L, int first, count_Loop *c) {
  c->nbig = 0; c->n64 = 0; c->n = 0;
  if (lua_type(L, first) != LUA_TNUMBER ||
      lua_type(L, first + 1) != LUA_TNUMBER ||
      lua_type(L, first + 2) != LUA_TNUMBER)
    return COUNT_UNKNOWN;
  return floatloop(lua_tonumber(L, first), lua_tonumber(L, first + 1),
                   lua_tonumber(L, first + 2), c);
}

#endif


/* 'z' into '*u' when it fits 64 unsigned bits. */
static int fitsu64 (mpz_srcptr z, uint64_t *u) {
  if (mpz_sgn(z) < 0 || mpz_sizeinbase(z, 2) > 64) return 0;
  *u = 0;
  mpz_export(u, NULL, -1, sizeof(*u), 0, 0, z);
  return 1;
}


count_Status count_forrange (lua_State *L, int first, count_Loop *c) {
  range_State *r;
  c->nbig = 0; c->n64 = 0; c->n = 0;
  if (lua_tocfunction(L, first) != range_next ||
      (r = range_test(L, first + 1)) == NULL ||
      !lua_isnil(L, first + 2))  /* a closing value would need closing */
    return COUNT_UNKNOWN;
  if (!range_remaining(r, c->bign, c->bstart)) return COUNT_UNKNOWN;
  switch (r->kind) {
    case RANGE_INT:
      c->itype = VT_INT;
      c->istep = r->step;
      if (!big_getint(c->bstart, &c->istart)) return COUNT_UNKNOWN;
      break;
    case RANGE_FLT:
      c->itype = VT_FLT;
      c->fstep = r->fstep;
      c->fstart = mpz_get_d(c->bstart);
      if (c->fstart == 0 && r->fi == 0)
        c->fstart = r->fi;  /* the next value as the range yields it: -0.0 too */
      if (!isexact(c->fstart) || !isexact(c->fstep)) return COUNT_UNKNOWN;
      break;
    default:
      c->itype = VT_BIG;
      mpz_set(c->bstep, r->bstep);
      break;
  }
  if (!fitsu64(c->bign, &c->n)) c->nbig = 1;
  return COUNT_OK;
}


int count_below (const count_Loop *c, uint64_t limit) {
  if (c->nbig || c->n64) return 0;
  return c->n < limit;
}


mpz_srcptr count_mpz (const count_Loop *c, mp_limb_t limbs[4], mpz_ptr tmp) {
  int size = 0;
  if (c->nbig) return c->bign;
#if GMP_NUMB_BITS == 64
  limbs[0] = (mp_limb_t)c->n;
  limbs[1] = (mp_limb_t)c->n64;
  size = c->n64 ? 2 : (c->n ? 1 : 0);
#elif GMP_NUMB_BITS == 32
  limbs[0] = (mp_limb_t)(c->n & 0xffffffffu);
  limbs[1] = (mp_limb_t)(c->n >> 32);
  limbs[2] = (mp_limb_t)c->n64;
  size = c->n64 ? 3 : limbs[1] ? 2 : limbs[0] ? 1 : 0;
#else
#error "unsupported GMP limb size"
#endif
  return mpz_roinit_n(tmp, limbs, size);
}
