/*
** mat_toom.c -- squaring a polynomial with big integer coefficients by
** evaluation and interpolation (Toom-Cook; Knuth, TAOCP vol. 2, 4.3.3):
** a polynomial of d coefficients is evaluated at 2d-1 small points, the
** values squared, and the 2d-1 coefficients of the square recovered by one
** fixed rational linear map (the inverse of the Vandermonde matrix of the
** points).  2d-1 squarings instead of d(d+1)/2, at the price of O(d^2)
** multiplications by small integers; the charpoly path of mat_mpz.c uses
** it when the coefficients are large enough (measured: bench/matpow_bench.c).
**
** Points, homogeneous (a, b) for a/b, in this order: 0, infinity, then for
** m = 1, 2, ...: m, -m, and for m >= 2 also 1/m, -1/m.  A point and its
** negative share the even and odd parts of the evaluation.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mat.h"
#include "mat_impl.h"


/* The p-th point (a, b). */
static void point (int p, long *a, long *b) {
  long m = 1;
  if (p == 0) { *a = 0; *b = 1; return; }
  if (p == 1) { *a = 1; *b = 0; return; }
  p -= 2;
  for (;;) {
    if (p < 2) { *a = p ? -m : m; *b = 1; return; }
    p -= 2;
    if (m >= 2) {
      if (p < 2) { *a = p ? -1 : 1; *b = m; return; }
      p -= 2;
    }
    m++;
  }
}

/* |a|^i |b|^j, small by construction (checked by mat_toom_init). */
static unsigned long upow (long a, long b, int i, int j) {
  unsigned long r = 1, ua = (unsigned long)(a < 0 ? -a : a), ub = (unsigned long)b;
  while (i-- > 0) r *= ua;
  while (j-- > 0) r *= ub;
  return r;
}

double mat_toom_valbits (int d) {
  int p, i, np = 2*d - 1;
  double m = 0;
  for (p = 0; p < np; p++) {
    long a, b;
    double s = 0;
    point(p, &a, &b);
    for (i = 0; i < d; i++) s += (double)upow(a, b, i, d - 1 - i);
    if (s > m) m = s;
  }
  return m <= 1 ? 0 : floor(log2(m)) + 1;
}

void mat_toom_clear (mat_Toom *T) {
  mat_zfree(T->W, T->np * T->np);
  mat_zfree(T->den, T->np);
  mat_zfree(T->val, T->np + 1);
  memset(T, 0, sizeof *T);
}

