/*
** mat_u64.c -- v <- B^n v in Z/2^64 (Lua 5.4 integer arithmetic, which
** wraps exactly like uint64_t).
**   k = 1, 2, 3: right-to-left binary powering of B with fixed-size kernels
**     (3 x 3 with the constant row as an affine 2 x 2); only the vector is
**     kept, never B^n.
**   k >= 4: x^n mod chi(x) for the characteristic polynomial chi of B
**     (Fiduccia), then B^n v = sum c_i B^i v (Horner, k - 1 products by B).
**     chi comes from a Hessenberg form of B, which Z/2^64 allows although
**     it is not a field: it is a local ring, so the entry of least 2-adic
**     valuation in a column divides every other entry of that column, and
**     eliminating with it is a similarity transform by unimodular matrices
**     (Gaussian elimination to Hessenberg form: Golub and Van Loan, Matrix
**     Computations, 7.4; the pivot chosen by valuation instead of size).
**     The characteristic polynomial of a Hessenberg matrix then follows
**     from the division-free recurrence on its leading blocks (ibid.).
**     Cost: O(k^3) for chi and the final sum, O(k^2) per bit of n, against
**     O(k^3) per bit for powering B itself.
*/
#include <stdlib.h>
#include <string.h>

#include "mat.h"


/* S := S * S for a 2 x 2 matrix. */
static void sqr2 (uint64_t *S) {
  uint64_t a = S[0], b = S[1], c = S[2], d = S[3];
  uint64_t bc = b * c;
  S[0] = a * a + bc;
  S[1] = b * (a + d);
  S[2] = c * (a + d);
  S[3] = d * d + bc;
}

static void apply2 (const uint64_t *S, uint64_t *w) {
  uint64_t x = w[0], y = w[1];
  w[0] = S[0] * x + S[1] * y;
  w[1] = S[2] * x + S[3] * y;
}

static void pow2 (const uint64_t *B, uint64_t *w, uint64_t n) {
  uint64_t S[4];
  memcpy(S, B, sizeof S);
  for (;;) {
    if (n & 1) apply2(S, w);
    n >>= 1;
    if (n == 0) break;
    sqr2(S);
  }
}

/*
** 3 x 3 with the constant row (0, 0, 1): x -> A x + b with A 2 x 2; the
** square is (A^2, A b + b), 9 products instead of 27.
*/
static void sqr3a (uint64_t *S) {
  uint64_t a = S[0], b = S[1], e = S[2], c = S[3], d = S[4], f = S[5];
  uint64_t bc = b * c;
  S[0] = a * a + bc;
  S[1] = b * (a + d);
  S[2] = a * e + b * f + e;
  S[3] = c * (a + d);
  S[4] = d * d + bc;
  S[5] = c * e + d * f + f;
}

static void apply3a (const uint64_t *S, uint64_t *w) {
  uint64_t x = w[0], y = w[1], z = w[2];
  w[0] = S[0] * x + S[1] * y + S[2] * z;
  w[1] = S[3] * x + S[4] * y + S[5] * z;
}

static void pow3a (const uint64_t *B, uint64_t *w, uint64_t n) {
  uint64_t S[9];
  memcpy(S, B, sizeof S);
  for (;;) {
    if (n & 1) apply3a(S, w);
    n >>= 1;
    if (n == 0) break;
    sqr3a(S);
  }
}

static void sqr3 (uint64_t *S) {
  uint64_t T[9];
  int i, j;
  for (i = 0; i < 3; i++)
    for (j = 0; j < 3; j++)
      T[i*3 + j] = S[i*3] * S[j] + S[i*3 + 1] * S[3 + j] + S[i*3 + 2] * S[6 + j];
  memcpy(S, T, sizeof T);
}

static void apply3 (const uint64_t *S, uint64_t *w) {
  uint64_t x = w[0], y = w[1], z = w[2];
  w[0] = S[0] * x + S[1] * y + S[2] * z;
  w[1] = S[3] * x + S[4] * y + S[5] * z;
  w[2] = S[6] * x + S[7] * y + S[8] * z;
}

static void pow3 (const uint64_t *B, uint64_t *w, uint64_t n) {
  uint64_t S[9];
  memcpy(S, B, sizeof S);
  for (;;) {
    if (n & 1) apply3(S, w);
    n >>= 1;
    if (n == 0) break;
    sqr3(S);
  }
}


/*
** T := S * S (k x k, T and S distinct).  With 'aff' the last row of S is
** (0, ..., 0, 1) and stays so: only the first k-1 rows are computed.
*/
static void sqrk (int k, uint64_t *T, const uint64_t *S, int aff) {
  int i, j, l;
  for (i = 0; i < k - aff; i++) {
    uint64_t *t = T + i*k;
    const uint64_t *s = S + i*k;
    for (j = 0; j < k; j++) t[j] = 0;
    for (l = 0; l < k; l++) {
      uint64_t a = s[l];
      const uint64_t *r = S + l*k;
      if (a == 0) continue;
      for (j = 0; j < k; j++) t[j] += a * r[j];
    }
  }
}

