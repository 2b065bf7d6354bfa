/*
** range.c -- cpm.range([first,] last [, step]): an iterator that visits
** exactly the values of `for i = first, last, step`, bignums allowed.
**
** One C iterator function (range_next) and a state userdata whose layout
** is public (range.h), so that the optimizer can recognize a loop over a
** range and read how many iterations are left.  With Lua 5.4 integers the
** count is precomputed as lvm.c's forprep does (unsigned, no overflow at
** the integer bounds); on LuaJIT plain numbers step as LuaJIT's numeric
** for does (doubles, i = i + step while not past the limit); with any
** bignum everything is exact.
*/
#include <math.h>

#include "big.h"
#include "count.h"
#include "range.h"


/* Registry key of the iterator closure on LuaJIT (no light functions). */

/* 'for' argument names, as in Lua's error messages. */
static const char *const range_what[] = {"initial value", "limit", "step"};

/* A 'for' value that is not a number, in the words of the VM's own for. */
#if CPM_LUA54
#define RANGE_NOTNUMBER	"bad 'for' %s (number expected, got %s)"
#else
#define RANGE_NOTNUMBER	"'for' %s must be a number"
#endif


range_State *range_test (lua_State *L, int idx) {
  return (range_State *)cpm_testudata(L, idx, RANGE_MT);
}


static range_State *range_check (lua_State *L, int idx) {
  return (range_State *)luaL_checkudata(L, idx, RANGE_MT);
}


/* Sets 'z' to the uint64 'u' whatever the width of long. */
static void range_setu64 (mpz_ptr z, uint64_t u) {
  mpz_set_ui(z, (unsigned long)(u >> 32));
  mpz_mul_2exp(z, z, 32);
  mpz_add_ui(z, z, (unsigned long)(u & 0xffffffffu));
}


int range_next (lua_State *L) {
  range_State *r = range_check(L, 1);
  if (r->done) {
    lua_pushnil(L);
    return 1;
  }
  switch (r->kind) {
    case RANGE_INT: {
      lua_Integer v = r->i;
      if (r->count == 0) r->done = 1;
      else {
        r->count--;
        r->i = (lua_Integer)((uint64_t)r->i + (uint64_t)r->step);
      }
      lua_pushinteger(L, v);
      break;
    }
    case RANGE_FLT: {
      double v = r->fi;
      if (r->fstep > 0 ? v <= r->flimit : v >= r->flimit) {
        r->fi = v + r->fstep;
        lua_pushnumber(L, v);
      }
      else {
        r->done = 1;
        lua_pushnil(L);
      }
      break;
    }
    default: {
      mpz_ptr v = big_push(L);
      mpz_set(v, r->bi);
      if (mpz_sgn(r->bcount) == 0) r->done = 1;
      else {
        mpz_sub_ui(r->bcount, r->bcount, 1);
        mpz_add(r->bi, r->bi, r->bstep);
      }
      break;
    }
  }
  return 1;
}


int range_remaining (const range_State *r, mpz_ptr count, mpz_ptr next) {
  mpz_set_ui(count, 0);
  mpz_set_ui(next, 0);
  if (r->done) return 1;
  switch (r->kind) {
    case RANGE_INT:
      range_setu64(count, r->count);
      mpz_add_ui(count, count, 1);
      big_setint(next, r->i);
      return 1;
    case RANGE_FLT: {
      const double m = 0x1p53;
      int64_t n;
      if (!(r->fstep > 0 ? r->fi <= r->flimit : r->fi >= r->flimit))
        return 1;
      if (fabs(r->fi) > m || fabs(r->flimit) > m || fabs(r->fstep) > m)
        return 0;  /* doubles may round: not a plain count */
      n = ((int64_t)r->flimit - (int64_t)r->fi) / (int64_t)r->fstep + 1;
      mpz_set_d(count, (double)n);
      mpz_set_d(next, r->fi);
      return 1;
    }
    default:
      mpz_add_ui(count, r->bcount, 1);
      mpz_set(next, r->bi);
      return 1;
  }
}


void range_finish (range_State *r) {
  r->done = 1;
}


