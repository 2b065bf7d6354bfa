/*
** big.c -- cpm.big: exact integers backed by GMP.
**
** A bignum is a full userdata holding one mpz_t (metatable "cpm.big").
** Operators follow Lua's integer semantics extended to unbounded integers:
** floor division and modulo, two's-complement bitwise operations of
** infinite width (as Python ints), float contagion as for Lua integers.
**
** GMP aborts the process when an allocation fails, so every operation that
** can grow estimates the size of its result and raises a Lua error above
** the configured limit before GMP is called.  No mpz_t ever lives on the C
** stack across a call that may raise: results are userdata pushed first,
** and Lua integers are seen by GMP through read-only mpz views of a limb
** array (mpz_roinit_n), which own no memory.
*/
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "big.h"
#include "gmpmem.h"
#include "ir.h"

#if GMP_NAIL_BITS != 0
#error "cpm needs a GMP without nail bits"
#endif

/* Limbs needed for the magnitude of a 64-bit integer. */
#define LIMBS64	((64 + GMP_NUMB_BITS - 1) / GMP_NUMB_BITS)

/* Range of lua_Integer (ptrdiff_t on LuaJIT). */
#if CPM_LUA54
#define BIG_IMAX	LUA_MAXINTEGER
#define BIG_IMIN	LUA_MININTEGER
#else
#define BIG_IMAX	PTRDIFF_MAX
#define BIG_IMIN	PTRDIFF_MIN
#endif

/* Above this many bits a bignum is infinite as a double. */
#define BIG_DBL_BITS	1025


/* {======================================================
** Helpers of the public header
** ======================================================= */

mpz_ptr big_test (lua_State *L, int idx) {
  return (mpz_ptr)cpm_testudata(L, idx, BIG_MT);
}


mpz_ptr big_check (lua_State *L, int idx) {
  return (mpz_ptr)luaL_checkudata(L, idx, BIG_MT);
}


mpz_ptr big_push (lua_State *L) {
  mpz_ptr z;
  gmpmem_check(L, 0);  /* the reserve: GMP may use it for the result */
  z = (mpz_ptr)cpm_newuserdata(L, sizeof(mpz_t));
  mpz_init(z);  /* GMP >= 6.2 allocates nothing here */
  luaL_getmetatable(L, BIG_MT);
  lua_setmetatable(L, -2);
  return z;
}


/*
** The functions of this file have the bignum metatable as upvalue 2: the
** same tests and pushes without a registry lookup by name (the hot path of
** every operator).
*/
#define BIG_MTUP	lua_upvalueindex(2)

static mpz_ptr big_testu (lua_State *L, int idx) {
  void *p = lua_touserdata(L, idx);
  if (p != NULL && lua_getmetatable(L, idx)) {
    int same = lua_rawequal(L, -1, BIG_MTUP);
    lua_pop(L, 1);
    if (same) return (mpz_ptr)p;
  }
  return NULL;
}


static mpz_ptr big_pushu (lua_State *L) {
  mpz_ptr z;
  gmpmem_check(L, 0);  /* the reserve: GMP may use it for the result */
  z = (mpz_ptr)cpm_newuserdata(L, sizeof(mpz_t));
  mpz_init(z);
  lua_pushvalue(L, BIG_MTUP);
  lua_setmetatable(L, -2);
  return z;
}


uint64_t big_bits (mpz_srcptr z) {
  return mpz_sgn(z) == 0 ? 0 : (uint64_t)mpz_sizeinbase(z, 2);
}


/* Largest size GMP itself can represent (its sizes are ints of limbs). */
static uint64_t gmp_maxbits (void) {
  uint64_t m = (uint64_t)INT_MAX * GMP_NUMB_BITS;
  if (m > (uint64_t)ULONG_MAX) m = (uint64_t)ULONG_MAX;  /* mp_bitcnt_t */
  return m;
}


void big_checkbits (lua_State *L, const cpm_Config *cfg, uint64_t bits,
                    const char *what) {
  if (bits > cfg->maxbits || bits > gmp_maxbits()) {
    char n[32];
    snprintf(n, sizeof n, "%llu", (unsigned long long)cfg->maxbits);
    luaL_error(L, "cpm: result of %s would exceed the bignum size limit "
                  "(%s bits)", what, n);
  }
  gmpmem_check(L, bits);
}


/* Saturating arithmetic for size estimates. */
static uint64_t sat_add (uint64_t a, uint64_t b) {
  return a + b < a ? UINT64_MAX : a + b;
}

static uint64_t sat_mul (uint64_t a, uint64_t b) {
  if (a != 0 && b > UINT64_MAX / a) return UINT64_MAX;
  return a * b;
}


