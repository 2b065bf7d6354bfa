/*
** bound.h -- magnitude bounds of loop values in the log2 domain, for
** values far beyond the range of doubles (bignum size checks).
*/
#ifndef bound_h
#define bound_h

#include <gmp.h>

/*
** For a k x k matrix A >= 0 and a vector v >= 0, both given as log2 of
** their entries (-HUGE_VAL for 0), sets out[i] to the log2 of
**   withI = 1: an upper bound of max over 0 <= j <= n of (A^j v)[i]
**              (as (max over j <= n of A^j) v);
**   withI = 0: (A^n v)[i] itself, within a relative error of about 1e-9
**              (used as a lower bound when A and v come from a loop with
**              no negative coefficient, where nothing can cancel).
** Returns 0, or -1 when k is out of 1..MAT_KMAX (mat.h) or memory is short.
*/
int bound_log2_majorant (int k, const double *logA, const double *logv,
                         mpz_srcptr n, int withI, double *out);

/*
** The matrix of withI = 1 above: out (k x k) := an upper bound of max over
** 0 <= j <= n of A^j, entrywise, in the log2 domain (the bound of every
** iterate of a nested loop's state, plan_nest.c).  Returns 0 or -1 as
** bound_log2_majorant.
*/
int bound_log2_powmax (int k, const double *logA, mpz_srcptr n,
                       double *out);

/* log2(2^a + 2^b), rounded up a little. */
double bound_log2_add (double a, double b);

#endif
