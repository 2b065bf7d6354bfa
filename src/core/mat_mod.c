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


/* a^-1 mod m for 0 <= a < m < 2^63, or 0 when gcd(a, m) != 1. */
static uint64_t invmod (uint64_t a, uint64_t m) {
  int64_t r0 = (int64_t)m, r1 = (int64_t)a, s0 = 0, s1 = 1;
  while (r1 != 0) {
    int64_t qt = r0 / r1, t;
    t = r0 - qt * r1; r0 = r1; r1 = t;
    t = s0 - qt * s1; s0 = s1; s1 = t;  /* |s| <= m: no overflow */
  }
  if (r0 != 1) return 0;
  return (uint64_t)(s0 < 0 ? s0 + (int64_t)m : s0);
}


/* a b in Montgomery form. */
static uint64_t mmul (const Mod *md, uint64_t a, uint64_t b) {
  return redc(md, (u128)a * b);
}


static uint64_t subm (uint64_t a, uint64_t b, uint64_t m) {
  return a >= b ? a - b : a + (m - b);
}


/*
** chi := the characteristic polynomial of the e x e matrix A (Montgomery
** form, destroyed), monic, chi[e] = one: Hessenberg form by similarity
** transforms whose pivots are units mod m, then the recurrence of the
** leading blocks' polynomials (Wilkinson, "The Algebraic Eigenvalue
** Problem", 1965, ch. 6).  Returns 0 when a column has entries below the
** subdiagonal but no unit among them (m composite): the caller powers the
** matrix instead.  P: (e + 1) x (e + 1) work words.
*/
static int charpoly (const Mod *md, int e, uint64_t *A, uint64_t *chi,
                     uint64_t *P, uint64_t one) {
  uint64_t m = md->m;
  int c, i, j, l;
#define H(r, s)	A[(r) * e + (s)]
  for (c = 0; c + 2 < e; c++) {
    int piv = -1, any = 0;
    uint64_t inv;
    for (i = c + 2; i < e; i++) if (H(i, c) != 0) any = 1;
    if (!any) continue;  /* already Hessenberg in this column */
    for (i = c + 1; i < e && piv < 0; i++)
      if (H(i, c) != 0 && invmod(frommod(md, H(i, c)), m) != 0) piv = i;
    if (piv < 0) return 0;
    if (piv != c + 1) {  /* swap rows and columns piv and c + 1 */
      for (j = 0; j < e; j++) {
        uint64_t t = H(piv, j);
        H(piv, j) = H(c + 1, j); H(c + 1, j) = t;
      }
      for (j = 0; j < e; j++) {
        uint64_t t = H(j, piv);
        H(j, piv) = H(j, c + 1); H(j, c + 1) = t;
      }
    }
    inv = tomod(md, invmod(frommod(md, H(c + 1, c)), m));
    for (i = c + 2; i < e; i++) {
      uint64_t f = mmul(md, H(i, c), inv);
      if (f == 0) continue;
      for (j = 0; j < e; j++)  /* row i -= f row c+1 */
        H(i, j) = subm(H(i, j), mmul(md, f, H(c + 1, j)), m);
      for (j = 0; j < e; j++)  /* column c+1 += f column i */
        H(j, c + 1) = addm(H(j, c + 1), mmul(md, f, H(j, i)), m);
    }
  }
  /* P_0 = 1; P_(i+1) = (x - h_ii) P_i - sum_(j<i) h_ji (prod_(l=j+1..i)
     h_(l,l-1)) P_j; row i of P holds P_i's i + 1 coefficients */
  memset(P, 0, (size_t)(e + 1) * (size_t)(e + 1) * sizeof(uint64_t));
  P[0] = one;
  for (i = 0; i < e; i++) {
    uint64_t *pn = &P[(i + 1) * (e + 1)], *pi = &P[i * (e + 1)], prod = one;
    for (l = 0; l <= i; l++) {  /* (x - h_ii) P_i */
      pn[l + 1] = addm(pn[l + 1], pi[l], m);
      pn[l] = subm(pn[l], mmul(md, H(i, i), pi[l]), m);
    }
    for (j = i - 1; j >= 0; j--) {
      uint64_t f;
      prod = mmul(md, prod, H(j + 1, j));
      f = mmul(md, H(j, i), prod);
      if (f == 0) continue;
      for (l = 0; l <= j; l++)
        pn[l] = subm(pn[l], mmul(md, f, P[j * (e + 1) + l]), m);
    }
  }
  memcpy(chi, &P[e * (e + 1)], (size_t)(e + 1) * sizeof(uint64_t));
#undef H
  return 1;
}


