/*
** bound.c -- majorants of every value a loop computes, in the log2 domain.
**
** |B^j v| <= |B|^j |v| entrywise, and with M = max(|B|, I) entrywise
** M^n >= M^j for every j <= n (M^n = M^j M^(n-j) >= M^j I).  So M^n |v|
** bounds every value of every iteration up to n.  Entries are kept as
** log2 so that bounds of bignum loops (2^(10^7) and beyond) stay finite.
*/
#include <math.h>
#include <stdlib.h>

#include "bound.h"

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


int bound_log2_majorant (int k, const double *logA, const double *logv,
                         mpz_srcptr n, int withI, double *out) {
  size_t kk = (size_t)k * (size_t)k;
  double *m, *r, *t;
  size_t nb;
  int i, j;
  if (k < 1 || k > 256 || mpz_sgn(n) < 0) return -1;
  m = (double *)malloc(3 * kk * sizeof(double));
  if (m == NULL) return -1;
  r = m + kk; t = r + kk;
  for (i = 0; i < k; i++)
    for (j = 0; j < k; j++) {
      double a = logA[i * k + j];
      if (withI && i == j && a < 0) a = 0;  /* max(|B|, I) */
      m[i * k + j] = a;
      r[i * k + j] = (i == j) ? 0 : -HUGE_VAL;
    }
  /* r = m^n, left to right over the bits of n */
  for (nb = mpz_sizeinbase(n, 2); mpz_sgn(n) != 0 && nb-- > 0; ) {
    double *s;
    mulmat(k, r, r, t);
    s = r; r = t; t = s;
    if (mpz_tstbit(n, nb)) {
      mulmat(k, r, m, t);
      s = r; r = t; t = s;
    }
  }
  for (i = 0; i < k; i++) {
    double s = -HUGE_VAL;
    for (j = 0; j < k; j++)
      if (r[i * k + j] != -HUGE_VAL && logv[j] != -HUGE_VAL)
        s = bound_log2_add(s, r[i * k + j] + logv[j]);
    out[i] = s;
  }
  free(m);  /* the block: r and t point into it */
  return 0;
}