int mat_toom_init (mat_Toom *T, int d) {
  int np = 2*d - 1, i, j, l, st = MAT_ENOMEM;
  mpq_t *M = NULL, f;
  memset(T, 0, sizeof *T);
  if (d < 2 || d > MAT_TOOM_MAXD) return MAT_ESIZE;
  T->d = d;
  T->np = np;
  T->W = mat_zalloc(np * np);
  T->den = mat_zalloc(np);
  T->val = mat_zalloc(np + 1);  /* + 1: the odd part of the last point */
  M = malloc((size_t)np * 2 * (size_t)np * sizeof *M);
  mpq_init(f);
  if (T->W == NULL || T->den == NULL || T->val == NULL || M == NULL) goto done;
  for (i = 0; i < 2*np*np; i++) mpq_init(M[i]);
  for (i = 0; i < np; i++) {  /* [V | I], V[p][j] = a_p^j b_p^(np-1-j) */
    long a, b;
    point(i, &a, &b);
    for (j = 0; j < np; j++) {
      unsigned long u = upow(a, b, j, np - 1 - j);
      mpz_set_ui(mpq_numref(M[i*2*np + j]), u);
      if (a < 0 && j % 2) mpq_neg(M[i*2*np + j], M[i*2*np + j]);
    }
    mpq_set_ui(M[i*2*np + np + i], 1, 1);
  }
  for (j = 0; j < np; j++) {  /* Gauss-Jordan; V is invertible */
    int piv = j;
    while (mpq_sgn(M[piv*2*np + j]) == 0) piv++;
    if (piv != j)
      for (l = 0; l < 2*np; l++) mpq_swap(M[piv*2*np + l], M[j*2*np + l]);
    mpq_inv(f, M[j*2*np + j]);
    for (l = 0; l < 2*np; l++) mpq_mul(M[j*2*np + l], M[j*2*np + l], f);
    for (i = 0; i < np; i++) {
      if (i == j || mpq_sgn(M[i*2*np + j]) == 0) continue;
      mpq_set(f, M[i*2*np + j]);
      for (l = 0; l < 2*np; l++) {
        mpq_t t;
        mpq_init(t);
        mpq_mul(t, f, M[j*2*np + l]);
        mpq_sub(M[i*2*np + l], M[i*2*np + l], t);
        mpq_clear(t);
      }
    }
  }
  T->wbits = 0;
  for (j = 0; j < np; j++) {  /* row j of V^-1 over its common denominator */
    mpz_set_ui(T->den[j], 1);
    for (l = 0; l < np; l++) mpz_lcm(T->den[j], T->den[j], mpq_denref(M[j*2*np + np + l]));
    for (l = 0; l < np; l++) {
      mpq_ptr q = M[j*2*np + np + l];
      mpz_divexact(T->W[j*np + l], T->den[j], mpq_denref(q));
      mpz_mul(T->W[j*np + l], T->W[j*np + l], mpq_numref(q));
      if (mpz_sizeinbase(T->W[j*np + l], 2) > T->wbits)
        T->wbits = (unsigned)mpz_sizeinbase(T->W[j*np + l], 2);
    }
  }
  st = T->wbits <= MAT_TOOM_WBITS ? MAT_OK : MAT_EHUGE;  /* the bound's promise */
done:
  if (M != NULL) {
    for (i = 0; i < 2*np*np; i++) mpq_clear(M[i]);
    free(M);
  }
  mpq_clear(f);
  if (st != MAT_OK) mat_toom_clear(T);
  return st;
}

void mat_toom_sqr (mat_Toom *T, mpz_t *A, mpz_t *e, uint64_t *maxbits) {
  int d = T->d, np = T->np, p, i, j;
  mpz_t *v = T->val;
  mpz_set(v[0], A[0]);
  mpz_set(v[1], A[d - 1]);
  for (p = 2; p < np; p += 2) {  /* v[p] = E + O, v[p+1] = E - O */
    long a, b;
    point(p, &a, &b);
    mpz_set_ui(v[p], 0);
    mpz_set_ui(v[p + 1], 0);
    for (i = 0; i < d; i++) {
      unsigned long c = upow(a, b, i, d - 1 - i);
      mpz_addmul_ui(v[p + (i % 2)], A[i], c);
    }
    if (p + 1 < np) {
      mpz_sub(v[p + 1], v[p], v[p + 1]);  /* E - O */
      mpz_mul_2exp(v[p], v[p], 1);
      mpz_sub(v[p], v[p], v[p + 1]);      /* E + O */
    }
    else mpz_add(v[p], v[p], v[p + 1]);
  }
  for (p = 0; p < np; p++) {
    mpz_mul(v[p], v[p], v[p]);
    mat_note(maxbits, v[p]);
  }
  for (j = 0; j < np; j++) {
    mpz_set_ui(e[j], 0);
    for (p = 0; p < np; p++) {
      mpz_srcptr w = T->W[j*np + p];  /* at most MAT_TOOM_WBITS bits */
      if (mpz_sgn(w) == 0) continue;
      if (mpz_fits_ulong_p(w)) mpz_addmul_ui(e[j], v[p], mpz_get_ui(w));
      else if (mpz_sgn(w) < 0 && mpz_cmpabs_ui(w, ~0UL) <= 0) {
        mpz_submul_ui(e[j], v[p], mpz_getlimbn(w, 0));
      }
      else mpz_addmul(e[j], w, v[p]);
    }
    mat_note(maxbits, e[j]);
    mpz_divexact(e[j], e[j], T->den[j]);
  }
}
