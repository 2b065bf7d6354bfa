/*
** mat_gf2.c -- v <- T^n(v) for an affine map T over GF(2)^(64k): the
** minimal polynomial of v's iterates (Berlekamp-Massey, Wiedemann's
** rounds), x^n modulo it, and the bit-matrix power as the fallback.
** See mat_gf2.h for the method and its sources.
**
** Vectors are k + 1 words: the k words of state and a last word holding
** the constant bit (1 for the state, 0 for differences), so that T is
** linear on D = 64k + 1 bits.  Polynomials over GF(2) are little-endian
** bit arrays of words: bit t of word t / 64 is the coefficient of x^t.
*/
#include <stdlib.h>
#include <string.h>

#include "mat_gf2.h"

#define MAXROUNDS	64	/* Wiedemann rounds before the matrix power */
/* Words of p's squaring tables: (deg p + 3) / 4 x 16 entries of up to
   k + 1 words, deg p <= 64k + 1. */
#define TABWORDS(k)	((size_t)16 * (size_t)(16 * (k) + 1) * (size_t)((k) + 1))

/* Seeds of the functionals f(u) = parity(u & mask): fixed, so results
   never depend on a global state (a bad mask costs a round, not a
   wrong result: p(T) v = 0 is checked on the vectors). */
#define MASKSEED	UINT64_C(0x9E3779B97F4A7C15)


typedef struct Ctx {
  int k, K, D;		/* state words, vector words (k + 1), bits */
  mat_gf2_Map T;
  void *ud;
  uint64_t *b;		/* T(0): the affine constant */
  uint64_t *tmp;	/* K words */
} Ctx;


/* out = T(u) on the linear (augmented) space. */
static void taug (Ctx *c, const uint64_t *u, uint64_t *out) {
  int i;
  c->T(c->ud, u, out);
  if (!(u[c->k] & 1))
    for (i = 0; i < c->k; i++) out[i] ^= c->b[i];
  out[c->k] = u[c->k] & 1;
}


static int iszero (const uint64_t *u, int n) {
  int i;
  for (i = 0; i < n; i++) if (u[i]) return 0;
  return 1;
}


static int getbit (const uint64_t *a, int t) {
  return (int)((a[t >> 6] >> (t & 63)) & 1);
}


/* dst ^= src << m (bits); src has 'ns' words; dst is large enough. */
static inline void xorshl (uint64_t *dst, const uint64_t *src, int ns,
                           int m) {
  int w = m >> 6, s = m & 63, i;
  if (s == 0)
    for (i = 0; i < ns; i++) dst[i + w] ^= src[i];
  else
    for (i = 0; i < ns; i++) {  /* no test of src[i]: random bits */
      dst[i + w] ^= src[i] << s;
      dst[i + w + 1] ^= src[i] >> (64 - s);
    }
}


/* Degree of polynomial a (nw words), -1 for 0. */
static int degree (const uint64_t *a, int nw) {
  int i;
  for (i = nw - 1; i >= 0; i--)
    if (a[i]) return i * 64 + 63 - __builtin_clzll(a[i]);
  return -1;
}


/*
** Berlekamp-Massey over GF(2) on the N bits of 'R' stored reversed (bit t
** of R is s_{N-1-t}; R has at least one zero word past N bits).  Leaves in
** 'p' the monic polynomial x^L C(1/x) of the shortest recurrence
** (C the connection polynomial) and returns L.  C, B, S: PW words each.
*/
static int berlekamp_massey (const uint64_t *R, int N, int PW, uint64_t *C,
                             uint64_t *Bp, uint64_t *S, uint64_t *p) {
  int L = 0, m = 1, i, j, nb;
  memset(C, 0, (size_t)PW * 8); memset(Bp, 0, (size_t)PW * 8);
  C[0] = Bp[0] = 1;
  for (i = 0; i < N; i++) {
    int off = N - 1 - i, o = off >> 6, sh = off & 63, nw = (L >> 6) + 1;
    uint64_t acc = 0;
    for (j = 0; j < nw; j++) {
      uint64_t r = R[o + j] >> sh;
      if (sh) r |= R[o + j + 1] << (64 - sh);
      acc ^= C[j] & r;
    }
    if (!__builtin_parityll(acc)) { m++; continue; }
    nb = (L >> 6) + 1;  /* deg Bp <= L */
    if (nb > PW - (m >> 6) - 1) nb = PW - (m >> 6) - 1;
    if (2 * L <= i) {
      memcpy(S, C, (size_t)PW * 8);
      xorshl(C, Bp, nb, m);
      L = i + 1 - L;
      memcpy(Bp, S, (size_t)PW * 8);
      m = 1;
    }
    else {
      xorshl(C, Bp, nb, m);
      m++;
    }
  }
  memset(p, 0, (size_t)PW * 8);
  for (j = 0; j <= L; j++)
    if (getbit(C, j)) p[(L - j) >> 6] |= (uint64_t)1 << ((L - j) & 63);
  return L;
}


