/*
** mat_lua.c -- internal Lua entry points of the matrix-power engine (for
** the specs and benchmarks; they live in cpm.core only, never in cpm):
**   _matpow(ring, B, v, n [, alias]) -> table [, info]
**       ring "u64" (Z/2^64) or "z" (exact); B a table of k rows of k
**       entries, v a table of k entries; entries and n are integers
**       (integral numbers) or decimal strings.  "z" returns decimal
**       strings and an info table {paths=, ncomp=, maxbits=}; "u64"
**       returns Lua integers on Lua 5.4 and decimal strings (two's
**       complement, signed) on LuaJIT.  alias = true writes the result
**       over v's numbers, alias = "B" (ring "z") over B's diagonal entries.
**   _matpow("z", B, v, n, alias, need) -> table, info
**       only the outputs i with need[i] true are wanted (the others come
**       back as "0"): mat_mpz_powapply_need.
**   _matpow("mod", B, v, n, m [, mpz]) -> table
**       Z/m (m >= 1, an integer or a decimal string): mat_mod_u64_powapply
**       for m < 2^63, mat_mod_mpz_powapply above (or for any m when mpz is
**       true); entries are reduced into
**       [0, m) first; B's last row must be (0 .. 0 1); decimal strings.
**   _matbits(B, v, n) -> number      mat_bits_bound for those values
**   _majorant(A, v, n) -> table      mat_majorant (A, v numbers >= 0)
**   _matpaths -> table               MAT_PATH_* by name
**   _toomsqr(a) -> table             the 2d-1 coefficients of the square
**       of the polynomial sum a[i+1] x^i (d = #a in 2..MAT_TOOM_MAXD,
**       integers or decimal strings) by evaluation and interpolation
**       (mat_toom.c), as decimal strings
** Every bad argument is a Lua error raised here, before the engine runs;
** "z" refuses work whose bound exceeds the configured bignum size limit.
*/
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpm.h"
#include "mat.h"
#include "mat_impl.h"
#include "mat_mod.h"

#define WS_META	"cpm.matws"

/* A workspace of mpz owned by a userdata, so a Lua error frees it. */
typedef struct Ws {
  int n;
  mpz_t *z;
} Ws;

static int ws_gc (lua_State *L) {
  Ws *ws = (Ws *)luaL_checkudata(L, 1, WS_META);
  int i;
  if (ws->z != NULL) {
    for (i = 0; i < ws->n; i++) mpz_clear(ws->z[i]);
    free(ws->z);
    ws->z = NULL;
  }
  return 0;
}

