/*
** mat_unipot.h -- v <- B^n v in Z/2^64 for B = I + N, N nilpotent on v
** (mat_unipot.c).  Conventions of mat.h.
*/
#ifndef mat_unipot_h
#define mat_unipot_h

#include <stdint.h>
#include <gmp.h>

/*
** v_out := B^n v_in mod 2^64 when (B - I)^j v_in = 0 for some j <= k;
** MAT_EHUGE (nothing written) when not: the caller takes the general
** power.  MAT_ESIZE, MAT_EARG as mat_u64_powapply.  Cost: k + 1
** matrix-vector products and k exact binomials of n, whatever n.
*/
int mat_u64_unipot_apply (int k, const uint64_t *B, uint64_t *v_out,
                          const uint64_t *v_in, mpz_srcptr n);

#endif
