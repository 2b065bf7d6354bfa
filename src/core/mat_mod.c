/*
** mat_mod.c -- v <- B^n v in Z/m (see mat_mod.h).
**
** Right-to-left binary powering over the bits of n: v <- P v when the bit
** is set, P <- P^2 while bits remain (P = B^(2^t)).  The last row of an
** affine matrix, (0 .. 0 1), is the same in every power of B: only the
** first k - 1 rows are computed.  Vectors only, never B^n applied later.
*/
#include <stdlib.h>
#include <string.h>

#include "mat.h"
#include "mat_mod.h"

typedef unsigned __int128 u128;


/* {======================================================
** 64-bit moduli
** ======================================================= */

/* Multiplication in Z/m: Montgomery's (odd m) or a 128-bit remainder. */
typedef struct Mod {
  uint64_t m;
  uint64_t minv;	/* -1/m mod 2^64 (odd m) */
  int mont;		/* entries are kept in Montgomery form, x 2^64 mod m */
  uint64_t r2;		/* 2^128 mod m (odd m) */
  int lazy;		/* k m < 2^64: sums of k products reduced once */
  int ncol;		/* k, or k - 1 when B's constant column is zero
			   (it then stays zero in every power: skipped) */
} Mod;


/* T 2^-64 mod m, for T < m 2^64 (Montgomery's REDC); T + u m < 2m 2^64
   stays within 128 bits since m < 2^63. */
static uint64_t redc (const Mod *md, u128 T) {
  uint64_t u = (uint64_t)T * md->minv;
  uint64_t t = (uint64_t)((T + (u128)u * md->m) >> 64);
  return t >= md->m ? t - md->m : t;
}


static uint64_t mulmod (const Mod *md, uint64_t a, uint64_t b) {
  if (md->mont) return redc(md, (u128)a * b);
  return (uint64_t)(((u128)a * b) % md->m);
}


static uint64_t addmod (const Mod *md, uint64_t a, uint64_t b) {
  uint64_t s = a + b;  /* a, b < m < 2^63: no overflow */
  return s >= md->m ? s - md->m : s;
}


/* x into the representation md uses: x 2^64 = REDC(x (2^128 mod m)). */
static uint64_t tomod (const Mod *md, uint64_t x) {
  return md->mont ? redc(md, (u128)x * md->r2) : x;
}


static uint64_t frommod (const Mod *md, uint64_t x) {
  return md->mont ? redc(md, x) : x;
}


/* A sum of products, reduced once: REDC (odd m) or a remainder. */
static uint64_t reduce (const Mod *md, u128 acc) {
  if (md->mont) return redc(md, acc);
  return (uint64_t)(acc % md->m);
}


/*
** c = a b for the first k - 1 rows; the last row of b is implicit,
** (0 .. 0 one) with 'one' the representation of 1.  With md->lazy every
** entry is one sum of k products reduced once (k m^2 < m 2^64 for REDC,
** < 2^128 for a remainder); otherwise each product is reduced.
*/
static void mulmat (const Mod *md, int k, const uint64_t *a,
                    const uint64_t *b, uint64_t *c, uint64_t one) {
  int i, j, l;
  for (i = 0; i < k - 1; i++)
    for (j = 0; j < md->ncol; j++) {
      if (md->lazy) {
        u128 acc = (j == k - 1) ? (u128)a[i * k + k - 1] * one : 0;
        for (l = 0; l < k - 1; l++) acc += (u128)a[i * k + l] * b[l * k + j];
        c[i * k + j] = reduce(md, acc);
      }
      else {
        uint64_t s = (j == k - 1) ? a[i * k + k - 1] : 0;  /* times one */
        for (l = 0; l < k - 1; l++)
          if (a[i * k + l] != 0 && b[l * k + j] != 0)
            s = addmod(md, s, mulmod(md, a[i * k + l], b[l * k + j]));
        c[i * k + j] = s;
      }
    }
}


/* w = a v (the first k - 1 entries; w[k-1] = v[k-1]). */
static void mulvec (const Mod *md, int k, const uint64_t *a,
                    const uint64_t *v, uint64_t *w) {
  int i, l;
  for (i = 0; i < k - 1; i++) {
    if (md->lazy) {
      u128 acc = 0;
      for (l = 0; l < md->ncol; l++) acc += (u128)a[i * k + l] * v[l];
      w[i] = reduce(md, acc);
    }
    else {
      uint64_t s = 0;
      for (l = 0; l < k; l++)
        if (a[i * k + l] != 0 && v[l] != 0)
          s = addmod(md, s, mulmod(md, a[i * k + l], v[l]));
      w[i] = s;
    }
  }
  w[k - 1] = v[k - 1];
}


