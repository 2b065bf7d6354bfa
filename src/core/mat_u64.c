/*
** mat_u64.c -- v <- B^n v in Z/2^64 (Lua 5.4 integer arithmetic, which
** wraps exactly like uint64_t).  Right-to-left binary powering: square B,
** apply the current square to v where n has a one bit; only the vector is
** kept, never B^n.  Fixed-size kernels for the sizes plans usually have
** (2 and 3, with and without the constant row); at every size a constant
** last row (0, ..., 0, 1) is kept implicit.
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
      st = powk(k, B, w, &limb, 1);
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
  st = powk(k, B, w, mpz_limbs_read(n), mpz_size(n));
  if (st == MAT_OK)
    for (i = 0; i < k; i++) v_out[i] = w[i];
  return st;
}
