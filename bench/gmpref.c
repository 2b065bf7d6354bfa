/*
** gmpref.c -- the yardstick of the benchmarks: GMP's own mpz_fib_ui and
** mpz_pow_ui, callable from Lua.  Not part of cpm; `make bench` builds it
** into $(BUILD)/bench/<vm>/gmpref.so.
**
** Results are returned as cpm.big values so that the benchmarks compare
** them with cpm's results directly.  That relies on the layout cpm.big
** documents in src/core/big.h: a full userdata holding one mpz_t, with the
** metatable "cpm.big" in the registry (so `require "cpm"` must come first).
** Both modules link the same shared libgmp, hence the same allocator.
*/
#include <gmp.h>

#include "lua.h"
#include "lauxlib.h"

#if LUA_VERSION_NUM >= 504
#define gmpref_newud(L, sz)	lua_newuserdatauv(L, (sz), 0)
#else
#define gmpref_newud(L, sz)	lua_newuserdata(L, (sz))
#endif

/* Refuse results above this many bits instead of letting GMP abort. */
#define GMPREF_MAXBITS	((double)(1u << 31))


/* Pushes a new cpm.big of value 0; raises when cpm is not loaded. */
static mpz_ptr gmpref_push (lua_State *L) {
  mpz_ptr z;
  luaL_getmetatable(L, "cpm.big");
  if (lua_isnil(L, -1)) luaL_error(L, "gmpref: require \"cpm\" first");
  z = (mpz_ptr)gmpref_newud(L, sizeof(mpz_t));
  mpz_init(z);
  lua_insert(L, -2);
  lua_setmetatable(L, -2);
  return z;
}


/* A non-negative integer argument that fits an unsigned long. */
static unsigned long gmpref_checkulong (lua_State *L, int idx) {
  lua_Number n = luaL_checknumber(L, idx);
  luaL_argcheck(L, n >= 0 && n < 4294967296.0 && n == (lua_Number)(unsigned long)n,
                idx, "integer in [0, 2^32) expected");
  return (unsigned long)n;
}


/* gmpref.fib(n): F(n) by mpz_fib_ui, as a cpm.big. */
static int gmpref_fib (lua_State *L) {
  unsigned long n = gmpref_checkulong(L, 1);
  mpz_ptr z;
  luaL_argcheck(L, n * 0.7 < GMPREF_MAXBITS, 1, "too large");
  z = gmpref_push(L);
  mpz_fib_ui(z, n);
  return 1;
}


/* gmpref.pow(a, n): a^n by mpz_pow_ui, a a small integer, as a cpm.big. */
static int gmpref_pow (lua_State *L) {
  lua_Number a = luaL_checknumber(L, 1);
  unsigned long n = gmpref_checkulong(L, 2);
  mpz_t base;
  mpz_ptr z;
  luaL_argcheck(L, a == (lua_Number)(long)a && a > -1e9 && a < 1e9, 1,
                "small integer expected");
  luaL_argcheck(L, 31.0 * n < GMPREF_MAXBITS, 2, "too large");
  z = gmpref_push(L);
  mpz_init_set_si(base, (long)a);
  mpz_pow_ui(z, base, n);
  mpz_clear(base);
  return 1;
}


static const luaL_Reg gmpref_funcs[] = {
  {"fib", gmpref_fib}, {"pow", gmpref_pow}, {NULL, NULL}
};


__attribute__((visibility("default"))) int luaopen_gmpref (lua_State *L);

int luaopen_gmpref (lua_State *L) {
  lua_newtable(L);
#if LUA_VERSION_NUM >= 502
  luaL_setfuncs(L, gmpref_funcs, 0);
#else
  luaL_register(L, NULL, gmpref_funcs);
#endif
  lua_pushstring(L, gmp_version);
  lua_setfield(L, -2, "version");
  return 1;
}
