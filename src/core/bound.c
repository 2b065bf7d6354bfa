/*
** bound.c -- majorants of every value a loop computes, in the log2 domain.
**
** |B^j v| <= |B|^j |v| entrywise.  With M = |B| >= 0, the values of the
** iterations 0 .. n are bounded by R |v| where R = max over j <= n of M^j
** (entrywise).  R and M^n are built together over the bits of n:
**   R(2m) = max(R(m), M^m R(m)),   R(2m+1) = max(R(2m), M^(2m+1)),
** which stays tight both for growing loops (R ~ M^n) and for loops that
** only permute or copy values (R stays small).  Entries are kept as log2 so
** that bounds of bignum loops (2^(10^7) and beyond) stay finite.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bound.h"
#include "mat.h"

/* Relative margin added to every sum: far above double rounding. */
#define MARGIN	1e-12


double bound_log2_add (double a, double b) {
  double hi = a > b ? a : b, lo = a > b ? b : a;
  if (lo == -HUGE_VAL) return hi;
  return hi + log2(1.0 + exp2(lo - hi)) + MARGIN * (fabs(hi) + 1.0);
}


/* c = a * b in the log domain (k x k); c must not alias a or b. */
static void mulmat (int k, const double *a, const double *b, double *c) {
  int i, j, l;
  for (i = 0; i < k; i++)
    for (j = 0; j < k; j++) {
      double s = -HUGE_VAL;
      for (l = 0; l < k; l++) {
        double x = a[i * k + l], y = b[l * k + j];
        if (x != -HUGE_VAL && y != -HUGE_VAL) s = bound_log2_add(s, x + y);
      }
      c[i * k + j] = s;
    }
}


/* a = max(a, b) entrywise (k x k). */
static void maxmat (int k, double *a, const double *b) {
  int i;
  for (i = 0; i < k * k; i++)
    if (b[i] > a[i]) a[i] = b[i];
}


/* r (k x k) := max over j <= n of M^j (withI) or M^n, in the log2
   domain; 0 or -1 (memory, size). */
static int powmax (int k, const double *logA, mpz_srcptr n, int withI,
                   double *r) {
  size_t kk = (size_t)k * (size_t)k;
  double *m, *q, *t;
  size_t nb;
  int i, j;
  if (k < 1 || k > MAT_KMAX || mpz_sgn(n) < 0) return -1;
  m = (double *)malloc(3 * kk * sizeof(double));
  if (m == NULL) return -1;
  q = m + kk; t = q + kk;
  memcpy(m, logA, kk * sizeof(double));
  for (i = 0; i < k; i++)
    for (j = 0; j < k; j++)
      q[i * k + j] = r[i * k + j] = (i == j) ? 0 : -HUGE_VAL;
  /* q = M^n and r = max over j <= n of M^j, over the bits of n */
  for (nb = mpz_sizeinbase(n, 2); mpz_sgn(n) != 0 && nb-- > 0; ) {
    if (withI) {
      mulmat(k, q, r, t);		/* M^m R(m) */
      maxmat(k, r, t);			/* R(2m) */
    }
    mulmat(k, q, q, t);
    memcpy(q, t, kk * sizeof(double));	/* M^(2m) */
    if (mpz_tstbit(n, nb)) {
      mulmat(k, q, m, t);
      memcpy(q, t, kk * sizeof(double));	/* M^(2m+1) */
      if (withI) maxmat(k, r, q);	/* R(2m+1) */
    }
  }
  if (!withI) memcpy(r, q, kk * sizeof(double));
  free(m);  /* the block: q and t point into it */
  return 0;
}


int bound_log2_powmax (int k, const double *logA, mpz_srcptr n,
                       double *out) {
  return powmax(k, logA, n, 1, out);
}


int bound_log2_majorant (int k, const double *logA, const double *logv,
                         mpz_srcptr n, int withI, double *out) {
  double *r;
  int i, j;
  if (k < 1 || k > MAT_KMAX) return -1;
  r = (double *)malloc((size_t)k * (size_t)k * sizeof(double));
  if (r == NULL) return -1;
  if (powmax(k, logA, n, withI, r) != 0) {
    free(r);
    return -1;
  }
  for (i = 0; i < k; i++) {
    double s = -HUGE_VAL;
    for (j = 0; j < k; j++)
      if (r[i * k + j] != -HUGE_VAL && logv[j] != -HUGE_VAL)
        s = bound_log2_add(s, r[i * k + j] + logv[j]);
    out[i] = s;
  }
  free(r);
  return 0;
}