/* w := S w, using tmp (k). */
static void applyk (int k, const uint64_t *S, uint64_t *w, uint64_t *tmp,
                    int aff) {
  int i, j;
  for (i = 0; i < k - aff; i++) {
    uint64_t acc = 0;
    for (j = 0; j < k; j++) acc += S[i*k + j] * w[j];
    tmp[i] = acc;
  }
  memcpy(w, tmp, (size_t)(k - aff) * sizeof *w);
}

/*
** General size; the exponent is given as 'nlimbs' limbs of 'bits' bits
** each (one uint64 for the fast path, the mpz limbs otherwise).
*/
static int powk (int k, const uint64_t *B, uint64_t *w,
                 const mp_limb_t *limbs, size_t nlimbs) {
  size_t kk = (size_t)k * (size_t)k, i;
  uint64_t *S = malloc((2*kk + (size_t)k) * sizeof *S);
  uint64_t *T, *tmp;
  int aff = B[kk - 1] == 1, j;
  if (S == NULL) return MAT_ENOMEM;
  for (j = 0; j < k - 1; j++) if (B[(size_t)(k - 1)*k + j] != 0) aff = 0;
  T = S + kk;
  tmp = T + kk;
  memcpy(S, B, kk * sizeof *S);
  memcpy(T, B, kk * sizeof *S);  /* the constant row, when aff */
  for (i = 0; i < nlimbs; i++) {
    mp_limb_t e = limbs[i];
    int b, nb = GMP_NUMB_BITS;
    if (i == nlimbs - 1)  /* top limb: stop after its last one bit */
      for (nb = 0; nb < GMP_NUMB_BITS && (e >> nb) != 0; nb++) ;
    for (b = 0; b < nb; b++) {
      uint64_t *swap;
      if ((e >> b) & 1) applyk(k, S, w, tmp, aff);
      if (i == nlimbs - 1 && b == nb - 1) break;
      sqrk(k, T, S, aff);
      swap = S; S = T; T = swap;
    }
  }
  free(S < T ? S : T);
  return MAT_OK;
}


/* {======================================================
** Characteristic polynomial path (k >= 4)
** ======================================================= */

/* Number of trailing zero bits of a != 0. */
static int val2 (uint64_t a) {
#if defined(__GNUC__)
  return __builtin_ctzll(a);
#else
  int v = 0;
  while (!(a & 1)) { a >>= 1; v++; }
  return v;
#endif
}

/* 1/a mod 2^64 for odd a: Newton's iteration x <- x (2 - a x) doubles
** the number of correct low bits, and x = a is right to 3 bits. */
static uint64_t inv_odd (uint64_t a) {
  uint64_t x = a;
  int i;
  for (i = 0; i < 5; i++) x *= 2 - a * x;
  return x;
}

