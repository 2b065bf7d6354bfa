/*
** mat.h -- the matrix-power engine: v <- B^n v for a k x k matrix B, in
** two rings, plus the magnitude bounds the runtime guard checks first.
**
** The optimizer writes a loop body as an affine map x -> A x + b over the
** loop-carried variables, i.e. one k x k matrix B acting on (x..., 1); n
** iterations are v <- B^n v.  Only that vector is ever needed, never B^n.
**
** Conventions (those of GMP):
**   - output first; v_out may be v_in, and any output mpz may be the same
**     object as any input mpz (B entries included): inputs are read in full
**     before an output is written (the k outputs are distinct objects);
**   - B is k*k entries, row-major: B[i*k + j] multiplies v[j] into v[i];
**   - the exponent n is a non-negative mpz; n = 0 leaves v unchanged;
**   - 1 <= k <= MAT_KMAX;
**   - nothing here calls Lua or raises; functions return MAT_OK or a
**     negative MAT_E* code and free their workspace on every path.
**
** GMP aborts when an allocation fails, so before mat_mpz_powapply the caller
** checks mat_bits_bound against its size limit: every mpz the engine creates
** (analysis, intermediates and results) stays below that many bits.
**
** Rings:
**   u64  Z/2^64 with plain uint64_t arithmetic, bit-identical to Lua 5.4
**        integer arithmetic (signed values are passed as their two's
**        complement).  k <= 3: binary powering of B, right to left; from
**        k = 4 on: x^n mod the characteristic polynomial of B (Hessenberg
**        form by pivots of least 2-adic valuation), O(k^3 + k^2 log n).
**        Never a bignum.
**   mpz  exact integers.  B is split into the connected components of its
**        dependency graph (decoupled variables evolve alone); each component
**        takes the cheapest path its structure allows (MAT_PATH_*), the
**        general one being x^n mod chi(x) for the characteristic polynomial
**        chi (Fiduccia), left to right: polynomial squarings (Toom-3,
**        evaluation at 2d-1 points, squares of coefficients, or Kronecker
**        substitution by degree and size) and cheap multiplications by x;
**        then B^n v = sum c_i B^i v.  Only the outputs asked for are
**        computed (mat_mpz_powapply_need).
*/
#ifndef mat_h
#define mat_h

#include <stdint.h>
#include <gmp.h>

/* The largest matrix the engine computes (k = carried values + 1): the
   planner refuses a loop that needs more (plan.c), the bounds stop here
   too (bound.c). */
#define MAT_KMAX	64

/* Return codes. */
#define MAT_OK		0
#define MAT_ESIZE	(-1)	/* k out of 1..MAT_KMAX */
#define MAT_EARG	(-2)	/* n negative or a NULL array */
#define MAT_ENOMEM	(-3)	/* malloc failed (GMP itself would abort) */
#define MAT_EHUGE	(-4)	/* n cannot be taken on this path (see bound) */

/* Paths of the exact ring, or-ed into mat_Info.paths. */
#define MAT_PATH_POWER	0x01	/* 1 x 1 component: x a^n */
#define MAT_PATH_UNIPOT	0x04	/* B = I + N, N nilpotent: binomial sum */
#define MAT_PATH_LUCAS	0x08	/* 2 x 2, det +-1, trace != 0: Lucas doubling */
#define MAT_PATH_CHARPOLY 0x10	/* x^n mod chi(x), then sum c_i B^i v */
#define MAT_PATH_SOURCES 0x20	/* polynomial sources (index, constant)
				   stripped before the power of the rest */

/* n initialized mpz (NULL if malloc fails); mat_zfree(NULL, n) is a no-op. */
mpz_t *mat_zalloc (int n);
void mat_zfree (mpz_t *z, int n);

/* What one exact computation did (for specs and benchmarks). */
typedef struct mat_Info {
  unsigned paths;	/* MAT_PATH_* bits of every component */
  int ncomp;		/* number of components */
  uint64_t maxbits;	/* largest mpz the engine created, in bits */
} mat_Info;


/* {======================================================
** Z/2^64 (mat_u64.c)
** ======================================================= */

/* v_out := B^n v_in mod 2^64.  Returns MAT_OK, MAT_ESIZE or MAT_EARG. */
int mat_u64_powapply (int k, const uint64_t *B, uint64_t *v_out,
                      const uint64_t *v_in, mpz_srcptr n);

/* The same with an exponent that fits 64 bits (Lua integer loops). */
int mat_u64_powapply_ui (int k, const uint64_t *B, uint64_t *v_out,
                         const uint64_t *v_in, uint64_t n);

/* }====================================================== */


/* {======================================================
** Exact ring (mat_mpz.c)
** ======================================================= */