/* out = a * b (out distinct, PW words, degrees small enough). */
static void polymul (const uint64_t *a, const uint64_t *b, uint64_t *out,
                     int PW) {
  int da = degree(a, PW), t;
  memset(out, 0, (size_t)PW * 8);
  for (t = 0; t <= da; t++)
    if (getbit(a, t)) xorshl(out, b, PW - (t >> 6) - 1, t);
}


/*
** The squaring tables of p (degree dp >= 1), rw = ceil(dp / 64) words an
** entry (a remainder has degree below dp: a degree-64 p, one-word states,
** keeps one-word entries).  Squaring is linear over GF(2) (the Frobenius
** map), so r^2 mod p is the xor, over the nibbles b of r at bit 4j, of the
** entries
** (j, b) = b(x)^2 x^(8j) mod p: (dp + 3) / 4 lookups, no reduction.
** Nibbles rather than bytes keep the tables in the first-level cache.
*/
static void sqtable (uint64_t *tab, const uint64_t *p, int dp, int rw) {
  int b, i, j, t, nj = (dp + 3) / 4;
  uint64_t e[MAT_GF2_KMAX + 2];
#define ENTRY(j, b)	(&tab[((size_t)(j) * 16 + (size_t)(b)) * (size_t)rw])
  memset(e, 0, sizeof(e));
  e[0] = 1;
  memset(tab, 0, (size_t)(rw == 1 ? 16 : nj) * 16 * (size_t)rw * 8);
  for (t = 0; t <= 2 * (dp - 1); t++) {  /* e = x^t mod p */
    if (t > 0) {
      for (j = rw; j > 0; j--) e[j] = (e[j] << 1) | (e[j - 1] >> 63);
      e[0] <<= 1;
      if (getbit(e, dp)) for (j = 0; j <= rw; j++) e[j] ^= p[j];
    }
    if (t % 2 == 0)  /* (x^i)^2 with i = t / 2 */
      memcpy(ENTRY(t / 8, 1 << ((t / 2) & 3)), e, (size_t)rw * 8);
  }
  for (i = 0; i < nj; i++)
    for (b = 3; b < 16; b++)
      if (b & (b - 1))
        for (j = 0; j < rw; j++)
          ENTRY(i, b)[j] = ENTRY(i, b & (b - 1))[j] ^ ENTRY(i, b & -b)[j];
#undef ENTRY
}