/* a + b mod m for a, b < m < 2^63. */
static uint64_t addm (uint64_t a, uint64_t b, uint64_t m) {
  uint64_t s = a + b;
  return s >= m ? s - m : s;
}


/*
** One 2 x 2 block M = [[a, b], [c, d]] (Montgomery form, odd m < 2^62):
** (x0, x1) := M^n (x0, x1).  By Cayley-Hamilton M^n = alpha M + beta I,
** alpha x + beta = x^n mod chi(x) = x^2 - t x + det, taken left to right
** over the bits of n (a square, then a multiplication by x for a set
** bit): four reductions a bit in two independent chains of depth two,
** where squaring the matrix takes four sums of two products and the
** vector one more (Fiduccia, "An efficient formula for linear recurrences",
** SIAM J. Comput. 14, 1985, for the order 2).  Every REDC input is a sum
** of at most three products below m^2, so below m 2^64.
*/
static void pow2x2 (const Mod *md, const uint64_t M[4], uint64_t *x0,
                    uint64_t *x1, mpz_srcptr n, uint64_t one) {
  uint64_t m = md->m, t = addm(M[0], M[3], m);
  uint64_t nd = redc(md, (u128)M[1] * M[2] + (u128)(m - M[0]) * M[3]);  /* -det */
  uint64_t al = 0, be = one, y0, y1;
  size_t nl = mpz_size(n), li;
  const mp_limb_t *lp = mpz_limbs_read(n);
  int started = 0;
  for (li = nl; li-- > 0;) {
    mp_limb_t limb = lp[li];
    int bit;
    for (bit = GMP_NUMB_BITS - 1; bit >= 0; bit--) {
      int set = (int)((limb >> bit) & 1);
      if (started) {  /* (al x + be)^2 mod chi */
        uint64_t a2 = redc(md, (u128)al * al);
        uint64_t s = addm(redc(md, (u128)t * al), addm(be, be, m), m);
        uint64_t nb = redc(md, (u128)be * be + (u128)nd * a2);
        al = redc(md, (u128)al * s);
        be = nb;
        if (set) {  /* times x: al x^2 + be x = (t al + be) x - det al */
          uint64_t na = addm(redc(md, (u128)t * al), be, m);
          be = redc(md, (u128)nd * al);
          al = na;
        }
      }
      else if (set) { al = one; be = 0; started = 1; }
    }
  }
  y0 = redc(md, (u128)M[0] * *x0 + (u128)M[1] * *x1);
  y1 = redc(md, (u128)M[2] * *x0 + (u128)M[3] * *x1);
  y0 = redc(md, (u128)al * y0 + (u128)be * *x0);
  y1 = redc(md, (u128)al * y1 + (u128)be * *x1);
  *x0 = y0; *x1 = y1;
}