/*
** Fills 'limbs' with the magnitude of 'i' and returns a read-only mpz that
** views it.  'ro' and 'limbs' must outlive every use of the result.
*/
static mpz_srcptr ro_int (mpz_t ro, mp_limb_t *limbs, int64_t i) {
  uint64_t u = i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
  int n = 0;
#if GMP_NUMB_BITS >= 64
  if (u != 0) limbs[n++] = (mp_limb_t)u;
#else
  while (u != 0) {
    limbs[n++] = (mp_limb_t)(u & GMP_NUMB_MASK);
    u >>= GMP_NUMB_BITS;
  }
#endif
  return mpz_roinit_n(ro, limbs, i < 0 ? -n : n);
}


void big_setint (mpz_ptr z, lua_Integer i) {
  mp_limb_t limbs[LIMBS64];
  mpz_t ro;
  mpz_set(z, ro_int(ro, limbs, i));
}


/* Bits [pos, pos + 64) of |z|. */
static uint64_t mag_bits (mpz_srcptr z, uint64_t pos) {
  uint64_t r = 0;
  unsigned got = 0;
  mp_size_t li = (mp_size_t)(pos / GMP_NUMB_BITS);
  unsigned sh = (unsigned)(pos % GMP_NUMB_BITS);
  while (got < 64) {
    uint64_t limb = (uint64_t)(mpz_getlimbn(z, li) >> sh);
    r |= limb << got;
    got += GMP_NUMB_BITS - sh;
    sh = 0;
    li++;
  }
  return r;
}


int big_getint (mpz_srcptr z, lua_Integer *out) {
  uint64_t u;
  if (big_bits(z) > 64) return 0;
  u = mag_bits(z, 0);
  if (mpz_sgn(z) >= 0) {
    if (u > (uint64_t)BIG_IMAX) return 0;
    *out = (lua_Integer)u;
  }
  else {
    if (u > (uint64_t)BIG_IMAX + 1) return 0;
    *out = u == (uint64_t)BIG_IMAX + 1 ? BIG_IMIN : -(lua_Integer)u;
  }
  return 1;
}


/*
** m * 2^e rounded to the nearest double, ties to even; 'sticky' says that
** nonzero bits below m were cut off (callers then give m a full 64 bits,
** so at least 11 bits are dropped and the sticky bit is seen).  Handles
** subnormal results and overflow to infinity.
*/
static double round_scaled (uint64_t m, int sticky, int64_t e) {
  int top = 63;
  int64_t keep, drop;
  if (m == 0) return 0.0;
  while (!(m >> top)) top--;
  keep = e + top - 52;  /* exponent of the last bit a double can hold */
  if (keep < -1074) keep = -1074;
  drop = keep - e;
  if (drop > 0) {
    uint64_t kept, rest, half;
    if (drop > 64) return 0.0;  /* below half of the least subnormal */
    kept = drop == 64 ? 0 : m >> drop;
    rest = drop == 64 ? m : m - (kept << drop);
    half = (uint64_t)1 << (drop - 1);
    if (rest > half || (rest == half && (sticky || (kept & 1)))) kept++;
    m = kept;
    e = keep;
  }
  if (e > 2 * 1024) return HUGE_VAL;
  return ldexp((double)m, (int)e);
}


double big_todouble (mpz_srcptr z) {
  uint64_t bits = big_bits(z);
  double d;
  if (bits > BIG_DBL_BITS) d = HUGE_VAL;
  else if (bits <= 64) d = round_scaled(mag_bits(z, 0), 0, 0);
  else {
    uint64_t low = bits - 64;
    int sticky = mpz_scan1(z, 0) < low;  /* same lowest bit as |z| */
    d = round_scaled(mag_bits(z, low), sticky, (int64_t)low);
  }
  return mpz_sgn(z) < 0 ? -d : d;
}

/* }====================================================== */


/* {======================================================
** Operands
** ======================================================= */

enum { K_BAD, K_INT, K_FLT };

/*
** One operand of an operator: K_INT (an exact integer, seen as 'z': a
** bignum, or a read-only view of 'limbs' for a Lua integer) or K_FLT.
*/
typedef struct Operand {
  int kind;
  mpz_srcptr z;
  lua_Number f;
  mpz_t ro;
  mp_limb_t limbs[LIMBS64];
} Operand;


static int isintegral (lua_Number f) {
  return f == floor(f) && f - f == 0;  /* finite too */
}


/*
** An integral double as an exact integer operand; beyond the lua_Integer
** range a temporary bignum is pushed (stack: may push one value).
*/
static void op_fromintegral (lua_State *L, Operand *o, lua_Number f) {
  o->kind = K_INT;
  if (f >= -0x1p63 && f < 0x1p63)
    o->z = ro_int(o->ro, o->limbs, (int64_t)f);
  else {
    mpz_ptr t = big_pushu(L);
    mpz_set_d(t, f);
    o->z = t;
  }
}


