/*
** mat_unipot.c -- v <- B^n v in Z/2^64 when B = I + N with N nilpotent on
** v (sums of powers of the loop variable: polynomial bodies).
**
** I and N commute, so B^n v = sum over j <= n of C(n, j) N^j v, in every
** commutative ring (the binomial theorem); when N^d v = 0 the sum stops
** at j < d.  The binomials are computed exactly (mpz: C(n, j) =
** C(n, j-1) (n - j + 1) / j, an exact division) and then reduced mod
** 2^64.  d + 1 products N w instead of log2(n) squarings of B.
*/
#include "mat.h"
#include "mat_unipot.h"


int mat_u64_unipot_apply (int k, const uint64_t *B, uint64_t *v_out,
                          const uint64_t *v_in, mpz_srcptr n) {
  uint64_t w[MAT_KMAX], t[MAT_KMAX], acc[MAT_KMAX];
  mpz_t c, f;
  int i, l, j, zero = 0;
  if (k < 1 || k > MAT_KMAX) return MAT_ESIZE;
  if (B == NULL || v_out == NULL || v_in == NULL || n == NULL ||
      mpz_sgn(n) < 0)
    return MAT_EARG;
  for (i = 0; i < k; i++) acc[i] = w[i] = v_in[i];
  mpz_init_set_ui(c, 1);
  mpz_init(f);
  for (j = 1; j <= k && !zero; j++) {
    uint64_t cj;
    zero = 1;
    for (i = 0; i < k; i++) {  /* t = N w = B w - w */
      uint64_t s = 0 - w[i];
      for (l = 0; l < k; l++) s += B[i * k + l] * w[l];
      t[i] = s;
      if (s != 0) zero = 0;
    }
    if (zero) break;
    mpz_sub_ui(f, n, (unsigned long)(j - 1));
    if (mpz_sgn(f) <= 0) { zero = 1; break; }  /* C(n, j) = 0 from here */
    mpz_mul(c, c, f);
    mpz_divexact_ui(c, c, (unsigned long)j);
    cj = (uint64_t)mpz_getlimbn(c, 0);
    for (i = 0; i < k; i++) {
      acc[i] += cj * t[i];
      w[i] = t[i];
    }
  }
  mpz_clear(c);
  mpz_clear(f);
  if (!zero) return MAT_EHUGE;  /* N is not nilpotent on v */
  for (i = 0; i < k; i++) v_out[i] = acc[i];
  return MAT_OK;
}