/* out = r^2 mod p (deg r < dp), by the squaring tables. */
static void sqmod (const uint64_t *r, uint64_t *out, const uint64_t *tab,
                   int dp, int rw) {
  int nj = (dp + 3) / 4, j = 0, i, w;
  size_t stride = (size_t)16 * (size_t)rw;
  const uint64_t *e = tab;
  if (rw <= 2) {  /* one- and two-word states: registers, 4 nibbles a turn */
    uint64_t o0 = 0, o1 = 0;
    for (; j + 4 <= nj; j += 4, e += 4 * stride) {
      uint64_t x = r[j >> 4] >> ((j & 15) * 4);  /* j % 4 == 0: one word */
      const uint64_t *f0 = e + (x & 15) * (size_t)rw;
      const uint64_t *f1 = e + stride + ((x >> 4) & 15) * (size_t)rw;
      const uint64_t *f2 = e + 2 * stride + ((x >> 8) & 15) * (size_t)rw;
      const uint64_t *f3 = e + 3 * stride + ((x >> 12) & 15) * (size_t)rw;
      o0 ^= f0[0] ^ f1[0] ^ f2[0] ^ f3[0];
      if (rw == 2) o1 ^= f0[1] ^ f1[1] ^ f2[1] ^ f3[1];
    }
    for (; j < nj; j++, e += stride) {
      const uint64_t *f = e + ((r[j >> 4] >> ((j & 15) * 4)) & 15) * (size_t)rw;
      o0 ^= f[0];
      if (rw == 2) o1 ^= f[1];
    }
    out[0] = o0;
    if (rw == 2) out[1] = o1;
    return;
  }
  memset(out, 0, (size_t)rw * 8);
  for (w = 0; j < nj; w++) {
    uint64_t x = r[w];
    for (i = 0; i < 16 && j < nj; i++, j++, x >>= 4, e += stride) {
      const uint64_t *f = e + (x & 15) * (size_t)rw;
      int t;
      for (t = 0; t < rw; t++) out[t] ^= f[t];
    }
  }
}


/* r^2 mod p for deg p <= 64, in one word: the sixteen nibbles' entries
   (sqtable clears all sixteen rows then, so a nibble past deg p finds 0). */
static uint64_t sqmod1 (uint64_t r, const uint64_t *tab) {
#define NIB(j)	tab[(j) * 16 + ((r >> (4 * (j))) & 15)]
  return NIB(0) ^ NIB(1) ^ NIB(2) ^ NIB(3) ^ NIB(4) ^ NIB(5) ^ NIB(6) ^
         NIB(7) ^ NIB(8) ^ NIB(9) ^ NIB(10) ^ NIB(11) ^ NIB(12) ^ NIB(13) ^
         NIB(14) ^ NIB(15);
#undef NIB
}


/* Bit i of n (i below n's size in bits), read from its limbs. */
static int nbit (const mp_limb_t *nl, long i) {
  return (int)((nl[i / GMP_NUMB_BITS] >> (i % GMP_NUMB_BITS)) & 1);
}


/* r = x^n mod p (deg p = dp >= 0); r, sq: PW words; tab: p's tables. */
static void powmod (uint64_t *r, uint64_t *sq, const uint64_t *tab,
                    mpz_srcptr n, const uint64_t *p, int dp, int PW) {
  long i;
  int rw = (dp + 63) >> 6, j;
  uint64_t *a = r, *b = sq, *t;
  const mp_limb_t *nl = mpz_limbs_read(n);
  memset(r, 0, (size_t)PW * 8);
  memset(sq, 0, (size_t)PW * 8);
  if (dp == 0) return;  /* everything is 0 mod 1 */
  r[0] = 1;
  if (mpz_sgn(n) == 0) return;  /* nl may not hold a limb */
  if (rw == 1) {  /* one word, in a register: x^(dp-1) times x is x^dp = p */
    uint64_t x = 1;
    for (i = (long)mpz_sizeinbase(n, 2) - 1; i >= 0; i--) {
      x = sqmod1(x, tab);
      if (nbit(nl, i)) {
        uint64_t top = (x >> (dp - 1)) & 1;
        x = (x << 1) ^ (p[0] & (0 - top));  /* bit 64 of p is not in p[0] */
      }
    }
    r[0] = x;
    return;
  }
  for (i = (long)mpz_sizeinbase(n, 2) - 1; i >= 0; i--) {
    sqmod(a, b, tab, dp, rw);  /* the squares alternate between r and sq */
    t = a; a = b; b = t;
    if (nbit(nl, i)) {  /* a = a x mod p */
      for (j = rw; j > 0; j--) a[j] = (a[j] << 1) | (a[j - 1] >> 63);
      a[0] <<= 1;
      if (getbit(a, dp)) for (j = 0; j <= rw; j++) a[j] ^= p[j];
    }
  }
  if (a != r) memcpy(r, a, (size_t)rw * 8);
}


