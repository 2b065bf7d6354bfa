/*
** mat_bound.c -- upper bounds on powers of nonnegative matrices, in
** doubles, valid whatever the rounding: the float ring's majorant (is every
** value of every iteration an exact integer below 2^53?) and the growth
** estimates behind mat_bits_bound.
**
** A sum of k nonnegative products is computed with an exactness test
** (integers below 2^53 whose sum stays below 2^53 are exact; otherwise
** fma gives the product's rounding error, TwoSum the addition's); when
** some operation was inexact the sum is multiplied by 1 + (k+2) 2^-50, more
** than the worst relative rounding error of such a sum (k 2^-53 /
** (1 - k 2^-53)).  Exact sums keep their value, so bounded rows of a huge
** power stay exact instead of compounding margins over 10^1000 squarings.
** Nonzero entries are never allowed below 2^-400: products and their
** rounding errors never underflow (raising an entry keeps every bound an
** upper bound, the matrices being nonnegative).
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mat.h"

#define TINY	0x1p-400


static double clamp (double s) {
  return (s != 0 && s < TINY) ? TINY : s;
}

/* Are the m entries of x all integers below 2^53 (mat_smallint)? */
static int allsmall (size_t m, const double *x) {
  size_t i;
  for (i = 0; i < m; i++) if (!mat_smallint(x[i])) return 0;
  return 1;
}

/*
** An upper bound of sum_l (0 * inf counts as 0: a true zero stays zero) a[l*sa] b[l*sb] (k terms, all >= 0); *exact (if
** not NULL) tells whether no rounding happened.  'small': every a and b
** entry is an integer below 2^53.  Then a plain sum that comes out below
** 2^53 had no rounding: the first operation to round would have had an
** exact result of at least 2^53 (smaller integers are doubles), rounded
** to at least 2^53 (rounding is monotone), where the later terms, >= 0,
** would have kept the sum.  The guard's matrices are mostly such, and
** this spares the exactness test of each term (an fma, a library call
** where the compiler may not assume the instruction, and a TwoSum).
*/
static double dotup (int k, const double *a, int sa, const double *b, int sb,
                     int small, int *exact) {
  double s = 0;
  int l, ex = 1;
  if (small) {
    for (l = 0; l < k; l++) s += a[l*sa] * b[l*sb];
    if (s < 0x1p53) {
      if (exact != NULL) *exact = 1;
      return s;  /* an integer: clamp() would keep it */
    }
    s = 0;
  }
  for (l = 0; l < k; l++) {
    double x = a[l*sa], y = b[l*sb], p, t, bv;
    if (x == 0 || y == 0) continue;
    p = x * y;
    if (ex && fma(x, y, -p) != 0) ex = 0;
    t = s + p;
    if (ex) {
      bv = t - s;
      if ((s - (t - bv)) + (p - bv) != 0) ex = 0;
    }
    s = t;
  }
  if (exact != NULL) *exact = ex;
  if (!ex) s *= 1 + (k + 2) * 0x1p-50;
  return clamp(s);
}

/* T := S R (k x k), rounded up. */
static void mulup (int k, double *T, const double *S, const double *R) {
  size_t kk = (size_t)k * (size_t)k;
  int i, j, small = allsmall(kk, S) && (R == S || allsmall(kk, R));
  for (i = 0; i < k; i++)
    for (j = 0; j < k; j++)
      T[i*k + j] = dotup(k, S + i*k, 1, R + j, k, small, NULL);
}


int mat_majorant (int k, const double *A, const double *v, mpz_srcptr n,
                  double *out) {
  size_t kk = (size_t)k * (size_t)k, nb, b;
  double *S, *T, *w, *tmp;
  int i, fixed = 0, small;
  if (k < 1 || k > MAT_KMAX) return MAT_ESIZE;
  if (A == NULL || v == NULL || n == NULL || out == NULL || mpz_sgn(n) < 0)
    return MAT_EARG;
  for (i = 0; i < (int)kk; i++) if (!(A[i] >= 0)) return MAT_EARG;
  for (i = 0; i < k; i++) if (!(v[i] >= 0)) return MAT_EARG;
  S = malloc((2*kk + 2*(size_t)k) * sizeof *S);
  if (S == NULL) return MAT_ENOMEM;
  T = S + kk; w = T + kk; tmp = w + k;
  for (i = 0; i < (int)kk; i++) S[i] = clamp(A[i]);
  for (i = 0; i < k; i++) w[i] = clamp(v[i]);
  /* M^j v must grow with j so that M^n v bounds every step.  It does for
  ** M = A when A v >= v (then A^(j+1) v >= A^j v by induction), checked
  ** on the exact sum or with a margin above the rounding error; otherwise
  ** M = A max I. */
  small = allsmall(kk, A) && allsmall((size_t)k, v);
  for (i = 0; i < k; i++) {
    int exact;
    double s = dotup(k, A + i*k, 1, v, 1, small, &exact);
    if (!(s >= (exact ? v[i] : v[i] * (1 + (k + 2) * 0x1p-48)))) break;
  }
  if (i < k)
    for (i = 0; i < k; i++)
      if (S[i*k + i] < 1) S[i*k + i] = 1;
  nb = mpz_sgn(n) == 0 ? 0 : mpz_sizeinbase(n, 2);
  for (b = 0; b < nb; b++) {  /* right to left: w := M^n w */
    if (mpz_tstbit(n, b)) {
      small = allsmall(kk, S) && allsmall((size_t)k, w);
      for (i = 0; i < k; i++) tmp[i] = dotup(k, S + i*k, 1, w, 1, small, NULL);
      memcpy(w, tmp, (size_t)k * sizeof *w);
    }
    if (b + 1 < nb && !fixed) {
      /* once squaring no longer changes S (saturated at +inf, or exact
      ** and idempotent), 10^1000 needs no 3000 more squarings */
      mulup(k, T, S, S);
      fixed = memcmp(T, S, kk * sizeof *S) == 0;
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
  for (i = 0; i < (int)kk; i++) G[i] = clamp(M[i]);
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