/*
** v := A^n v for the e x e matrix A (e >= 3, Montgomery form, odd m with
** e m < 2^64: lazy sums of e products) by x^n mod chi, chi A's
** characteristic polynomial (Fiduccia 1985), left to right: a square is
** the 2e - 1 sums S_l of products, then r_c = S_c + sum_(l>=e) S_l
** (x^l mod chi)_c from a table; then A^n v = sum c_i A^i v.  O(e^3 +
** e^2 log n) where the matrix power is O(e^3 log n).  Returns 0 (v
** untouched) when chi cannot be had (see charpoly), -1 without memory.
*/
static int powcharpoly (const Mod *md, int e, const uint64_t *A0,
                        uint64_t *v, mpz_srcptr n, uint64_t one) {
  uint64_t m = md->m, *A, *chi, *P, *T, *r, *S, *U;
  size_t ee = (size_t)e * (size_t)e, nl = mpz_size(n), li;
  const mp_limb_t *lp = mpz_limbs_read(n);
  int i, j, l;
  A = (uint64_t *)malloc((ee * 4 + (size_t)e * 6 + 4) * sizeof(uint64_t));
  if (A == NULL) return -1;
  chi = A + ee; P = chi + e + 1; T = P + (size_t)(e + 1) * (size_t)(e + 1);
  r = T + (size_t)(e - 1) * (size_t)e; S = r + e; U = S + 2 * e;
  memcpy(A, A0, ee * sizeof(uint64_t));
  if (!charpoly(md, e, A, chi, P, one)) { free(A); return 0; }
  /* T[l - e] = x^l mod chi, l = e .. 2e-2 */
  for (j = 0; j < e; j++) T[j] = chi[j] ? m - chi[j] : 0;
  for (l = 1; l < e - 1; l++) {
    const uint64_t *pr = &T[(size_t)(l - 1) * e];
    uint64_t top = pr[e - 1], *nx = &T[(size_t)l * e];
    for (j = e - 1; j >= 0; j--)
      nx[j] = addm(j ? pr[j - 1] : 0, mmul(md, top, T[j]), m);
  }
  memset(r, 0, (size_t)e * sizeof(uint64_t));
  r[0] = one;
  for (li = nl; li-- > 0;) {  /* r = 1; r := r^2 (times x) a bit */
    mp_limb_t limb = lp[li];
    int bit;
    for (bit = GMP_NUMB_BITS - 1; bit >= 0; bit--) {
      for (l = 0; l < 2 * e - 1; l++) {  /* S_l = sum_(i+j=l) r_i r_j */
        u128 acc = 0, sq = 0;
        for (i = l < e ? 0 : l - e + 1; 2 * i < l; i++) acc += (u128)r[i] * r[l - i];
        if ((l & 1) == 0) sq = (u128)r[l / 2] * r[l / 2];
        S[l] = redc(md, acc + acc + sq);  /* at most e products */
      }
      for (j = 0; j < e; j++) {
        u128 acc = (u128)S[j] * one;
        for (l = e; l < 2 * e - 1; l++) acc += (u128)S[l] * T[(size_t)(l - e) * e + j];
        r[j] = redc(md, acc);
      }
      if ((limb >> bit) & 1) {  /* r x mod chi */
        uint64_t top = r[e - 1];
        for (j = e - 1; j >= 0; j--)
          r[j] = addm(j ? r[j - 1] : 0, mmul(md, top, T[j]), m);
      }
    }
  }
  /* U row i = A^i v; v := sum r_i A^i v */
  memcpy(U, v, (size_t)e * sizeof(uint64_t));
  for (i = 1; i < e; i++)
    for (j = 0; j < e; j++) {
      u128 acc = 0;
      for (l = 0; l < e; l++) acc += (u128)A0[j * e + l] * U[(size_t)(i - 1) * e + l];
      U[(size_t)i * e + j] = redc(md, acc);
    }
  for (j = 0; j < e; j++) {
    u128 acc = 0;
    for (i = 0; i < e; i++) acc += (u128)r[i] * U[(size_t)i * e + j];
    v[j] = redc(md, acc);
  }
  free(A);
  return 1;
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
  /* 3 x 3 and larger blocks: x^n mod the characteristic polynomial of B
     (or of its first k - 1 rows and columns when the constant column is
     zero: the constant then stays as it is).  Measured (matpow_bench mod):
     the matrix power computes only k - 1 rows, so with the constant's
     column a 3 x 3 is cheaper as a matrix (6 reductions a bit against
     9.5) and the polynomial wins from 4 x 4 on */
  if (md.mont && md.lazy && (md.ncol >= 4 || (md.ncol == 3 && k == 4))) {
    int e = md.ncol, res, j;
    for (i = 0; i < e; i++)  /* q: B's e x e block, its last row explicit */
      for (j = 0; j < e; j++)
        q[i * e + j] = i == k - 1 ? (j == k - 1 ? one : 0) : p[i * k + j];
    res = powcharpoly(&md, e, q, v, n, one);
    if (res != 0) {
      if (res > 0) for (i = 0; i < k; i++) v_out[i] = frommod(&md, v[i]);
      free(p);
      return res > 0 ? MAT_OK : MAT_ENOMEM;
    }
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