/* dst = M src, M given by its D columns of K words. */
static void apply (const uint64_t *M, int D, int K, const uint64_t *src,
                   uint64_t *dst) {
  int t, i;
  memset(dst, 0, (size_t)K * 8);
  for (t = 0; t < D; t++)
    if (getbit(src, t))
      for (i = 0; i < K; i++) dst[i] ^= M[(size_t)t * K + i];
}


/* The bit-matrix power, right to left: v <- M^n v. */
static int matrixpow (Ctx *c, uint64_t *v, mpz_srcptr n) {
  int D = c->D, K = c->K, j;
  size_t bits = mpz_sizeinbase(n, 2), bit;
  uint64_t *M = (uint64_t *)calloc((size_t)D * K * 2 + 2 * (size_t)K, 8);
  uint64_t *M2, *u, *w;
  if (M == NULL) return MAT_ENOMEM;
  M2 = M + (size_t)D * K; u = M2 + (size_t)D * K; w = u + K;
  for (j = 0; j < D; j++) {  /* column j: the image of basis vector j */
    memset(u, 0, (size_t)K * 8);
    u[j >> 6] = (uint64_t)1 << (j & 63);
    taug(c, u, &M[(size_t)j * K]);
  }
  for (bit = 0; bit < bits; bit++) {
    if (mpz_tstbit(n, bit)) {
      apply(M, D, K, v, w);
      memcpy(v, w, (size_t)K * 8);
    }
    if (bit + 1 < bits) {
      for (j = 0; j < D; j++) apply(M, D, K, &M[(size_t)j * K], &M2[(size_t)j * K]);
      memcpy(M, M2, (size_t)D * K * 8);
    }
  }
  free(M);
  return MAT_OK;
}


size_t mat_gf2_cachewords (int k) {
  return (size_t)k + 3 + TABWORDS(k);
}


void mat_gf2_cacheinit (mat_gf2_Cache *cache, int k, uint64_t *words) {
  cache->k = k;
  cache->dp = -1;
  cache->p = words;
  cache->tab = words + k + 3;
}