/* Pushes a workspace of n initialized mpz; raises on memory error. */
static mpz_t *ws_new (lua_State *L, int n) {
  Ws *ws = (Ws *)cpm_newuserdata(L, sizeof(Ws));
  int i;
  ws->n = 0;
  ws->z = NULL;
  if (luaL_newmetatable(L, WS_META)) {
    lua_pushcfunction(L, ws_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  ws->z = malloc((size_t)n * sizeof(mpz_t));
  if (ws->z == NULL) cpm_nomem(L);
  for (i = 0; i < n; i++) mpz_init(ws->z[i]);
  ws->n = n;
  return ws->z;
}

/* z := the integer at index idx (integer, integral number or decimal
** string); raises naming 'what' otherwise.  Stack: unchanged. */
static void get_int (lua_State *L, int idx, mpz_ptr z, const char *what) {
  int t = lua_type(L, idx);
  if (t == LUA_TNUMBER) {
#if CPM_LUA54
    if (lua_isinteger(L, idx)) {
      mpz_set_si(z, (long)lua_tointeger(L, idx));
      return;
    }
#endif
    {
      lua_Number x = lua_tonumber(L, idx);
      if (x != x || isinf(x) || floor(x) != x)
        luaL_error(L, "cpm: %s is not an integer", what);
      mpz_set_d(z, x);
    }
  }
  else if (t == LUA_TSTRING) {
    size_t len;
    const char *s = lua_tolstring(L, idx, &len), *p = s;
    uint64_t maxbits = cpm_config(L)->maxbits;
    if (*p == '-') p++;
    if (*p == '\0' || strspn(p, "0123456789") != strlen(p) || strlen(s) != len)
      luaL_error(L, "cpm: %s is not a decimal integer", what);
    if ((double)len * 3.33 > (double)maxbits)
      luaL_error(L, "cpm: %s is too large", what);
    mpz_set_str(z, s, 10);
  }
  else
    luaL_error(L, "cpm: %s must be an integer or a decimal string, got %s",
               what, lua_typename(L, t));
}

/* Size of the square matrix at index idx (a table of rows). */
static int get_k (lua_State *L, int idx) {
  int k, i;
  luaL_checktype(L, idx, LUA_TTABLE);
  k = (int)cpm_rawlen(L, idx);
  if (k < 1 || k > MAT_KMAX)
    luaL_error(L, "cpm: matrix size %d out of 1..%d", k, MAT_KMAX);
  for (i = 1; i <= k; i++) {
    lua_rawgeti(L, idx, i);
    if (!lua_istable(L, -1) || (int)cpm_rawlen(L, -1) != k)
      luaL_error(L, "cpm: row %d of the matrix is not a table of %d entries", i, k);
    lua_pop(L, 1);
  }
  return k;
}

/* Reads B (k x k at bidx), v (k at vidx) and n (at nidx) into z:
** B at z[0 .. k*k-1], v at z[k*k ..], n at z[k*k + k]. */
static void get_problem (lua_State *L, int bidx, int vidx, int nidx, int k,
                         mpz_t *z) {
  int i, j;
  luaL_checktype(L, vidx, LUA_TTABLE);
  if ((int)cpm_rawlen(L, vidx) != k)
    luaL_error(L, "cpm: the vector must have %d entries", k);
  for (i = 0; i < k; i++) {
    lua_rawgeti(L, bidx, i + 1);
    for (j = 0; j < k; j++) {
      lua_rawgeti(L, -1, j + 1);
      get_int(L, -1, z[i*k + j], "matrix entry");
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_rawgeti(L, vidx, i + 1);
    get_int(L, -1, z[k*k + i], "vector entry");
    lua_pop(L, 1);
  }
  get_int(L, nidx, z[k*k + k], "exponent");
  if (mpz_sgn(z[k*k + k]) < 0) luaL_error(L, "cpm: negative exponent");
}

/* Pushes z in decimal.  Raises on memory error. */
static void push_dec (lua_State *L, mpz_srcptr z) {
  char *buf = (char *)cpm_newbuffer(L, mpz_sizeinbase(z, 10) + 2);
  mpz_get_str(buf, 10, z);
  lua_pushstring(L, buf);
  lua_remove(L, -2);
}

static uint64_t to_u64 (mpz_srcptr z, mpz_ptr tmp) {
  uint64_t lo;
  mpz_fdiv_r_2exp(tmp, z, 64);  /* 0 <= tmp < 2^64 */
  lo = (uint64_t)mpz_getlimbn(tmp, 0);
  return lo;
}

static void bits_of (int k, mpz_t *v, uint64_t *vb) {
  int i;
  for (i = 0; i < k; i++)
    vb[i] = mpz_sgn(v[i]) ? (uint64_t)mpz_sizeinbase(v[i], 2) : 0;
}

/* _matpow("mod", B, v, n, m [, mpz]) (see the header). */
static int m_matpowmod (lua_State *L, int k) {
  int usempz = lua_toboolean(L, 6);  /* before the workspace is pushed */
  mpz_t *z = ws_new(L, k*k + 2*k + 2);
  mpz_ptr m = z[k*k + k + 1];
  mpz_srcptr Bp[MAT_KMAX * MAT_KMAX], vp[MAT_KMAX];
  mpz_ptr op[MAT_KMAX];
  int i, st;
  get_problem(L, 2, 3, 4, k, z);
  get_int(L, 5, m, "modulus");
  if (mpz_sgn(m) <= 0) return luaL_error(L, "cpm: the modulus must be positive");
  for (i = 0; i < k*k + k; i++) mpz_fdiv_r(z[i], z[i], m);
  if (mpz_sizeinbase(m, 2) < 64 && !usempz) {
    uint64_t B[MAT_KMAX * MAT_KMAX], v[MAT_KMAX];
    for (i = 0; i < k*k; i++) B[i] = (uint64_t)mpz_get_ui(z[i]);
    for (i = 0; i < k; i++) v[i] = (uint64_t)mpz_get_ui(z[k*k + i]);
    st = mat_mod_u64_powapply(k, B, v, v, z[k*k + k], (uint64_t)mpz_get_ui(m));
    for (i = 0; i < k; i++) mpz_set_ui(z[k*k + i], (unsigned long)v[i]);
  }
  else {
    for (i = 0; i < k*k; i++) Bp[i] = z[i];
    for (i = 0; i < k; i++) { vp[i] = z[k*k + i]; op[i] = z[k*k + i]; }
    st = mat_mod_mpz_powapply(k, Bp, op, vp, z[k*k + k], m);
  }
  if (st != MAT_OK) return luaL_error(L, "cpm: matrix power failed (%d)", st);
  lua_createtable(L, k, 0);
  for (i = 0; i < k; i++) {
    push_dec(L, z[k*k + i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int m_matpow (lua_State *L) {
  const char *ring = luaL_checkstring(L, 1);
  int k = get_k(L, 2), i, st;
  int isz = strcmp(ring, "z") == 0, hasneed = lua_istable(L, 6);
  unsigned char need[MAT_KMAX];
  mpz_t *z;
  mpz_srcptr Bp[MAT_KMAX * MAT_KMAX], vp[MAT_KMAX];
  mpz_ptr op[MAT_KMAX];
  if (strcmp(ring, "mod") == 0) return m_matpowmod(L, k);
  if (!isz && strcmp(ring, "u64") != 0)
    return luaL_error(L, "cpm: ring must be \"u64\", \"z\" or \"mod\"");
  for (i = 0; hasneed && i < k; i++) {  /* before anything is pushed */
    lua_rawgeti(L, 6, i + 1);
    need[i] = (unsigned char)lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  z = ws_new(L, k*k + 2*k + 2);
  get_problem(L, 2, 3, 4, k, z);
  lua_createtable(L, k, 0);
  if (isz) {
    uint64_t vb[MAT_KMAX], bound, lim = cpm_config(L)->maxbits;
    mat_Info info;
    for (i = 0; i < k*k; i++) Bp[i] = z[i];
    for (i = 0; i < k; i++) { vp[i] = z[k*k + i]; op[i] = z[k*k + k + 1 + i]; }
    bits_of(k, z + k*k, vb);
    bound = mat_bits_bound(k, Bp, vb, z[k*k + k], lim);
    if (bound > lim) {
      char lims[24];
      snprintf(lims, sizeof lims, "%" PRIu64, lim);
      return luaL_error(L, "cpm: matrix power too large (more than %s bits)", lims);
    }
    if (lua_type(L, 5) == LUA_TSTRING)  /* aliasing: outputs are B's diagonal */
      for (i = 0; i < k; i++) op[i] = z[i*k + i];
    else if (lua_toboolean(L, 5))  /* aliasing: the output is the input */
      for (i = 0; i < k; i++) op[i] = z[k*k + i];
    st = hasneed ? mat_mpz_powapply_need(k, Bp, op, vp, z[k*k + k], need, &info)
                 : mat_mpz_powapply_info(k, Bp, op, vp, z[k*k + k], &info);
    if (st != MAT_OK) return luaL_error(L, "cpm: matrix power failed (%d)", st);
    for (i = 0; i < k; i++) {
      push_dec(L, op[i]);
      lua_rawseti(L, -2, i + 1);
    }
    lua_createtable(L, 0, 3);
    lua_pushnumber(L, (lua_Number)info.paths);
    lua_setfield(L, -2, "paths");
    lua_pushnumber(L, (lua_Number)info.ncomp);
    lua_setfield(L, -2, "ncomp");
    lua_pushnumber(L, (lua_Number)info.maxbits);
    lua_setfield(L, -2, "maxbits");
    lua_pushnumber(L, (lua_Number)bound);
    lua_setfield(L, -2, "bound");
    return 2;
  }
  else {
    uint64_t B[MAT_KMAX * MAT_KMAX], v[MAT_KMAX], o[MAT_KMAX];
    mpz_ptr tmp = z[k*k + 2*k + 1];
    for (i = 0; i < k*k; i++) B[i] = to_u64(z[i], tmp);
    for (i = 0; i < k; i++) v[i] = to_u64(z[k*k + i], tmp);
    st = lua_toboolean(L, 5)
       ? mat_u64_powapply(k, B, v, v, z[k*k + k])
       : mat_u64_powapply(k, B, o, v, z[k*k + k]);
    if (!lua_toboolean(L, 5)) memcpy(v, o, (size_t)k * sizeof *v);
    if (st != MAT_OK) return luaL_error(L, "cpm: matrix power failed (%d)", st);
    for (i = 0; i < k; i++) {
#if CPM_LUA54
      lua_pushinteger(L, (lua_Integer)v[i]);
#else
      mpz_set_si(tmp, 0);
      if (v[i] >> 63) {  /* negative as a signed 64-bit integer */
        mpz_set_ui(tmp, (unsigned long)(~v[i] + 1));
        mpz_neg(tmp, tmp);
      }
      else mpz_set_ui(tmp, (unsigned long)v[i]);
      push_dec(L, tmp);
#endif
      lua_rawseti(L, -2, i + 1);
    }
    return 1;
  }
}

static int m_matbits (lua_State *L) {
  int k = get_k(L, 1), i;
  mpz_t *z = ws_new(L, k*k + k + 1);
  mpz_srcptr Bp[MAT_KMAX * MAT_KMAX];
  uint64_t vb[MAT_KMAX], r;
  get_problem(L, 1, 2, 3, k, z);
  for (i = 0; i < k*k; i++) Bp[i] = z[i];
  bits_of(k, z + k*k, vb);
  r = mat_bits_bound(k, Bp, vb, z[k*k + k], cpm_config(L)->maxbits);
  lua_pushnumber(L, r == UINT64_MAX ? HUGE_VAL : (lua_Number)r);
  return 1;
}

static double get_nonneg (lua_State *L, int idx, const char *what) {
  lua_Number x;
  if (lua_type(L, idx) != LUA_TNUMBER)
    luaL_error(L, "cpm: %s must be a number", what);
  x = lua_tonumber(L, idx);
  if (!(x >= 0)) luaL_error(L, "cpm: %s must be >= 0", what);
  return (double)x;
}

static int m_majorant (lua_State *L) {
  int k = get_k(L, 1), i, j, st;
  double A[MAT_KMAX * MAT_KMAX], v[MAT_KMAX], out[MAT_KMAX];
  mpz_t *z = ws_new(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  if ((int)cpm_rawlen(L, 2) != k)
    return luaL_error(L, "cpm: the vector must have %d entries", k);
  for (i = 0; i < k; i++) {
    lua_rawgeti(L, 1, i + 1);
    for (j = 0; j < k; j++) {
      lua_rawgeti(L, -1, j + 1);
      A[i*k + j] = get_nonneg(L, -1, "matrix entry");
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_rawgeti(L, 2, i + 1);
    v[i] = get_nonneg(L, -1, "vector entry");
    lua_pop(L, 1);
  }
  get_int(L, 3, z[0], "exponent");
  if (mpz_sgn(z[0]) < 0) return luaL_error(L, "cpm: negative exponent");
  st = mat_majorant(k, A, v, z[0], out);
  if (st != MAT_OK) return luaL_error(L, "cpm: majorant failed (%d)", st);
  lua_createtable(L, k, 0);
  for (i = 0; i < k; i++) {
    lua_pushnumber(L, (lua_Number)out[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int m_toomsqr (lua_State *L) {
  int d, i, st;
  mpz_t *z;
  mat_Toom T;
  luaL_checktype(L, 1, LUA_TTABLE);
  d = (int)cpm_rawlen(L, 1);
  if (d < 2 || d > MAT_TOOM_MAXD)
    return luaL_error(L, "cpm: 2 to %d coefficients expected", MAT_TOOM_MAXD);
  z = ws_new(L, 3*d - 1);
  for (i = 0; i < d; i++) {
    lua_rawgeti(L, 1, i + 1);
    get_int(L, -1, z[i], "coefficient");
    lua_pop(L, 1);
  }
  if ((st = mat_toom_init(&T, d)) != MAT_OK)
    return luaL_error(L, "cpm: toom setup failed (%d)", st);
  mat_toom_sqr(&T, z, z + d, NULL);
  mat_toom_clear(&T);
  lua_createtable(L, 2*d - 1, 0);
  for (i = 0; i < 2*d - 1; i++) {
    push_dec(L, z[d + i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static const luaL_Reg mat_funcs[] = {
  {"_toomsqr", m_toomsqr},
  {"_matpow", m_matpow},
  {"_matbits", m_matbits},
  {"_majorant", m_majorant},
  {NULL, NULL}
};

void mat_open (lua_State *L, int mod, int cfg) {
  static const struct { const char *name; int bit; } paths[] = {
    {"power", MAT_PATH_POWER}, {"unipotent", MAT_PATH_UNIPOT},
    {"lucas", MAT_PATH_LUCAS}, {"charpoly", MAT_PATH_CHARPOLY},
    {"sources", MAT_PATH_SOURCES}
  };
  size_t i;
  mod = cpm_absindex(L, mod);
  cpm_setfuncs(L, mod, cfg, mat_funcs);
  lua_createtable(L, 0, 5);
  for (i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    lua_pushnumber(L, paths[i].bit);
    lua_setfield(L, -2, paths[i].name);
  }
  lua_setfield(L, mod, "_matpaths");
}