/* Frees the bignums; idempotent (leaves valid zeros behind). */
static int range_gc (lua_State *L) {
  range_State *r = range_check(L, 1);
  mpz_clear(r->bi);
  mpz_clear(r->bstep);
  mpz_clear(r->bcount);
  mpz_init(r->bi);
  mpz_init(r->bstep);
  mpz_init(r->bcount);
  r->done = 1;
  return 0;
}


/*
** Argument 'idx' (0: initial value, 1: limit, 2: step) must be a number or
** a bignum with an integral value; raises Lua's 'for' errors otherwise.
** An infinite limit is allowed (Lua clips it).  Returns 1 for a bignum.
*/
static int range_checkarg (lua_State *L, int arg, int which) {
  if (big_test(L, arg) != NULL) return 1;
  if (lua_type(L, arg) != LUA_TNUMBER)
    luaL_error(L, RANGE_NOTNUMBER, range_what[which], luaL_typename(L, arg));
#if CPM_LUA54
  if (lua_isinteger(L, arg)) return 0;
#endif
  {
    lua_Number f = lua_tonumber(L, arg);
    if (which == 1 && isinf(f)) return 0;
    if (f != floor(f) || isinf(f))
      luaL_error(L, "'for' %s must be an integer", range_what[which]);
  }
  return 0;
}


/* Converts argument 'arg' (checked) exactly into 'z'. */
static void range_tobig (lua_State *L, int arg, int which, mpz_ptr z) {
  mpz_ptr b = big_test(L, arg);
  if (b != NULL) mpz_set(z, b);
#if CPM_LUA54
  else if (lua_isinteger(L, arg)) big_setint(z, lua_tointeger(L, arg));
#endif
  else {
    lua_Number f = lua_tonumber(L, arg);
    if (isinf(f))
      luaL_error(L, "'for' %s must be finite when a bignum is involved",
                 range_what[which]);
    mpz_set_d(z, f);
  }
}


#if CPM_LUA54
/*
** The initial value or step as a Lua integer: an integer, or an integral
** float that fits (Lua itself would run a float loop; cpm.range counts
** in integers).
*/
static lua_Integer range_toint (lua_State *L, int arg, int which) {
  lua_Integer i;
  if (lua_isinteger(L, arg)) return lua_tointeger(L, arg);
  {
    lua_Number f = lua_tonumber(L, arg);
    if (!(f >= -0x1p63 && f < 0x1p63))
      luaL_error(L, "'for' %s must fit an integer (use cpm.big)",
                 range_what[which]);
    i = (lua_Integer)f;
  }
  return i;
}


/*
** Lua 5.4's forprep for integers: the limit clipped to the integer range,
** the unsigned count of the values after the first.
*/
static void range_prepint (lua_State *L, range_State *r, int first,
                           int last, int step) {
  lua_Integer init = range_toint(L, first, 0), limit;
  lua_Integer st = range_toint(L, step, 2);
  if (st == 0) luaL_error(L, "'for' step is zero");
  r->kind = RANGE_INT;
  r->i = init;
  r->step = st;
  if (lua_isinteger(L, last)) limit = lua_tointeger(L, last);
  else {
    lua_Number f = lua_tonumber(L, last);
    if (f >= -0x1p63 && f < 0x1p63) limit = (lua_Integer)f;
    else if (f > 0) {  /* too large: no run downwards, else clip */
      if (st < 0) { r->done = 1; return; }
      limit = LUA_MAXINTEGER;
    }
    else {
      if (st > 0) { r->done = 1; return; }
      limit = LUA_MININTEGER;
    }
  }
  if (st > 0 ? init > limit : init < limit) { r->done = 1; return; }
  r->count = count_intsteps(init, limit, st);
}
#else
/* LuaJIT's numeric for: doubles, checked against the limit each time. */
static void range_prepflt (lua_State *L, range_State *r, int first,
                           int last, int step) {
  r->kind = RANGE_FLT;
  r->fi = lua_tonumber(L, first);
  r->flimit = lua_tonumber(L, last);
  r->fstep = lua_tonumber(L, step);
  if (r->fstep == 0) luaL_error(L, "'for' step is zero");
}
#endif


