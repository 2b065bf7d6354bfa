/*
** mat_bound.c -- upper bounds on powers of nonnegative matrices, in
** doubles, valid whatever the rounding: the float ring's majorant (is every
** value of every iteration an exact integer below 2^53?) and the growth
** estimates behind mat_bits_bound.
**
** Every computed sum of k nonnegative products is multiplied by
** 1 + (k+2) 2^-50, more than the worst relative rounding error of such a
** sum (k 2^-53 / (1 - k 2^-53)); nonzero entries are never allowed below
** 2^-500, so no product underflows (raising an entry keeps every bound an
** upper bound, the matrices being nonnegative).
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mat.h"

#define TINY	0x1p-500


static double up (int k, double s) {
  if (s == 0) return 0;
  s *= 1 + (k + 2) * 0x1p-50;
  return s < TINY ? TINY : s;
}

/* x * y with 0 * inf = 0 (a true zero stays zero). */
static double mul0 (double x, double y) {
  return (x == 0 || y == 0) ? 0 : x * y;
}

/* T := S R (k x k), rounded up. */
static void mulup (int k, double *T, const double *S, const double *R) {
  int i, j, l;
  for (i = 0; i < k; i++)
    for (j = 0; j < k; j++) {
      double s = 0;
      for (l = 0; l < k; l++) s += mul0(S[i*k + l], R[l*k + j]);
      T[i*k + j] = up(k, s);
    }
}


int mat_majorant (int k, const double *A, const double *v, mpz_srcptr n,
                  double *out) {
  size_t kk = (size_t)k * (size_t)k, nb, b;
  double *S, *T, *w, *tmp;
  int i, j;
  if (k < 1 || k > MAT_KMAX) return MAT_ESIZE;
  if (A == NULL || v == NULL || n == NULL || out == NULL || mpz_sgn(n) < 0)
    return MAT_EARG;
  for (i = 0; i < (int)kk; i++) if (!(A[i] >= 0)) return MAT_EARG;
  for (i = 0; i < k; i++) if (!(v[i] >= 0)) return MAT_EARG;
  S = malloc((2*kk + 2*(size_t)k) * sizeof *S);
  if (S == NULL) return MAT_ENOMEM;
  T = S + kk; w = T + kk; tmp = w + k;
  for (i = 0; i < (int)kk; i++) S[i] = up(0, A[i]);
  for (i = 0; i < k; i++) w[i] = up(0, v[i]);
  /* M^j v must grow with j so that M^n v bounds every step.  It does for
  ** M = A when A v >= v (then A^(j+1) v >= A^j v by induction), checked
  ** with a margin above the rounding error; otherwise M = A max I. */
  for (i = 0; i < k; i++) {
    double s = 0;
    int exact = floor(v[i]) == v[i];
    for (j = 0; j < k; j++) {
      s += mul0(A[i*k + j], v[j]);
      exact = exact && floor(A[i*k + j]) == A[i*k + j] && floor(v[j]) == v[j];
    }
    /* integers below 2^53: every product and sum above was exact */
    if (exact && s < 0x1p53 ? !(s >= v[i]) : !(s >= v[i] * (1 + (k + 2) * 0x1p-50)))
      break;
  }
  if (i < k)
    for (i = 0; i < k; i++)
      if (S[i*k + i] < 1) S[i*k + i] = 1;
  nb = mpz_sgn(n) == 0 ? 0 : mpz_sizeinbase(n, 2);
  for (b = 0; b < nb; b++) {  /* right to left: w := M^n w */
    if (mpz_tstbit(n, b)) {
      for (i = 0; i < k; i++) {
        double s = 0;
        for (j = 0; j < k; j++) s += mul0(S[i*k + j], w[j]);
        tmp[i] = up(k, s);
      }
      memcpy(w, tmp, (size_t)k * sizeof *w);
    }
    if (b + 1 < nb) {
      mulup(k, T, S, S);
      memcpy(S, T, kk * sizeof *S);
    }
  }
  memcpy(out, w, (size_t)k * sizeof *w);
  free(S);
  return MAT_OK;
}


/*
** P = 2^e F with max F in (1/2, 1] (or F = 0): scaled so that huge powers
** keep their small entries (raised to TINY at worst, relative to the max).
*/
static double normalize (int k, double *F) {
  double m = 0;
  int i, ex;
  for (i = 0; i < k*k; i++) if (F[i] > m) m = F[i];
  if (m == 0 || isinf(m)) return m == 0 ? 0 : HUGE_VAL;
  frexp(m, &ex);
  for (i = 0; i < k*k; i++)
    if (F[i] != 0) {
      F[i] = ldexp(F[i], -ex);  /* exact: a power of two */
      if (F[i] < TINY) F[i] = TINY;
    }
  return ex;
}

double mat_bound_prefix_log2 (int k, const double *M, mpz_srcptr n) {
  size_t kk = (size_t)k * (size_t)k, nb, b;
  double *F, *G, *T, e, eg, best = 0;
  int i, zero = 0;
  if (mpz_sgn(n) <= 0) return 0;
  F = malloc(3 * kk * sizeof *F);
  if (F == NULL) return HUGE_VAL;
  G = F + kk; T = G + kk;
  for (i = 0; i < (int)kk; i++) G[i] = up(0, M[i]);
  eg = normalize(k, G);
  if (isinf(eg)) { free(F); return HUGE_VAL; }
  memcpy(F, G, kk * sizeof *F);
  e = eg;
  nb = mpz_sizeinbase(n, 2);
  for (b = nb - 1; ; ) {  /* F 2^e = M^(prefix of n down to bit b) */
    if (e > best && !zero) best = e;
    if (b == 0) break;
    b--;
    mulup(k, T, F, F);
    e = 2*e + normalize(k, T);
    memcpy(F, T, kk * sizeof *F);
    if (mpz_tstbit(n, b)) {
      if (e > best && !zero) best = e;  /* the square is a step too */
      mulup(k, T, F, G);
      e = e + eg + normalize(k, T);
      memcpy(F, T, kk * sizeof *F);
    }
    for (zero = 1, i = 0; i < (int)kk; i++) if (F[i] != 0) zero = 0;
    if (zero) break;  /* nilpotent: every later power is 0 */
    if (isinf(e) || e > 0x1p62) { best = HUGE_VAL; break; }
  }
  free(F);
  return best;
}