int mat_mod_u64_powapply (int k, const uint64_t *B, uint64_t *v_out,
                          const uint64_t *v_in, mpz_srcptr n, uint64_t m) {
  Mod md;
  uint64_t *p, *q, *v, *w, *t, one;
  size_t kk = (size_t)k * (size_t)k, nb, bit;
  int i;
  if (k < 1 || k > MAT_KMAX) return MAT_ESIZE;
  if (B == NULL || v_out == NULL || v_in == NULL || n == NULL ||
      mpz_sgn(n) < 0 || m == 0 || m >= ((uint64_t)1 << 63))
    return MAT_EARG;
  if (m == 1) {
    for (i = 0; i < k; i++) v_out[i] = 0;
    return MAT_OK;
  }
  p = (uint64_t *)calloc(2 * kk + 2 * (size_t)k, sizeof(uint64_t));
  if (p == NULL) return MAT_ENOMEM;
  q = p + kk; v = q + kk; w = v + k;
  md.m = m;
  md.mont = (int)(m & 1);
  md.minv = 0;
  md.r2 = 0;
  md.lazy = m < UINT64_MAX / (uint64_t)k;
  md.ncol = k - 1;
  for (i = 0; i < k - 1; i++)
    if (B[i * k + k - 1] % m != 0) md.ncol = k;
  if (md.mont) {  /* Newton's iteration for 1/m mod 2^64, then negated */
    uint64_t inv = m;
    for (i = 0; i < 6; i++) inv *= 2 - m * inv;
    md.minv = 0 - inv;
    md.r2 = (uint64_t)((((u128)1) << 64) % m);		/* 2^64 mod m */
    md.r2 = (uint64_t)(((u128)md.r2 * md.r2) % m);	/* 2^128 mod m */
  }
  for (i = 0; i < (int)kk; i++) p[i] = tomod(&md, B[i]);
  for (i = 0; i < k; i++) v[i] = tomod(&md, v_in[i]);
  one = tomod(&md, 1);
  /* a 2 x 2 block (two carried values, or one and the affine constant)
     by its characteristic polynomial; lazy sums of three products */
  if (md.mont && m < ((uint64_t)1 << 62) &&
      (k == 2 || (k == 3 && md.ncol == 2))) {
    uint64_t M[4];  /* k == 2: B's last row is (0, 1), not read */
    M[0] = p[0]; M[1] = p[1];
    M[2] = k == 2 ? 0 : p[k]; M[3] = k == 2 ? tomod(&md, 1) : p[k + 1];
    pow2x2(&md, M, &v[0], &v[1], n, one);
    for (i = 0; i < k; i++) v_out[i] = frommod(&md, v[i]);
    free(p);
    return MAT_OK;
  }
  nb = mpz_sizeinbase(n, 2);
  for (bit = 0; mpz_sgn(n) != 0 && bit < nb; bit++) {
    if (mpz_tstbit(n, bit)) {
      mulvec(&md, k, p, v, w);
      t = v; v = w; w = t;
    }
    if (bit + 1 < nb) {
      mulmat(&md, k, p, p, q, one);
      t = p; p = q; q = t;
    }
  }
  for (i = 0; i < k; i++) v_out[i] = frommod(&md, v[i]);
  free(p < q ? p : q);  /* the block starts at the lower of the two */
  return MAT_OK;
}

/* }====================================================== */


/* {======================================================
** Any modulus (mpz)
** ======================================================= */

int mat_mod_mpz_powapply (int k, mpz_srcptr const *B, mpz_ptr const *v_out,
                          mpz_srcptr const *v_in, mpz_srcptr n, mpz_srcptr m) {
  size_t kk = (size_t)k * (size_t)k, nb, bit, nz, i;
  mpz_t *z, *p, *q, *v, *w, *t;
  mpz_ptr acc;
  int r, c, l;
  if (k < 1 || k > MAT_KMAX) return MAT_ESIZE;
  if (B == NULL || v_out == NULL || v_in == NULL || n == NULL || m == NULL ||
      mpz_sgn(n) < 0 || mpz_sgn(m) <= 0)
    return MAT_EARG;
  nz = 2 * kk + 2 * (size_t)k + 1;
  z = (mpz_t *)malloc(nz * sizeof(mpz_t));
  if (z == NULL) return MAT_ENOMEM;
  for (i = 0; i < nz; i++) mpz_init(z[i]);
  p = z; q = p + kk; v = q + kk; w = v + k;
  acc = z[nz - 1];
  for (i = 0; i < kk; i++) mpz_set(p[i], B[i]);
  for (i = 0; i < (size_t)k; i++) mpz_set(v[i], v_in[i]);
  nb = mpz_sizeinbase(n, 2);
  for (bit = 0; mpz_sgn(n) != 0 && bit < nb; bit++) {
    if (mpz_tstbit(n, bit)) {
      for (r = 0; r < k - 1; r++) {
        mpz_set_ui(acc, 0);
        for (l = 0; l < k; l++) mpz_addmul(acc, p[r * k + l], v[l]);
        mpz_mod(w[r], acc, m);
      }
      mpz_set(w[k - 1], v[k - 1]);
      t = v; v = w; w = t;
    }
    if (bit + 1 < nb) {
      for (r = 0; r < k - 1; r++)
        for (c = 0; c < k; c++) {
          if (c == k - 1) mpz_set(acc, p[r * k + k - 1]);  /* times 1 */
          else mpz_set_ui(acc, 0);
          for (l = 0; l < k - 1; l++) mpz_addmul(acc, p[r * k + l], p[l * k + c]);
          mpz_mod(q[r * k + c], acc, m);
        }
      for (c = 0; c < k; c++) mpz_set_ui(q[(k - 1) * k + c], c == k - 1);
      t = p; p = q; q = t;
    }
  }
  for (i = 0; i < (size_t)k; i++) mpz_set(v_out[i], v[i]);
  for (i = 0; i < nz; i++) mpz_clear(z[i]);
  free(z);
  return MAT_OK;
}

/* }====================================================== */