/* Exact bignum range: count = (limit - init) // step values after 'bi'. */
static void range_prepbig (lua_State *L, range_State *r, int first,
                           int last, int step) {
  range_tobig(L, first, 0, r->bi);
  range_tobig(L, last, 1, r->bcount);
  range_tobig(L, step, 2, r->bstep);
  if (mpz_sgn(r->bstep) == 0) luaL_error(L, "'for' step is zero");
  r->kind = RANGE_BIG;
  if (mpz_sgn(r->bstep) > 0 ? mpz_cmp(r->bi, r->bcount) > 0
                            : mpz_cmp(r->bi, r->bcount) < 0) {
    r->done = 1;
    mpz_set_ui(r->bcount, 0);
    return;
  }
  /* same signs (or zero): truncation is floor */
  mpz_sub(r->bcount, r->bcount, r->bi);
  mpz_tdiv_q(r->bcount, r->bcount, r->bstep);
}


/*
** cpm.range([first,] last [, step]).  Stack: returns the iterator, the
** state and nil, for a generic for.
*/
static int range_new (lua_State *L) {
  int n = lua_gettop(L), first, last, step, anybig;
  range_State *r;
  if (n < 1) luaL_error(L, RANGE_NOTNUMBER, range_what[1], "no value");
  if (n == 1) {
    lua_pushinteger(L, 1);
    first = n + 1;
    last = 1;
  }
  else {
    first = 1;
    last = 2;
  }
  if (n < 3 || lua_isnil(L, 3)) {
    lua_pushinteger(L, 1);
    step = lua_gettop(L);
  }
  else step = 3;
  anybig = range_checkarg(L, first, 0) | range_checkarg(L, last, 1)
           | range_checkarg(L, step, 2);
  /* consistent (mpz_init'ed, done) before anything else can fail */
  r = (range_State *)cpm_newuserdata(L, sizeof(range_State));
  r->kind = RANGE_INT;
  r->done = 1;
  r->i = r->step = 0;
  r->count = 0;
  r->fi = r->fstep = r->flimit = 0;
  mpz_init(r->bi);
  mpz_init(r->bstep);
  mpz_init(r->bcount);
  luaL_getmetatable(L, RANGE_MT);
  lua_setmetatable(L, -2);
  r->done = 0;
  if (anybig) range_prepbig(L, r, first, last, step);
  else {
#if CPM_LUA54
    range_prepint(L, r, first, last, step);
#else
    range_prepflt(L, r, first, last, step);
#endif
  }
#if CPM_LUA54
  lua_pushcfunction(L, range_next);  /* a light function: no allocation */
#else
  lua_getfield(L, LUA_REGISTRYINDEX, RANGE_NEXT);  /* one shared closure */
#endif
  lua_insert(L, -2);
  lua_pushnil(L);
  return 3;
}


/*
** cpm.core._range_remaining(state): the count of values left and the next
** one, as bignums (nil when not exactly known); for the specs.
*/
static int range_remainingfn (lua_State *L) {
  range_State *r = range_check(L, 1);
  mpz_ptr count = big_push(L), next = big_push(L);
  if (!range_remaining(r, count, next)) {
    lua_pushnil(L);
    return 1;
  }
  return 2;
}


/* cpm.core._range_finish(state): marks it exhausted; for the specs. */
static int range_finishfn (lua_State *L) {
  range_finish(range_check(L, 1));
  return 0;
}


static const luaL_Reg range_meta[] = {
  {"__gc", range_gc},
  {NULL, NULL}
};


static const luaL_Reg range_funcs[] = {
  {"range", range_new},
  {"_range_remaining", range_remainingfn},
  {"_range_finish", range_finishfn},
  {NULL, NULL}
};


void range_open (lua_State *L, int mod, int cfg) {
  mod = cpm_absindex(L, mod);
  cfg = cpm_absindex(L, cfg);
  luaL_newmetatable(L, RANGE_MT);
  lua_pushliteral(L, RANGE_MT);
  lua_setfield(L, -2, "__name");
  cpm_setfuncs(L, -1, cfg, range_meta);
  lua_pop(L, 1);
  cpm_setfuncs(L, mod, cfg, range_funcs);
#if !CPM_LUA54
  lua_pushcfunction(L, range_next);
  lua_setfield(L, LUA_REGISTRYINDEX, RANGE_NEXT);
#endif
}
