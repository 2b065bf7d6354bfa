/*
** mat_mod.h -- the matrix-power engine in Z/m: v <- B^n v mod m, for
** loops whose every carried value is reduced modulo one invariant m.
** Conventions of mat.h (output first, v_out may be v_in, 1 <= k <=
** MAT_KMAX, no Lua calls, MAT_* codes); entries of B and v_in are already
** reduced into [0, m); results are in [0, m).
*/
#ifndef mat_mod_h
#define mat_mod_h

#include <stdint.h>
#include <gmp.h>

/*
** Modulus m with 1 <= m < 2^63, 64-bit entries, products in 128 bits
** (Montgomery multiplication for odd m: Montgomery, Math. Comp. 44, 1985;
** a 128-bit remainder for even m).  A 2 x 2 block (k = 2, or k = 3 with a
** zero constant column) with odd m < 2^62 takes x^n mod its
** characteristic polynomial (Fiduccia, SIAM J. Comput. 14, 1985), and so
** do blocks from 4 x 4 on (3 x 3 without the constant column) when m is
** odd, k m < 2^64 and their Hessenberg form has unit pivots; the rest
** binary powering of B, right to left.  The last row of B must be
** (0 .. 0 1) (the affine constant); it is not read.  Returns MAT_OK,
** MAT_ESIZE or MAT_EARG.
*/
int mat_mod_u64_powapply (int k, const uint64_t *B, uint64_t *v_out,
                          const uint64_t *v_in, mpz_srcptr n, uint64_t m);

/*
** Any modulus m >= 1 (an mpz), entries mpz in [0, m).  v_out is an array
** of k initialized mpz.  Returns MAT_OK, MAT_ESIZE, MAT_EARG or
** MAT_ENOMEM.  Every number it creates stays below m^2 k in magnitude.
*/
int mat_mod_mpz_powapply (int k, mpz_srcptr const *B, mpz_ptr const *v_out,
                          mpz_srcptr const *v_in, mpz_srcptr n, mpz_srcptr m);

#endif
