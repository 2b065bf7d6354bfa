/*
** mat_gf2.h -- n-th power of an affine map over GF(2), applied to one
** vector (mat_gf2.c).  Conventions of mat.h: nothing here calls Lua or
** raises; MAT_OK or a negative MAT_E* code; workspace freed on every path.
*/
#ifndef mat_gf2_h
#define mat_gf2_h

#include <stdint.h>
#include <gmp.h>

#include "mat.h"

/* Most 64-bit words of state (64 * MAT_GF2_KMAX bits). */
#define MAT_GF2_KMAX	8

/* An affine map T of k words: out = T(in) (in and out never alias). */
typedef void (*mat_gf2_Map) (void *ud, const uint64_t *in, uint64_t *out);

/* How one computation went (for specs and benchmarks). */
typedef struct mat_gf2_Info {
  int degree;	/* degree of the annihilating polynomial found, or -1 */
  int rounds;	/* Berlekamp-Massey rounds */
  int matrix;	/* 1 when the bit-matrix power was used instead */
  int cached;	/* 1 when the cache's polynomial annihilated v */
} mat_gf2_Info;

/*
** The polynomial of the last computation and its reduction tables, kept
** by the caller between calls with the same map: when it annihilates the
** next v (checked on v's iterates), the Berlekamp-Massey rounds are
** skipped.  Storage: mat_gf2_cachewords(k) words, owned by the caller;
** mat_gf2_cacheinit makes it empty (as must the caller when the map
** changes).
*/
typedef struct mat_gf2_Cache {
  int k;		/* the words of state it was made for */
  int dp;		/* degree of p, or -1 when empty */
  uint64_t *p;		/* k + 3 words */
  uint64_t *tab;	/* p's reduction tables */
} mat_gf2_Cache;

size_t mat_gf2_cachewords (int k);
void mat_gf2_cacheinit (mat_gf2_Cache *cache, int k, uint64_t *words);

/*
** v <- T^n(v) for the affine map T over GF(2)^(64k), 1 <= k <= MAT_GF2_KMAX,
** n >= 0.  T must be affine (T(x ^ y) = T(x) ^ T(y) ^ T(0)); the caller
** guarantees it.
**
** Method (Wiedemann, "Solving sparse linear equations over finite
** fields", IEEE Trans. Inf. Theory 32 (1986); Berlekamp-Massey as in
** Massey, "Shift-register synthesis and BCH decoding", IEEE Trans. Inf.
** Theory 15 (1969)): with the constant bit appended, T is linear on
** D = 64k + 1 bits (the bit stays 0 when T(0) = 0).  The bits f(T^i v), i < 2D, of a linear functional f
** give by Berlekamp-Massey a polynomial q with q(T) u = 0 on the Krylov
** space of u seen through f; u <- q(T) u and p <- p q until u = 0, so that
** p(T) v = 0 is verified on the vectors themselves, whatever f was.  Then
** T^n v = (x^n mod p)(T) v, with x^n mod p by left-to-right squaring of
** polynomials over GF(2).  When the rounds do not converge (unlucky
** functionals), the D x D bit matrix is powered instead (always exact).
** 'cache' (for k words) and 'info' may be NULL.
*/
int mat_gf2_powapply (int k, mat_gf2_Map T, void *ud, uint64_t *v,
                      mpz_srcptr n, mat_gf2_Cache *cache,
                      mat_gf2_Info *info);

#endif