/*
** Classifies the value at 'idx'.  'exact': integral floats count as
** integers (bitwise operators; on LuaJIT always).  'strings': strings are
** converted as Lua converts them for arithmetic.  Stack: may push values
** (they keep temporaries alive until the operator returns).
*/
static void op_get (lua_State *L, int idx, Operand *o, int exact,
                    int strings) {
  mpz_ptr z = big_testu(L, idx);
  o->kind = K_BAD;
  if (z != NULL) {
    o->kind = K_INT;
    o->z = z;
    return;
  }
  if (lua_type(L, idx) == LUA_TSTRING) {
    if (!strings) return;
#if CPM_LUA54
    if (lua_stringtonumber(L, lua_tostring(L, idx)) == 0) return;
#else
    if (!lua_isnumber(L, idx)) return;
    lua_pushnumber(L, lua_tonumber(L, idx));
#endif
    idx = lua_gettop(L);
  }
  if (lua_type(L, idx) != LUA_TNUMBER) return;
#if CPM_LUA54
  if (lua_isinteger(L, idx)) {
    o->kind = K_INT;
    o->z = ro_int(o->ro, o->limbs, lua_tointeger(L, idx));
    return;
  }
#else
  exact = 1;
#endif
  o->f = lua_tonumber(L, idx);
  if (exact && isintegral(o->f)) op_fromintegral(L, o, o->f);
  else o->kind = K_FLT;
}