int mat_gf2_powapply (int k, mat_gf2_Map T, void *ud, uint64_t *v,
                      mpz_srcptr n, mat_gf2_Cache *cache,
                      mat_gf2_Info *info) {
  Ctx c;
  mat_gf2_Info dummy;
  int K = k + 1, D = 64 * k + 1, N = 2 * D, PW, i, j, dp, rounds, res, nr;
  int have;
  uint64_t cb, *mem, *X, *Y, *u, *R, *C, *Bp, *S, *p, *q, *pq, *r, *sq, *x0, *tab;
  uint64_t mask = MASKSEED;
  if (k < 1 || k > MAT_GF2_KMAX || (cache != NULL && cache->k != k))
    return MAT_ESIZE;
  if (mpz_sgn(n) < 0 || v == NULL) return MAT_EARG;
  if (info == NULL) info = &dummy;
  info->degree = -1; info->rounds = 0; info->matrix = 0; info->cached = 0;
  PW = (2 * N + 128) / 64 + 2;
  /* every array is written before it is read, but x0 (zero) */
  mem = (uint64_t *)malloc(((size_t)2 * N * K + (size_t)PW * 10 +
                            (cache ? 0 : TABWORDS(k)) + 3 * (size_t)K) * 8);
  if (mem == NULL) return MAT_ENOMEM;
  X = mem; Y = X + (size_t)N * K;
  R = Y + (size_t)N * K; C = R + PW; Bp = C + PW; S = Bp + PW; p = S + PW;
  q = p + PW; pq = q + PW; r = pq + PW; sq = r + PW;
  c.b = sq + PW; c.tmp = c.b + K; x0 = c.tmp + K;
  tab = cache ? cache->tab : x0 + K;
  c.k = k; c.K = K; c.D = D; c.T = T; c.ud = ud;
  memset(x0, 0, (size_t)K * 8);
  T(ud, x0, c.b);
  memcpy(X, v, (size_t)k * 8);
  /* a linear map (T(0) = 0: xorshift, xoshiro) leaves the constant bit
     out: v's polynomial then lacks the factor x + 1 of that bit, and a
     degree-64 one fits one-word remainders and tables */
  cb = iszero(c.b, k) ? 0 : 1;
  X[k] = cb;
  have = 1;  /* iterates of v in X */
  /* the polynomial of an earlier call, when it annihilates v too */
  if (cache != NULL && cache->dp >= 0) {
    dp = cache->dp;
    for (; have <= dp; have++)
      taug(&c, &X[(size_t)(have - 1) * K], &X[(size_t)have * K]);
    memset(c.tmp, 0, (size_t)K * 8);
    for (i = 0; i <= dp; i++)
      if (getbit(cache->p, i))
        for (j = 0; j < K; j++) c.tmp[j] ^= X[(size_t)i * K + j];
    if (iszero(c.tmp, K)) {
      memcpy(p, cache->p, (size_t)(k + 3) * 8);
      info->cached = 1;
      goto power;
    }
    cache->dp = -1;
  }
  for (; have < N; have++)
    taug(&c, &X[(size_t)(have - 1) * K], &X[(size_t)have * K]);
  memset(p, 0, (size_t)PW * 8);
  p[0] = 1;
  dp = 0;
  /* round 1 works on v's iterates (X); later rounds on u's (Y), of which
     2 (D - dp) suffice: u's minimal polynomial divides v's over p */
  for (rounds = 0, u = X, nr = N; !iszero(u, K); rounds++) {
    int L;
    uint64_t m[MAT_GF2_KMAX + 1];
    if (rounds >= MAXROUNDS || dp >= D) break;
    /* the functional f(u) = parity(u & m), the constant bit always in */
    for (j = 0; j < k; j++) {
      mask = mask * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
      m[j] = mask;
    }
    m[k] = 1;
    memset(R, 0, (size_t)PW * 8);
    for (i = 0; i < nr; i++) {  /* its bits, reversed */
      uint64_t acc = 0;
      for (j = 0; j < K; j++) acc ^= u[(size_t)i * K + j] & m[j];
      if (__builtin_parityll(acc))
        R[(nr - 1 - i) >> 6] |= (uint64_t)1 << ((nr - 1 - i) & 63);
    }
    L = berlekamp_massey(R, nr, PW, C, Bp, S, q);
    if (L == 0) continue;  /* f saw nothing of u: another f */
    polymul(p, q, pq, PW);
    memcpy(p, pq, (size_t)PW * 8);
    dp += L;
    /* u <- q(T) u, and its iterates */
    memset(c.tmp, 0, (size_t)K * 8);
    for (i = 0; i <= L && i < nr; i++)
      if (getbit(q, i))
        for (j = 0; j < K; j++) c.tmp[j] ^= u[(size_t)i * K + j];
    memcpy(Y, c.tmp, (size_t)K * 8);
    u = Y;
    nr = dp < D ? 2 * (D - dp) : 1;
    for (i = 1; i < nr; i++) taug(&c, &Y[(size_t)(i - 1) * K], &Y[(size_t)i * K]);
  }
  info->rounds = rounds;
  if (!iszero(u, K) || dp > D) goto fallback;
  if (dp > 0) sqtable(tab, p, dp, (dp + 63) >> 6);
  if (cache != NULL) {
    memcpy(cache->p, p, (size_t)(k + 3) * 8);
    cache->dp = dp;
  }
power:
  info->degree = dp;
  powmod(r, sq, tab, n, p, dp, PW);
  memset(c.tmp, 0, (size_t)K * 8);
  for (i = 0; i < dp; i++)
    if (getbit(r, i))
      for (j = 0; j < K; j++) c.tmp[j] ^= X[(size_t)i * K + j];
  if (c.tmp[k] == cb) {  /* the constant bit survived: (x^n mod p)(1) = 1 */
    memcpy(v, c.tmp, (size_t)k * 8);
    free(mem);
    return MAT_OK;
  }
fallback:  /* always exact */
  info->matrix = 1;
  memcpy(c.tmp, v, (size_t)k * 8);
  c.tmp[k] = 1;
  res = matrixpow(&c, c.tmp, n);
  if (res == MAT_OK) memcpy(v, c.tmp, (size_t)k * 8);
  free(mem);
  return res;
}