/*
** v_out := B^n v_in.  B and v_in are arrays of k*k and k pointers; v_out is
** an array of k initialized mpz.  'info' may be NULL.
*/
int mat_mpz_powapply (int k, mpz_srcptr const *B, mpz_ptr const *v_out,
                      mpz_srcptr const *v_in, mpz_srcptr n);
int mat_mpz_powapply_info (int k, mpz_srcptr const *B, mpz_ptr const *v_out,
                           mpz_srcptr const *v_in, mpz_srcptr n,
                           mat_Info *info);

/*
** The same when only the outputs i with need[i] != 0 are wanted (need is
** k flags, or NULL for all); the others are set to 0.  Cheaper when a
** loop's result is one of its carried values: a 2 x 2 LUCAS component
** whose needed outputs are multiples of one term of the Lucas sequence
** ends with one product instead of two squarings (mpz_fib_ui's last step),
** and a component with no needed output is skipped.
*/
int mat_mpz_powapply_need (int k, mpz_srcptr const *B, mpz_ptr const *v_out,
                           mpz_srcptr const *v_in, mpz_srcptr n,
                           const unsigned char *need, mat_Info *info);

/*
** An upper bound, in bits, on the magnitude of every mpz that
** mat_mpz_powapply(k, B, ..., v_in, n) creates, when |v_in[i]| < 2^vbits[i].
** If the bound exceeds 'cap', returns some value > cap (possibly
** UINT64_MAX, which also stands for an overflowing bound) without doing
** work of that size.  The bound runs the analysis part of the engine (the
** characteristic polynomial: O(k^4) small operations), never the power.
*/
uint64_t mat_bits_bound (int k, mpz_srcptr const *B, const uint64_t *vbits,
                         mpz_srcptr n, uint64_t cap);

/*
** The same in steps, for a caller that wants both the bound and the power
** of one B (the guard): the analysis (components, paths, characteristic
** polynomials) is then done once.  mat_mpz_plan sets *out to the plan of
** the k x k matrix B (B is copied) and returns MAT_OK, MAT_ESIZE (k out of
** range, or B's entries so large that the analysis could create numbers
** above 'cap' bits), MAT_EARG or MAT_ENOMEM (*out is then NULL).  The
** other three take a plan from it; mat_plan_free(NULL) does nothing.
** mat_plan_matches says whether P is mat_mpz_plan's plan of this B (so a
** caller may keep a plan between calls; a plan is only read while used);
** mat_plan_bits gives the size in bits of the largest number in P.
*/
typedef struct mat_Plan mat_Plan;
int mat_mpz_plan (int k, mpz_srcptr const *B, uint64_t cap, mat_Plan **out);
uint64_t mat_plan_bits_bound (mat_Plan *P, const uint64_t *vbits,
                              mpz_srcptr n);
int mat_plan_powapply (mat_Plan *P, mpz_ptr const *v_out,
                       mpz_srcptr const *v_in, mpz_srcptr n,
                       const unsigned char *need, mat_Info *info);
void mat_plan_free (mat_Plan *P);
int mat_plan_matches (const mat_Plan *P, int k, mpz_srcptr const *B);
uint64_t mat_plan_bits (const mat_Plan *P);

/* }====================================================== */


/* {======================================================
** Bounds for the float ring (mat_bound.c)
** ======================================================= */

/*
** For A (k*k, row-major) and v (k), both >= 0 (the absolute values of the
** coefficients and of the initial values), sets out[i] to an upper bound of
** max over 0 <= j <= n of (A^j v)[i], valid whatever the rounding: it is
** ((A max I)^n v)[i] computed with a margin that covers every rounding
** error.  Values too large for a double become +inf.  A NaN or negative
** entry gives MAT_EARG.  n may be any non-negative mpz.
*/
int mat_majorant (int k, const double *A, const double *v, mpz_srcptr n,
                  double *out);

/*
** Is x an integer in 0 .. 2^53 - 1?  A product or a sum of two such that
** comes out below 2^53 is exact: rounding is monotone, so the exact result
** is below 2^53 too, an integer a double holds.  (mat_majorant's
** exactness test, and the guard's magnitudes for it.)
*/
static inline int mat_smallint (double x) {
  return x >= 0 && x < 0x1p53 && (double)(int64_t)x == x;
}

/*
** log2 of an upper bound of every entry of M^j for every j that is a
** prefix of the binary expansion of n (j = floor(n / 2^t), t >= 0), M >= 0
** (k*k): the exponents left-to-right powering goes through.  Also
** bounds M^1 and M^0 = I (so never below 0).  Returns +inf on overflow.
** Used by mat_bits_bound.
*/
double mat_bound_prefix_log2 (int k, const double *M, mpz_srcptr n);

/* }====================================================== */

#endif