/* sum a[i] b[i], i < n (four accumulators: independent multiplications). */
static uint64_t dot (const uint64_t *a, const uint64_t *b, int n) {
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int i;
  for (i = 0; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; i++) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

/* d[i] -= t s[i], i < n. */
static void axmy (uint64_t *d, uint64_t t, const uint64_t *s, int n) {
  int i;
  for (i = 0; i + 4 <= n; i += 4) {
    d[i] -= t * s[i];
    d[i + 1] -= t * s[i + 1];
    d[i + 2] -= t * s[i + 2];
    d[i + 3] -= t * s[i + 3];
  }
  for (; i < n; i++) d[i] -= t * s[i];
}

/*
** H (k x k, row-major) := an upper Hessenberg matrix similar to H.  Column
** c: the multipliers t_j = H[j][c] / pivot, then every row j -= t_j row c+1
** (E H with E = I - sum t_j e_j e_(c+1)^T; the rows are zero left of
** column c), then column c+1 += sum t_j column j (times E^-1): one dot
** product per row.  t (k entries) is scratch.
*/
static void hessenberg (int k, uint64_t *H, uint64_t *t) {
  int c, j, l;
  for (c = 0; c < k - 2; c++) {
    int best = -1, bv = 64, s;
    uint64_t inv;
    const uint64_t *pr;
    for (j = c + 1; j < k; j++) {
      uint64_t a = H[(size_t)j*k + c];
      if (a != 0 && val2(a) < bv) { bv = val2(a); best = j; }
    }
    if (best < 0) continue;  /* nothing below the subdiagonal */
    if (best != c + 1) {  /* P H P with P the transposition */
      for (l = 0; l < k; l++) {
        uint64_t x = H[(size_t)best*k + l];
        H[(size_t)best*k + l] = H[(size_t)(c + 1)*k + l];
        H[(size_t)(c + 1)*k + l] = x;
      }
      for (l = 0; l < k; l++) {
        uint64_t x = H[(size_t)l*k + best];
        H[(size_t)l*k + best] = H[(size_t)l*k + c + 1];
        H[(size_t)l*k + c + 1] = x;
      }
    }
    s = bv;
    pr = H + (size_t)(c + 1)*k;
    inv = inv_odd(pr[c] >> s);
    for (j = c + 2; j < k; j++) {
      uint64_t b = H[(size_t)j*k + c];
      t[j] = (b >> s) * inv;  /* pivot t_j = b: v2(b) >= s */
      if (t[j] != 0) axmy(H + (size_t)j*k + c, t[j], pr + c, k - c);
    }
    for (l = 0; l < k; l++)
      H[(size_t)l*k + c + 1] += dot(H + (size_t)l*k + c + 2, t + c + 2, k - c - 2);
  }
}

/*
** chi(x) = det(xI - H) = x^k + sum_(i<k) P[k][i] x^i for an upper Hessenberg
** H, with p_m the characteristic polynomial of its leading m x m block:
**   p_m = (x - h_mm) p_(m-1) - sum_(i<m) h_im (h_(i+1,i) ... h_(m,m-1)) p_(i-1)
** (1-based indices).  P holds rows of k+1 coefficients, p_m in row m.
*/
static void hess_charpoly (int k, const uint64_t *H, uint64_t *P) {
  size_t w = (size_t)k + 1;
  int m, i, j;
  memset(P, 0, w * w * sizeof *P);
  P[0] = 1;
  for (m = 1; m <= k; m++) {
    uint64_t *pm = P + (size_t)m*w, prod = 1;
    const uint64_t *pm1 = P + (size_t)(m - 1)*w;
    uint64_t hmm = H[(size_t)(m - 1)*k + (m - 1)];
    for (j = 0; j < m; j++) {  /* (x - h_mm) p_(m-1) */
      pm[j + 1] += pm1[j];
      pm[j] -= hmm * pm1[j];
    }
    for (i = m - 1; i >= 1; i--) {
      uint64_t c;
      prod *= H[(size_t)i*k + (i - 1)];  /* h_(i+1,i), 1-based */
      if (prod == 0) break;  /* and so are all the products further up */
      c = H[(size_t)(i - 1)*k + (m - 1)] * prod;
      if (c != 0) axmy(pm, c, P + (size_t)(i - 1)*w, i);
    }
  }
}

/*
** Left to right: r := x^n mod chi, with x^k = sum_(i<k) red[i] x^i given
** reversed (rred[i] = red[k-1-i]) so that every step is a dot product of
** increasing indices.  The exponent is 'nlimbs' limbs (its top limb
** nonzero); rr (k) and e (2k-1) are scratch.
**   square: e_m = sum_(i+j=m) r_i r_j, with rr the reversed r;
**   reduce, top down: x^j (j >= k) adds e_j red[i] to e_(j-k+i), so the
**     final e_j = e_j + sum_(l=j+1..2k-2) e_l red[j-l+k], and
**     r_m = e_m + sum_(l=k..min(2k-2, m+k)) e_l red[m-l+k].
*/
static void polypow (int k, const uint64_t *rred, uint64_t *r, uint64_t *rr,
                     uint64_t *e, const mp_limb_t *limbs, size_t nlimbs) {
  size_t li = nlimbs;
  int started = 0, i, m;
  memset(r, 0, (size_t)k * sizeof *r);
  r[0] = 1;
  while (li-- > 0) {
    mp_limb_t x = limbs[li];
    int b;
    for (b = GMP_NUMB_BITS - 1; b >= 0; b--) {
      int bit = (int)((x >> b) & 1);
      if (!started) {
        if (!bit) continue;
        started = 1;  /* r = x^1: k >= 2 */
        r[0] = 0; r[1] = 1;
        continue;
      }
      for (i = 0; i < k; i++) rr[i] = r[k - 1 - i];
      for (m = 0; m <= 2*k - 2; m++) {
        int lo = m - k + 1 > 0 ? m - k + 1 : 0, hi = (m - 1) / 2;  /* i < m - i */
        uint64_t acc = m >= 1 && hi >= lo ? dot(r + lo, rr + (k - 1 - m + lo), hi - lo + 1) : 0;
        acc *= 2;
        if (m % 2 == 0) acc += r[m / 2] * r[m / 2];
        e[m] = acc;
      }
      for (m = 2*k - 3; m >= k; m--)
        e[m] += dot(e + m + 1, rred, 2*k - 2 - m);
      for (m = 0; m < k; m++)
        r[m] = e[m] + dot(e + k, rred + (k - 1 - m), m + 1 < k - 1 ? m + 1 : k - 1);
      if (bit) {  /* r := x r mod chi */
        uint64_t t = r[k - 1];
        for (i = k - 1; i >= 1; i--) r[i] = r[i - 1] + t * rred[k - 1 - i];
        r[0] = t * rred[k - 1];
      }
    }
  }
}

/* w := B^n w by x^n mod chi (k >= 4, n given as limbs, n >= 1). */
static int powchar (int k, const uint64_t *B, uint64_t *w,
                    const mp_limb_t *limbs, size_t nlimbs) {
  size_t kk = (size_t)k * (size_t)k, w1 = (size_t)k + 1;
  uint64_t *H = malloc((kk + w1 * w1 + 6 * (size_t)k) * sizeof *H);
  uint64_t *P, *rred, *r, *rr, *e, *y;
  int i, l;
  if (H == NULL) return MAT_ENOMEM;
  P = H + kk;
  r = P + w1 * w1;
  rr = r + k;
  e = rr + k;  /* 2k-1 entries */
  rred = e + 2*k - 1;
  memcpy(H, B, kk * sizeof *H);
  hessenberg(k, H, e);
  hess_charpoly(k, H, P);
  for (i = 0; i < k; i++)  /* x^k = -sum_(i<k) chi_i x^i, reversed */
    rred[k - 1 - i] = 0 - P[(size_t)k*w1 + i];
  polypow(k, rred, r, rr, e, limbs, nlimbs);
  /* Horner: y = sum_i r_i B^i w = B (... B (r_(k-1) w) + ...) + r_0 w */
  y = e;
  for (i = 0; i < k; i++) y[i] = r[k - 1] * w[i];
  for (l = k - 2; l >= 0; l--) {
    for (i = 0; i < k; i++) rr[i] = r[l] * w[i] + dot(B + (size_t)i*k, y, k);
    memcpy(y, rr, (size_t)k * sizeof *y);
  }
  memcpy(w, y, (size_t)k * sizeof *w);
  free(H);
  return MAT_OK;
}

/* Below this size binary powering of B is faster (measured:
** bench/matpow_bench.c, doc/performance.md). */
#define CHAR_MIN_K	4

/* }====================================================== */


int mat_u64_powapply_ui (int k, const uint64_t *B, uint64_t *v_out,
                         const uint64_t *v_in, uint64_t n) {
  uint64_t w[MAT_KMAX];
  mp_limb_t limb;
  int i, st = MAT_OK;
  if (k < 1 || k > MAT_KMAX) return MAT_ESIZE;
  if (B == NULL || v_out == NULL || v_in == NULL) return MAT_EARG;
  for (i = 0; i < k; i++) w[i] = v_in[i];
  if (n != 0) {
    if (k == 1) {  /* x a^n by squaring */
      uint64_t a = B[0], p = 1;
      for (; n != 0; n >>= 1, a *= a)
        if (n & 1) p *= a;
      w[0] *= p;
    }
    else if (k == 2) pow2(B, w, n);
    else if (k == 3 && B[6] == 0 && B[7] == 0 && B[8] == 1) pow3a(B, w, n);
    else if (k == 3) pow3(B, w, n);
    else {
      limb = (mp_limb_t)n;
      st = k >= CHAR_MIN_K ? powchar(k, B, w, &limb, 1) : powk(k, B, w, &limb, 1);
    }
  }
  if (st == MAT_OK)
    for (i = 0; i < k; i++) v_out[i] = w[i];
  return st;
}


int mat_u64_powapply (int k, const uint64_t *B, uint64_t *v_out,
                      const uint64_t *v_in, mpz_srcptr n) {
  uint64_t w[MAT_KMAX];
  int i, st;
  if (n == NULL) return MAT_EARG;
  if (mpz_sgn(n) < 0) return MAT_EARG;
  if (mpz_sizeinbase(n, 2) <= 64 && GMP_NUMB_BITS == 64)
    return mat_u64_powapply_ui(k, B, v_out, v_in, (uint64_t)mpz_getlimbn(n, 0));
  if (k < 1 || k > MAT_KMAX) return MAT_ESIZE;
  if (B == NULL || v_out == NULL || v_in == NULL) return MAT_EARG;
  for (i = 0; i < k; i++) w[i] = v_in[i];
  st = k >= CHAR_MIN_K ? powchar(k, B, w, mpz_limbs_read(n), mpz_size(n))
                       : powk(k, B, w, mpz_limbs_read(n), mpz_size(n));
  if (st == MAT_OK)
    for (i = 0; i < k; i++) v_out[i] = w[i];
  return st;
}