/* The type name Lua would use in an error message (honours __name). */
static const char *big_typename (lua_State *L, int idx) {
  if (luaL_getmetafield(L, idx, "__name") != 0) {
    if (lua_type(L, -1) == LUA_TSTRING) return lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  return luaL_typename(L, idx);
}

/* }====================================================== */


/* {======================================================
** Arithmetic
** ======================================================= */

/*
** Operators are ir_Aop (IR_ADD ..., declared once in ir.h's IR_AOPS):
** the same numbers name the methods, the metamethods and the messages.
*/
#define isbitwise(op)	((op) >= IR_BAND && (op) != IR_UNM)
#define isunary(op)	((op) == IR_UNM || (op) == IR_BNOT)


/* Lua's float semantics for each operator. */
static lua_Number float_arith (int op, lua_Number a, lua_Number b) {
  switch (op) {
    case IR_ADD: return a + b;
    case IR_SUB: return a - b;
    case IR_MUL: return a * b;
    case IR_DIV: return a / b;
    case IR_POW: return pow(a, b);
    case IR_IDIV: return floor(a / b);
    case IR_UNM: return -a;
    default: {  /* IR_MOD */
#if CPM_LUA54
      lua_Number m = fmod(a, b);
      if ((m > 0) ? b < 0 : (m < 0 && b != m)) m += b;
      return m;
#else
      return a - floor(a / b) * b;
#endif
    }
  }
}


/*
** a / b as a float.  When both convert to finite doubles this is what Lua
** does for integers (convert, then divide); otherwise the quotient is
** rounded once from the exact value.  Stack: pushes the result.
*/
static void big_div (lua_State *L, mpz_srcptr a, mpz_srcptr b) {
  double x = big_todouble(a), y = big_todouble(b);
  int top = lua_gettop(L);
  int64_t sa, sb, k;
  mpz_ptr t, q, r;
  double d;
  if ((isfinite(x) && isfinite(y)) || mpz_sgn(a) == 0 || mpz_sgn(b) == 0) {
    lua_pushnumber(L, x / y);
    return;
  }
  /* q = floor(|a| 2^k / |b|) has 63 or 64 bits; the rest is sticky */
  sa = (int64_t)big_bits(a);
  sb = (int64_t)big_bits(b);
  k = 63 - (sa - sb);
  t = big_pushu(L);
  q = big_pushu(L);
  r = big_pushu(L);
  if (k >= 0) {
    mpz_mul_2exp(t, a, (mp_bitcnt_t)k);
    mpz_tdiv_qr(q, r, t, b);
  }
  else {
    mpz_mul_2exp(t, b, (mp_bitcnt_t)-k);
    mpz_tdiv_qr(q, r, a, t);
  }
  d = round_scaled(mag_bits(q, 0), mpz_sgn(r) != 0, -k);
  if (mpz_sgn(a) != mpz_sgn(b)) d = -d;
  lua_settop(L, top);
  lua_pushnumber(L, d);
}


/*
** a << n (n > 0 when 'left') or a >> n with floor semantics; 'huge' says n
** does not fit a uint64.  Stack: pushes the result.
*/
static void big_shift (lua_State *L, const cpm_Config *cfg, mpz_srcptr a,
                       int left, uint64_t n, int huge, const char *what) {
  mpz_ptr r;
  if (mpz_sgn(a) == 0) { big_pushu(L); return; }
  if (left) {
    big_checkbits(L, cfg, huge ? UINT64_MAX : sat_add(big_bits(a), n), what);
    r = big_pushu(L);
    mpz_mul_2exp(r, a, (mp_bitcnt_t)n);
  }
  else {
    r = big_pushu(L);
    if (huge || n >= big_bits(a)) mpz_set_si(r, mpz_sgn(a) < 0 ? -1 : 0);
    else mpz_fdiv_q_2exp(r, a, (mp_bitcnt_t)n);
  }
}


/* a << b for an integer count b of any size; shr is shl by -b. */
static void big_shl (lua_State *L, const cpm_Config *cfg, mpz_srcptr a,
                     mpz_srcptr b, int negate, const char *what) {
  lua_Integer n;
  int left = (mpz_sgn(b) >= 0) != negate || mpz_sgn(b) == 0;
  if (!big_getint(b, &n) || n == BIG_IMIN)
    big_shift(L, cfg, a, left, 0, 1, what);
  else
    big_shift(L, cfg, a, left, (uint64_t)(n < 0 ? -n : n), 0, what);
}


/* a ^ e for integers, e >= 0.  Stack: pushes the result. */
static void big_pow (lua_State *L, const cpm_Config *cfg, mpz_srcptr a,
                     mpz_srcptr e, const char *what) {
  mpz_ptr r;
  uint64_t bits = big_bits(a), ebits = big_bits(e), need;
  if (mpz_sgn(e) < 0)
    luaL_error(L, "cpm: negative exponent in bignum power "
                  "(convert the base to a float for a fractional result)");
  if (mpz_sgn(e) == 0 || mpz_cmp_ui(a, 1) == 0) {
    mpz_set_ui(big_pushu(L), 1);
    return;
  }
  if (mpz_sgn(a) == 0) { big_pushu(L); return; }
  if (mpz_cmp_si(a, -1) == 0) {
    mpz_set_si(big_pushu(L), mpz_odd_p(e) ? -1 : 1);
    return;
  }
  if (ebits > 64) need = UINT64_MAX;
  else if (mpz_scan1(a, 0) == bits - 1)  /* +-2^k: exactly k e + 1 bits */
    need = sat_add(sat_mul(bits - 1, mag_bits(e, 0)), 1);
  else
    need = sat_mul(bits, mag_bits(e, 0));
  big_checkbits(L, cfg, need, what);
  r = big_pushu(L);
  mpz_pow_ui(r, a, (unsigned long)mag_bits(e, 0));
}


/*
** Lua sees a bignum as a small userdata, not the limbs GMP allocated, so a
** loop making large bignums would pile up garbage far beyond what the
** collector paces itself for.  A large result is reported as allocated
** memory by running a collector step of that size.  Stack: unchanged.
*/
static void big_account (lua_State *L, mpz_srcptr z) {
  size_t kb = mpz_size(z) * sizeof(mp_limb_t) / 1024;
  if (kb >= 16) lua_gc(L, LUA_GCSTEP, kb > INT_MAX ? INT_MAX : (int)kb);
}


/* The integer case of every operator.  Stack: pushes the result. */
static void int_arith (lua_State *L, const cpm_Config *cfg, int op,
                       mpz_srcptr a, mpz_srcptr b) {
  char what[24];  /* the operator as messages name it: "'+'", "unary '-'" */
  mpz_ptr r;
  uint64_t ba, bb, wide;
  /* limb counts bound every result below: the exact sizes are seldom needed */
  uint64_t ua = (uint64_t)mpz_size(a) * GMP_NUMB_BITS;
  uint64_t ub = isunary(op) ? 0 : (uint64_t)mpz_size(b) * GMP_NUMB_BITS;
  uint64_t bound = sat_add(sat_add(ua, ub), 1);
  if (op <= IR_MUL && bound <= cfg->maxbits && bound <= gmp_maxbits()) {
    gmpmem_check(L, bound);
    r = big_pushu(L);
    switch (op) {
      case IR_ADD: mpz_add(r, a, b); break;
      case IR_SUB: mpz_sub(r, a, b); break;
      default: mpz_mul(r, a, b); break;
    }
    return;
  }
  snprintf(what, sizeof what, "%s'%s'", isunary(op) ? "unary " : "",
           ir_aopname(op));
  ba = big_bits(a);
  bb = isunary(op) ? 0 : big_bits(b);
  wide = sat_add(ba > bb ? ba : bb, 1);
  switch (op) {
    case IR_ADD: case IR_SUB: case IR_BAND: case IR_BOR: case IR_BXOR:
    case IR_BNOT:
      /* magnitudes that subtract cannot carry: a value at the limit can
         still be decremented */
      if ((op == IR_ADD && mpz_sgn(a) * mpz_sgn(b) < 0)
          || (op == IR_SUB && mpz_sgn(a) * mpz_sgn(b) > 0))
        wide = ba > bb ? ba : bb;
      big_checkbits(L, cfg, wide, what);
      r = big_pushu(L);
      switch (op) {
        case IR_ADD: mpz_add(r, a, b); break;
        case IR_SUB: mpz_sub(r, a, b); break;
        case IR_BAND: mpz_and(r, a, b); break;
        case IR_BOR: mpz_ior(r, a, b); break;
        case IR_BXOR: mpz_xor(r, a, b); break;
        default: mpz_com(r, a); break;
      }
      break;
    case IR_MUL:
      big_checkbits(L, cfg, sat_add(ba, bb), what);
      mpz_mul(big_pushu(L), a, b);
      break;
    case IR_UNM:
      mpz_neg(big_pushu(L), a);
      break;
    case IR_IDIV: case IR_MOD:
      if (mpz_sgn(b) == 0)
        luaL_error(L, op == IR_IDIV ? "attempt to perform 'n//0'"
                                    : "attempt to perform 'n%%0'");
      r = big_pushu(L);
      if (op == IR_IDIV) mpz_fdiv_q(r, a, b);
      else mpz_fdiv_r(r, a, b);
      break;
    case IR_DIV: big_div(L, a, b); break;
    case IR_POW: big_pow(L, cfg, a, b, what); break;
    case IR_SHL: big_shl(L, cfg, a, b, 0, what); break;
    default: big_shl(L, cfg, a, b, 1, what); break;  /* IR_SHR */
  }
}


/*
** Every operator and method: operands at 1 and 2 (only 1 for unary ones).
** Stack: returns one value.
*/
static int big_arith (lua_State *L, int op) {
  const cpm_Config *cfg = cpm_config(L);
  Operand a, b;
  int bit = isbitwise(op), i;
  op_get(L, 1, &a, bit, !bit);
  if (isunary(op)) b = a;
  else op_get(L, 2, &b, bit, !bit);
  for (i = 1; i <= 2; i++) {
    if ((i == 1 ? a.kind : b.kind) == K_BAD)
      return luaL_error(L, "attempt to perform %s on a %s value",
                        bit ? "bitwise operation" : "arithmetic",
                        big_typename(L, i));
  }
  if (a.kind == K_FLT || b.kind == K_FLT) {
    if (bit) return luaL_error(L, "number has no integer representation");
    lua_pushnumber(L, float_arith(op,
                   a.kind == K_FLT ? a.f : big_todouble(a.z),
                   b.kind == K_FLT ? b.f : big_todouble(b.z)));
    return 1;
  }
  int_arith(L, cfg, op, a.z, b.z);
  if (lua_type(L, -1) == LUA_TUSERDATA)  /* '/' gives a number */
    big_account(L, (mpz_srcptr)lua_touserdata(L, -1));
  return 1;
}

#define IR_AOP_BIGFN(name, sym, irname, event, jit) \
  static int big_op_##name (lua_State *L) { return big_arith(L, IR_##name); }
IR_AOPS(IR_AOP_BIGFN)
#undef IR_AOP_BIGFN

/* The operator functions by ir_Aop. */
static const lua_CFunction big_ops[] = {
#define IR_AOP_BIGREF(name, sym, irname, event, jit)	big_op_##name,
  IR_AOPS(IR_AOP_BIGREF)
#undef IR_AOP_BIGREF
};

/* Does this VM look up the operator's metamethod?  (LuaJIT has no
   integer division or bitwise metamethods.) */
static const unsigned char big_opmeta[] = {
#define IR_AOP_BIGMETA(name, sym, irname, event, jit)	CPM_LUA54 || jit,
  IR_AOPS(IR_AOP_BIGMETA)
#undef IR_AOP_BIGMETA
};

/* }====================================================== */


/* {======================================================
** Comparisons
** ======================================================= */

/*
** A comparison operand: a bignum or Lua integer (K_INT, exact), or a float
** (K_FLT; on LuaJIT every number).  Returns its kind (K_BAD otherwise).
*/
static int cmp_get (lua_State *L, int idx, Operand *o) {
  mpz_ptr z = big_testu(L, idx);
  if (z != NULL) { o->z = z; return o->kind = K_INT; }
  if (lua_type(L, idx) != LUA_TNUMBER) return o->kind = K_BAD;
#if CPM_LUA54
  if (lua_isinteger(L, idx)) {
    o->z = ro_int(o->ro, o->limbs, lua_tointeger(L, idx));
    return o->kind = K_INT;
  }
#endif
  o->f = lua_tonumber(L, idx);
  return o->kind = K_FLT;
}


/* -1, 0, 1, or 2 when unordered (a NaN); exact for every mix. */
static int cmp_values (const Operand *a, const Operand *b) {
  int c;
  if (a->kind == K_INT && b->kind == K_INT) c = mpz_cmp(a->z, b->z);
  else if (a->kind == K_INT) {
    if (isnan(b->f)) return 2;
    c = mpz_cmp_d(a->z, b->f);
  }
  else if (b->kind == K_INT) {
    if (isnan(a->f)) return 2;
    c = -mpz_cmp_d(b->z, a->f);
  }
  else {
    if (isnan(a->f) || isnan(b->f)) return 2;
    c = (a->f > b->f) - (a->f < b->f);
  }
  return (c > 0) - (c < 0);
}


/* Both operands of a comparison metamethod; raises Lua's error otherwise. */
static int cmp_meta (lua_State *L) {
  Operand a, b;
  if (cmp_get(L, 1, &a) == K_BAD || cmp_get(L, 2, &b) == K_BAD) {
    const char *t1 = big_typename(L, 1), *t2 = big_typename(L, 2);
    if (strcmp(t1, t2) == 0)
      return luaL_error(L, "attempt to compare two %s values", t1);
    return luaL_error(L, "attempt to compare %s with %s", t1, t2);
  }
  return cmp_values(&a, &b);
}


static int big_lt (lua_State *L) {
  lua_pushboolean(L, cmp_meta(L) == -1);
  return 1;
}


static int big_le (lua_State *L) {
  int c = cmp_meta(L);
  lua_pushboolean(L, c == -1 || c == 0);
  return 1;
}


static int big_eq (lua_State *L) {
  mpz_ptr a = big_testu(L, 1), b = big_testu(L, 2);
  lua_pushboolean(L, a != NULL && b != NULL && mpz_cmp(a, b) == 0);
  return 1;
}


/* An operand of cpm.eq / cpm.cmp; raises a bad argument otherwise. */
static void cmp_arg (lua_State *L, int idx, Operand *o) {
  if (cmp_get(L, idx, o) == K_BAD) {
    const char *msg = lua_pushfstring(L, "number or cpm.big expected, "
                                      "got %s", big_typename(L, idx));
    luaL_argerror(L, idx, msg);
  }
}


/* cpm.eq(a, b): true when a and b have the same value (any mix). */
static int big_eqfn (lua_State *L) {
  Operand a, b;
  cmp_arg(L, 1, &a);
  cmp_arg(L, 2, &b);
  lua_pushboolean(L, cmp_values(&a, &b) == 0);
  return 1;
}


/* cpm.cmp(a, b): -1, 0 or 1 (any mix); nil when either is NaN. */
static int big_cmpfn (lua_State *L) {
  Operand a, b;
  int c;
  cmp_arg(L, 1, &a);
  cmp_arg(L, 2, &b);
  c = cmp_values(&a, &b);
  if (c == 2) lua_pushnil(L);
  else lua_pushinteger(L, c);
  return 1;
}

/* }====================================================== */


/* {======================================================
** Conversions
** ======================================================= */

static int isspacechar (int c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}


static int digitvalue (int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 99;
}


/* Raises a bad argument #1 naming the offending character. */
static void parse_error (lua_State *L, const char *why, int c, int base) {
  const char *msg;
  if (c >= 0x20 && c < 0x7f)
    msg = lua_pushfstring(L, "%s '%c' in base %d", why, c, base);
  else
    msg = lua_pushfstring(L, "%s '\\%d' in base %d", why, c & 0xff, base);
  luaL_argerror(L, 1, msg);
}


/*
** Parses the string at index 1 in 'base' (0: 10, or 16 with a 0x prefix)
** into 'z'.  Raises a bad argument #1 saying what is wrong.
*/
static void big_parse (lua_State *L, const cpm_Config *cfg, mpz_ptr z,
                       int base) {
  size_t len, i = 0, start, ndig;
  const char *s = lua_tolstring(L, 1, &len);
  int neg = 0;
  while (i < len && isspacechar((unsigned char)s[i])) i++;
  if (i < len && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  if ((base == 0 || base == 16) && i + 1 < len && s[i] == '0'
      && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
    i += 2;
    base = 16;
  }
  if (base == 0) base = 10;
  start = i;
  for (; i < len && !isspacechar((unsigned char)s[i]); i++) {
    if (digitvalue((unsigned char)s[i]) >= base)
      parse_error(L, "invalid digit", (unsigned char)s[i], base);
  }
  ndig = i - start;
  if (ndig == 0)
    luaL_argerror(L, 1, lua_pushfstring(L, "no digits in base %d", base));
  while (i < len && isspacechar((unsigned char)s[i])) i++;
  if (i < len)  /* the digits are followed by spaces, then more */
    parse_error(L, "unexpected", (unsigned char)s[i], base);
  big_checkbits(L, cfg, (uint64_t)((double)ndig * log2((double)base)) + 1,
                "string conversion");
  /* only digits and trailing spaces (ignored by GMP) up to the '\0' */
  if (mpz_set_str(z, s + start, base) != 0)
    luaL_argerror(L, 1, "malformed number");
  if (neg) mpz_neg(z, z);
}


/* cpm.big(v [, base]).  Stack: returns the new bignum. */
static int big_new (lua_State *L) {
  const cpm_Config *cfg = cpm_config(L);
  mpz_ptr z, src;
  int base = 0;
  if (!lua_isnoneornil(L, 2)) {
    lua_Integer b = luaL_checkinteger(L, 2);
    luaL_argcheck(L, 2 <= b && b <= 36, 2, "base out of range");
    luaL_argcheck(L, lua_type(L, 1) == LUA_TSTRING, 1,
                  "string expected when a base is given");
    base = (int)b;
  }
  lua_settop(L, 1);
  src = big_testu(L, 1);
  z = big_pushu(L);
  if (src != NULL) mpz_set(z, src);
  else if (lua_type(L, 1) == LUA_TSTRING) big_parse(L, cfg, z, base);
  else if (lua_type(L, 1) == LUA_TNUMBER) {
#if CPM_LUA54
    if (lua_isinteger(L, 1)) {
      big_setint(z, lua_tointeger(L, 1));
      return 1;
    }
#endif
    {
      lua_Number f = lua_tonumber(L, 1);
      luaL_argcheck(L, isintegral(f), 1,
                    "number has no integer representation");
      mpz_set_d(z, f);
    }
  }
  else {
    luaL_argerror(L, 1, lua_pushfstring(L, "number, string or cpm.big "
                  "expected, got %s", big_typename(L, 1)));
  }
  big_account(L, z);
  return 1;
}


/* cpm.isbig(v) */
static int big_isbig (lua_State *L) {
  lua_pushboolean(L, big_testu(L, 1) != NULL);
  return 1;
}


/* cpm.maxbits([n]): the size limit in force, after setting it to n. */
static int big_maxbits (lua_State *L) {
  cpm_Config *cfg = cpm_config(L);
  if (!lua_isnoneornil(L, 1)) {
#if CPM_LUA54
    lua_Integer n = luaL_checkinteger(L, 1);
#else
    lua_Number f = luaL_checknumber(L, 1);
    lua_Integer n;
    luaL_argcheck(L, isintegral(f) && f < 0x1p63, 1, "integer expected");
    n = (lua_Integer)f;
#endif
    luaL_argcheck(L, n >= 64, 1, "limit must be at least 64 bits");
    cfg->maxbits = (uint64_t)n;
  }
  lua_pushinteger(L, (lua_Integer)cfg->maxbits);
  return 1;
}


/*
** Pushes the digits of 'z' in 'base' (lower case, '-' if negative).  The
** buffer is a userdata, collected even if pushing the string fails.
*/
static void big_pushstring (lua_State *L, mpz_srcptr z, int base) {
  size_t size = mpz_sizeinbase(z, base) + 2;  /* sign and '\0' */
  char *buf;
  gmpmem_check(L, big_bits(z));  /* GMP's scratch for the conversion */
  buf = (char *)cpm_newbuffer(L, size);
  mpz_get_str(buf, base, z);
  lua_pushstring(L, buf);
  lua_remove(L, -2);
}


/* b:tostring([base]): base 2..36, default 10 */
static int big_tostring (lua_State *L) {
  mpz_ptr z = big_check(L, 1);
  lua_Integer base = luaL_optinteger(L, 2, 10);
  luaL_argcheck(L, 2 <= base && base <= 36, 2, "base out of range");
  big_pushstring(L, z, (int)base);
  return 1;
}


/* a .. b with a bignum on either side. */
static int big_concat (lua_State *L) {
  int i;
  for (i = 1; i <= 2; i++) {
    mpz_ptr z = big_testu(L, i);
    if (z != NULL) big_pushstring(L, z, 10);
    else if (lua_type(L, i) == LUA_TSTRING || lua_type(L, i) == LUA_TNUMBER) {
      lua_pushvalue(L, i);
      lua_tostring(L, -1);  /* a number converts as Lua converts it */
    }
    else
      return luaL_error(L, "attempt to concatenate a %s value",
                        big_typename(L, i));
  }
  lua_concat(L, 2);
  return 1;
}


/*
** b:tointeger(): the value as a Lua integer, nil when it does not fit.  On
** LuaJIT a number is an integer when its value is exact: there it is the
** value as a number, nil unless the double is exact.
*/
static int big_tointeger (lua_State *L) {
  mpz_ptr z = big_check(L, 1);
#if CPM_LUA54
  lua_Integer i;
  if (big_getint(z, &i)) lua_pushinteger(L, i);
  else lua_pushnil(L);
#else
  double d = big_todouble(z);
  if (isfinite(d) && mpz_cmp_d(z, d) == 0) lua_pushnumber(L, d);
  else lua_pushnil(L);
#endif
  return 1;
}


/* b:tonumber(): the nearest float (ties to even), +-inf beyond range */
static int big_tonumber (lua_State *L) {
  lua_pushnumber(L, big_todouble(big_check(L, 1)));
  return 1;
}


/* b:bits(): number of bits of |b|, 0 for 0 */
static int big_bitsm (lua_State *L) {
  lua_pushinteger(L, (lua_Integer)big_bits(big_check(L, 1)));
  return 1;
}


/* b:sign(): -1, 0 or 1 */
static int big_sign (lua_State *L) {
  lua_pushinteger(L, mpz_sgn(big_check(L, 1)));
  return 1;
}


/*
** Frees the limbs and leaves a valid 0 behind, in case a finalizer
** resurrects the value (GMP >= 6.2 allocates nothing in mpz_init).
*/
static int big_gc (lua_State *L) {
  mpz_ptr z = big_testu(L, 1);
  if (z != NULL) {
    mpz_clear(z);
    mpz_init(z);
  }
  return 0;
}

/* }====================================================== */


/* The metamethods besides the operators' (big_ops). */
static const luaL_Reg big_meta[] = {
  {"__eq", big_eq}, {"__lt", big_lt}, {"__le", big_le},
  {"__concat", big_concat}, {"__tostring", big_tostring},
  {"__gc", big_gc},
  {NULL, NULL}
};


/* The methods besides the operators' (big_ops, by their IR names). */
static const luaL_Reg big_methods[] = {
  {"tostring", big_tostring},
  {"tointeger", big_tointeger}, {"tonumber", big_tonumber},
  {"bits", big_bitsm}, {"sign", big_sign},
  {NULL, NULL}
};


static const luaL_Reg big_funcs[] = {
  {"big", big_new}, {"isbig", big_isbig}, {"eq", big_eqfn},
  {"cmp", big_cmpfn}, {"maxbits", big_maxbits},
  {NULL, NULL}
};


/*
** Sets the functions of 'l' into the table at 'tidx' with two upvalues:
** the configuration (at 'cidx') and the bignum metatable (at 'mt').
** Stack: unchanged.
*/
static void big_setfunc (lua_State *L, int tidx, int cidx, int mt,
                         const char *name, lua_CFunction f) {
  lua_pushvalue(L, cidx);
  lua_pushvalue(L, mt);
  lua_pushcclosure(L, f, 2);
  lua_setfield(L, tidx, name);
}

static void big_setfuncs (lua_State *L, int tidx, int cidx, int mt,
                          const luaL_Reg *l) {
  for (; l->name != NULL; l++) big_setfunc(L, tidx, cidx, mt, l->name, l->func);
}


void big_open (lua_State *L, int mod, int cfg) {
  int mt, op;
  mod = cpm_absindex(L, mod);
  cfg = cpm_absindex(L, cfg);
  luaL_newmetatable(L, BIG_MT);
  mt = lua_gettop(L);
  lua_pushliteral(L, BIG_MT);
  lua_setfield(L, mt, "__name");  /* LuaJIT's luaL_newmetatable does not */
  big_setfuncs(L, mt, cfg, mt, big_meta);
  lua_newtable(L);
  big_setfuncs(L, mt + 1, cfg, mt, big_methods);
  for (op = 0; op < IR_NAOP; op++) {
    big_setfunc(L, mt + 1, cfg, mt, ir_aopirname(op), big_ops[op]);
    if (big_opmeta[op]) big_setfunc(L, mt, cfg, mt, ir_aopevent(op), big_ops[op]);
  }
  lua_setfield(L, mt, "__index");
  big_setfuncs(L, mod, cfg, mt, big_funcs);
  lua_pop(L, 1);
}
