/*
** mat_charpoly.c -- division-free characteristic polynomial (Berkowitz)
** and adjugate of a small integer matrix.  Used by the exact ring's
** analysis: O(s^4) operations on numbers of size O(s log(s max|a|)),
** independent of the exponent.
*/
#include <stdlib.h>

#include "mat.h"
#include "mat_impl.h"


/*
** chi(x) = det(xI - A) = P[0] x^s + P[1] x^(s-1) + ... + P[s], P[0] = 1.
** Berkowitz: with A_r = [[A_(r-1), c], [R, a]] (leading r x r blocks),
**   chi_r(x) = (x - a) chi_(r-1)(x) - R adj(xI - A_(r-1)) c,
** and the adjugate expands into the numbers t_j = R A_(r-1)^j c.
** A is s*s row-major; P has s+1 initialized mpz.
*/
int mat_charpoly (int s, mpz_t *A, mpz_t *P, uint64_t *maxbits) {
  mpz_t *q, *t, *w, *w2, acc;
  int r, i, j, l, st = MAT_ENOMEM;
  q = mat_zalloc(s + 1);
  t = mat_zalloc(s);
  w = mat_zalloc(s);
  w2 = mat_zalloc(s);
  mpz_init(acc);
  if (q == NULL || t == NULL || w == NULL || w2 == NULL) goto done;
  mpz_set_ui(q[0], 1);
  for (r = 1; r <= s; r++) {
    int m = r - 1;  /* size of the leading block A_(r-1) */
    mpz_srcptr a = A[m*s + m];
    /* t_j = R A_m^j c, j = 0..m-1, with w = A_m^j c */
    for (i = 0; i < m; i++) mpz_set(w[i], A[i*s + m]);
    for (j = 0; j < m; j++) {
      mpz_set_ui(t[j], 0);
      for (l = 0; l < m; l++) mpz_addmul(t[j], A[m*s + l], w[l]);
      mat_note(maxbits, t[j]);
      if (j + 1 < m) {
        for (i = 0; i < m; i++) {
          mpz_set_ui(w2[i], 0);
          for (l = 0; l < m; l++) mpz_addmul(w2[i], A[i*s + l], w[l]);
          mat_note(maxbits, w2[i]);
        }
        for (i = 0; i < m; i++) mpz_swap(w[i], w2[i]);
      }
    }
    /* new P[j] = q_j - a q_(j-1) - sum_(i=0..j-2) q_i t_(j-2-i), q_j = 0 for j > m */
    for (j = r; j >= 1; j--) {
      if (j <= m) mpz_set(acc, q[j]); else mpz_set_ui(acc, 0);
      mpz_submul(acc, a, q[j - 1]);
      for (i = 0; i <= j - 2; i++) mpz_submul(acc, q[i], t[j - 2 - i]);
      mat_note(maxbits, acc);
      mpz_set(w2[0], acc);
      mpz_swap(P[j], w2[0]);
    }
    mpz_set_ui(P[0], 1);
    for (j = 0; j <= r; j++) mpz_set(q[j], P[j]);
  }
  st = MAT_OK;
done:
  mat_zfree(q, s + 1);
  mat_zfree(t, s);
  mat_zfree(w, s);
  mat_zfree(w2, s);
  mpz_clear(acc);
  return st;
}


/*
** adj := adjugate of M (m x m), det := det(M).  By Cayley-Hamilton, with
** chi_M = x^m + c1 x^(m-1) + ... + cm:
**   adj(M) = (-1)^(m-1) (M^(m-1) + c1 M^(m-2) + ... + c(m-1) I),
**   det(M) = (-1)^m cm.
*/
int mat_adjugate (int m, mpz_t *M, mpz_t *adj, mpz_ptr det, uint64_t *maxbits) {
  mpz_t *c = mat_zalloc(m + 1), *R = mat_zalloc(m*m);
  int i, j, l, h, st = MAT_ENOMEM;
  if (c == NULL || R == NULL) goto done;
  if ((st = mat_charpoly(m, M, c, maxbits)) != MAT_OK) goto done;
  if (m % 2) mpz_neg(det, c[m]); else mpz_set(det, c[m]);
  for (i = 0; i < m; i++)
    for (j = 0; j < m; j++) mpz_set_ui(adj[i*m + j], i == j);
  for (h = 1; h <= m - 1; h++) {  /* adj := adj M + c_h I */
    for (i = 0; i < m; i++)
      for (j = 0; j < m; j++) {
        mpz_set_ui(R[i*m + j], 0);
        for (l = 0; l < m; l++) mpz_addmul(R[i*m + j], adj[i*m + l], M[l*m + j]);
        if (i == j) mpz_add(R[i*m + j], R[i*m + j], c[h]);
        mat_note(maxbits, R[i*m + j]);
      }
    for (i = 0; i < m*m; i++) mpz_swap(R[i], adj[i]);
  }
  if ((m - 1) % 2)
    for (i = 0; i < m*m; i++) mpz_neg(adj[i], adj[i]);
  st = MAT_OK;
done:
  mat_zfree(c, m + 1);
  mat_zfree(R, m*m);
  return st;
}
