/*
** mat_impl.h -- what the files of the matrix-power engine share and
** nothing else sees: mpz array helpers, the size meter, and the
** characteristic polynomial / adjugate of mat_charpoly.c.
*/
#ifndef mat_impl_h
#define mat_impl_h

#include <stdint.h>
#include <gmp.h>

/* Records in *maxbits the size of z if larger (maxbits may be NULL). */
static inline void mat_note (uint64_t *maxbits, mpz_srcptr z) {
  if (maxbits != NULL && mpz_sgn(z) != 0) {  /* 0 has no bits (sizeinbase: 1) */
    uint64_t b = (uint64_t)mpz_sizeinbase(z, 2);
    if (b > *maxbits) *maxbits = b;
  }
}

int mat_charpoly (int s, mpz_t *A, mpz_t *P, uint64_t *maxbits);
int mat_adjugate (int m, mpz_t *M, mpz_t *adj, mpz_ptr det, uint64_t *maxbits);

/*
** Squaring of polynomials with d coefficients by evaluation at 2d-1 points
** and interpolation (mat_toom.c).  MAT_TOOM_WBITS bounds the bits of every
** interpolation coefficient (mat_toom_init fails otherwise), so that
** mat_bits_bound can bound the sums before the exact divisions.
*/
#define MAT_TOOM_MAXD	8
#define MAT_TOOM_WBITS	64

typedef struct mat_Toom {
  int d, np;		/* np = 2d - 1 points */
  mpz_t *W;		/* np x np: e_j = sum_p W[j][p] s_p / den[j] */
  mpz_t *den;
  mpz_t *val;		/* np + 1: the values, then their squares */
  unsigned wbits;	/* largest W entry, in bits */
} mat_Toom;

/* Returns MAT_OK, MAT_ENOMEM, MAT_ESIZE (d out of 2..MAT_TOOM_MAXD). */
int mat_toom_init (mat_Toom *T, int d);
void mat_toom_clear (mat_Toom *T);
/* e (2d-1 coefficients) := A^2 (d coefficients); A and e distinct. */
void mat_toom_sqr (mat_Toom *T, mpz_t *A, mpz_t *e, uint64_t *maxbits);
/* log2 bound of sum_i |a|^i |b|^(d-1-i) over the points: the extra bits of
** a value over the largest coefficient. */
double mat_toom_valbits (int d);

#endif
