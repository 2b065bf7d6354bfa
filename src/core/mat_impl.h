/*
** mat_impl.h -- what the files of the matrix-power engine share and
** nothing else sees: mpz array helpers, the size meter, and the
** characteristic polynomial / adjugate of mat_charpoly.c.
*/
#ifndef mat_impl_h
#define mat_impl_h

#include <stdint.h>
#include <gmp.h>

/* n initialized mpz (NULL if malloc fails); mat_zfree(NULL, n) is a no-op. */
mpz_t *mat_zalloc (int n);
void mat_zfree (mpz_t *z, int n);

/* Records in *maxbits the size of z if larger (maxbits may be NULL). */
static inline void mat_note (uint64_t *maxbits, mpz_srcptr z) {
  if (maxbits != NULL && mpz_sgn(z) != 0) {  /* 0 has no bits (sizeinbase: 1) */
    uint64_t b = (uint64_t)mpz_sizeinbase(z, 2);
    if (b > *maxbits) *maxbits = b;
  }
}

int mat_charpoly (int s, mpz_t *A, mpz_t *P, uint64_t *maxbits);
int mat_adjugate (int m, mpz_t *M, mpz_t *adj, mpz_ptr det, uint64_t *maxbits);

#endif
