/*
** mat_mpz.c -- v <- B^n v over the integers (GMP), and the size bound the
** guard checks before.
**
** B is first split into the connected components of its dependency graph
** (i and j linked when B[i][j] or B[j][i] is nonzero): decoupled variables
** evolve alone, which keeps characteristic polynomials small (the constant
** row of a Fibonacci loop is its own component).  Each component takes the
** cheapest path its structure allows:
**   POWER     1 x 1: x a^n.
**   UNIPOT    diagonal 1, acyclic otherwise (index, constant, counters,
**             their sums): B^n v = sum_j C(n,j) N^j v, cheap for any n.
**   SOURCES   a set S of such unipotent variables that the others (T) read
**             but never write: x_T follows a polynomial particular solution
**             plus A_T^n applied to the rest (exact, one division at the
**             end), when 1 is not an eigenvalue of A_T.  A_T goes through
**             the same analysis (inner plan).
**   LUCAS     2 x 2 with det = -q = +-1: the Lucas-sequence doubling, two
**             squarings per bit of n (mpz_fib_ui's method, generalized),
**             its last step one product when one term is wanted.
**   CHARPOLY  x^n mod chi(x) left to right (squarings, then a cheap
**             multiplication by x); a polynomial squaring is 5 squarings
**             for degree 2 (Toom-3), 2d-1 by evaluation and interpolation
**             (mat_toom.c) for 4 to 8 large coefficients, d(d+1)/2 up to
**             degree 6, a single Kronecker-substituted squaring above;
**             then B^n v = sum_i c_i B^i v, or, one output wanted, the
**             last step as a quadratic form (qf_last).
** Only the outputs wanted are computed (mat_mpz_powapply_need); the others
** come back as 0.
** The analysis (plan) depends on B only; the bound and the power both run
** it, so the bound can count the sizes analysis really produced.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mat.h"
#include "mat_impl.h"


mpz_t *mat_zalloc (int n) {
  mpz_t *z = malloc((size_t)(n > 0 ? n : 1) * sizeof *z);
  int i;
  if (z != NULL)
    for (i = 0; i < n; i++) mpz_init(z[i]);
  return z;
}

void mat_zfree (mpz_t *z, int n) {
  int i;
  if (z == NULL) return;
  for (i = 0; i < n; i++) mpz_clear(z[i]);
  free(z);
}


/* {======================================================
** Plans
** ======================================================= */

typedef struct mat_Plan Plan;

typedef struct Comp {
  int s;		/* size */
  int *ix;		/* its variables, as indices into the plan's vector */
  int path;		/* MAT_PATH_* */
  mpz_t *A;		/* s*s: B restricted to the component */
  int d;		/* CHARPOLY, LUCAS: x^d = sum_(i<d) red[i] x^i mod chi */
  mpz_t *red;
  int ns, nt;		/* SOURCES: positions (in the component) of S and T */
  int *S, *T;
  mpz_t D;		/* det(I - A_T) */
  mpz_t *adj;		/* nt*nt, adjugate of I - A_T */
  Plan *inner;		/* plan of A_T */
} Comp;

struct mat_Plan {
  int k;
  int nc;
  Comp *c;
  uint64_t abits;	/* largest mpz the analysis created */
  mpz_t *B;		/* k*k: the matrix analysed (mat_mpz_plan's only) */
};

static void plan_free (Plan *P);

static void comp_clear (Comp *c) {
  free(c->ix);
  mat_zfree(c->A, c->s * c->s);
  mat_zfree(c->red, c->d);
  free(c->S);
  free(c->T);
  if (c->adj != NULL) mpz_clear(c->D);
  mat_zfree(c->adj, c->nt * c->nt);
  plan_free(c->inner);
}

static void plan_free (Plan *P) {
  int i;
  if (P == NULL) return;
  for (i = 0; i < P->nc; i++) comp_clear(&P->c[i]);
  free(P->c);
  mat_zfree(P->B, P->k * P->k);
  free(P);
}


static int find (int *up, int i) {
  while (up[i] != i) i = up[i] = up[up[i]];
  return i;
}

/*
** reach[i*s + j]: variable i depends, through one or more steps along
** off-diagonal entries, on variable j (Warshall).
*/
static void closure (int s, mpz_t *A, unsigned char *reach) {
  int i, j, l;
  for (i = 0; i < s; i++)
    for (j = 0; j < s; j++)
      reach[i*s + j] = (i != j && mpz_sgn(A[i*s + j]) != 0);
  for (l = 0; l < s; l++)
    for (i = 0; i < s; i++)
      if (reach[i*s + l])
        for (j = 0; j < s; j++)
          if (reach[l*s + j]) reach[i*s + j] = 1;
}

static int analyze (Plan **out, int k, mpz_t *B);

/*
** The largest set S closed under dependence on which A is unipotent:
** variables with diagonal 1, on no cycle, depending only on such variables.
** Sets good[i]; returns |S|.
*/
static int unipotent_sources (int s, mpz_t *A, unsigned char *reach,
                              unsigned char *good) {
  int i, j, ns = 0;
  for (i = 0; i < s; i++)
    good[i] = mpz_cmp_ui(A[i*s + i], 1) == 0 && !reach[i*s + i];
  for (i = 0; i < s; i++) {
    if (!good[i]) continue;
    for (j = 0; j < s; j++)
      if (reach[i*s + j] && !(mpz_cmp_ui(A[j*s + j], 1) == 0 && !reach[j*s + j])) {
        good[i] = 0;
        break;
      }
    ns += good[i];
  }
  return ns;
}

/* Tries the SOURCES path: fills c->S, c->T, c->D, c->adj, c->inner. */
static int try_sources (Comp *c, unsigned char *good, int ns, uint64_t *abits) {
  int s = c->s, nt = s - ns, i, j, st;
  mpz_t *M = NULL, *AT = NULL;
  c->S = malloc((size_t)ns * sizeof(int));
  c->T = malloc((size_t)nt * sizeof(int));
  M = mat_zalloc(nt * nt);
  AT = mat_zalloc(nt * nt);
  c->adj = mat_zalloc(nt * nt);
  if (c->adj != NULL) mpz_init(c->D);
  c->ns = ns; c->nt = nt;
  st = MAT_ENOMEM;
  if (c->S == NULL || c->T == NULL || M == NULL || AT == NULL || c->adj == NULL)
    goto done;
  for (i = 0, ns = 0, nt = 0; i < s; i++) {
    if (good[i]) c->S[ns++] = i; else c->T[nt++] = i;
  }
  for (i = 0; i < nt; i++)
    for (j = 0; j < nt; j++) {
      mpz_set(AT[i*nt + j], c->A[c->T[i]*s + c->T[j]]);
      mpz_ui_sub(M[i*nt + j], i == j, AT[i*nt + j]);
    }
  if ((st = mat_adjugate(nt, M, c->adj, c->D, abits)) != MAT_OK) goto done;
  if (mpz_sgn(c->D) == 0) { st = 1; goto done; }  /* eigenvalue 1: not this path */
  st = analyze(&c->inner, nt, AT);
  if (st == MAT_OK && c->inner->abits > *abits) *abits = c->inner->abits;
done:
  mat_zfree(M, c->nt * c->nt);
  mat_zfree(AT, c->nt * c->nt);
  if (st != MAT_OK) {  /* leave the component as it was */
    free(c->S); free(c->T); c->S = c->T = NULL;
    if (c->adj != NULL) mpz_clear(c->D);
    mat_zfree(c->adj, c->nt * c->nt);
    c->adj = NULL;
    c->ns = c->nt = 0;
  }
  return st;
}

static int classify (Comp *c, uint64_t *abits) {
  int s = c->s, i, st, ns;
  unsigned char *reach, *good;
  if (s == 1) { c->path = MAT_PATH_POWER; return MAT_OK; }
  reach = malloc((size_t)(s*s + s));
  if (reach == NULL) return MAT_ENOMEM;
  good = reach + s*s;
  closure(s, c->A, reach);
  ns = unipotent_sources(s, c->A, reach, good);
  st = 1;
  if (ns == s) c->path = MAT_PATH_UNIPOT;
  else if (ns > 0 && (st = try_sources(c, good, ns, abits)) == MAT_OK)
    c->path = MAT_PATH_SOURCES;
  free(reach);
  if (c->path != 0 || st < 0) return ns == s ? MAT_OK : st;
  c->d = s;
  if ((c->red = mat_zalloc(s)) == NULL) return MAT_ENOMEM;
  if (s == 2) {  /* chi = x^2 - p x - q, p = trace, q = -det */
    mpz_add(c->red[1], c->A[0], c->A[3]);
    mpz_mul(c->red[0], c->A[1], c->A[2]);
    mpz_submul(c->red[0], c->A[0], c->A[3]);
    mat_note(abits, c->red[0]);
    mat_note(abits, c->red[1]);
    if (mpz_cmpabs_ui(c->red[0], 1) == 0 && mpz_sgn(c->red[1]) != 0) {
      c->path = MAT_PATH_LUCAS;
      return MAT_OK;
    }
  }
  else {
    mpz_t *P = mat_zalloc(s + 1);
    if (P == NULL) return MAT_ENOMEM;
    st = mat_charpoly(s, c->A, P, abits);
    for (i = 0; i < s; i++) mpz_neg(c->red[i], P[s - i]);
    mat_zfree(P, s + 1);
    if (st != MAT_OK) return st;
  }
  c->path = MAT_PATH_CHARPOLY;
  return MAT_OK;
}

/* *out := the plan of the k x k matrix B (copied). */
static int analyze (Plan **out, int k, mpz_t *B) {
  Plan *P = calloc(1, sizeof *P);
  int *up = malloc((size_t)k * 3 * sizeof(int)), *pos, *fill;
  int i, j, st = MAT_ENOMEM;
  *out = P;
  if (P == NULL || up == NULL) goto done;
  pos = up + k;
  fill = pos + k;
  P->k = k;
  for (i = 0; i < k; i++) up[i] = i;
  for (i = 0; i < k; i++)
    for (j = 0; j < k; j++) {
      mat_note(&P->abits, B[i*k + j]);
      if (i != j && mpz_sgn(B[i*k + j]) != 0) up[find(up, i)] = find(up, j);
    }
  for (i = 0; i < k; i++)
    if (find(up, i) == i) pos[i] = P->nc++;
  if ((P->c = calloc((size_t)P->nc, sizeof *P->c)) == NULL) goto done;
  for (i = 0; i < k; i++) P->c[pos[find(up, i)]].s++;
  for (i = 0; i < P->nc; i++) {
    Comp *c = &P->c[i];
    c->ix = malloc((size_t)c->s * sizeof(int));
    c->A = mat_zalloc(c->s * c->s);
    if (c->ix == NULL || c->A == NULL) goto done;
    fill[i] = 0;
  }
  for (i = 0; i < k; i++) {
    int ci = pos[find(up, i)];
    P->c[ci].ix[fill[ci]++] = i;
  }
  for (i = 0; i < P->nc; i++) {
    Comp *c = &P->c[i];
    int a, b;
    for (a = 0; a < c->s; a++)
      for (b = 0; b < c->s; b++)
        mpz_set(c->A[a*c->s + b], B[c->ix[a]*k + c->ix[b]]);
    if ((st = classify(c, &P->abits)) != MAT_OK) goto done;
  }
  st = MAT_OK;
done:
  free(up);
  if (st != MAT_OK) { plan_free(P); *out = NULL; }
  return st;
}

/* }====================================================== */


/* {======================================================
** Paths
** ======================================================= */

typedef struct Ctx {
  mpz_srcptr n;
  uint64_t maxbits;
  uint64_t *track;	/* &maxbits when someone reads it (mat_Info), else NULL */
} Ctx;

#define NOTE(C,z)	mat_note((C)->track, (z))

/* y := A x (s x s), y and x distinct. */
static void matvec (Ctx *C, int s, mpz_t *A, mpz_t *y, mpz_t *x) {
  int i, j;
  for (i = 0; i < s; i++) {
    mpz_set_ui(y[i], 0);
    for (j = 0; j < s; j++)
      if (mpz_sgn(A[i*s + j]) != 0) mpz_addmul(y[i], A[i*s + j], x[j]);
    NOTE(C, y[i]);
  }
}

static int do_power (Ctx *C, Comp *c, mpz_t *w) {
  mpz_srcptr a = c->A[0];
  if (mpz_sgn(a) == 0) mpz_set_ui(w[0], 0);
  else if (mpz_cmp_ui(a, 1) == 0) ;
  else if (mpz_cmp_si(a, -1) == 0) {
    if (mpz_odd_p(C->n)) mpz_neg(w[0], w[0]);
  }
  else {
    mpz_t t;
    if (!mpz_fits_ulong_p(C->n)) return MAT_EHUGE;
    mpz_init(t);
    mpz_pow_ui(t, a, mpz_get_ui(C->n));
    NOTE(C, t);
    mpz_mul(w[0], w[0], t);
    NOTE(C, w[0]);
    mpz_clear(t);
  }
  return MAT_OK;
}

/*
** w := sum_j C(n,j) N^j w for the unipotent s x s matrix I + N given as the
** positions ix (count s) of the component matrix A (size sa); stores N^j w
** in u[j*s ...] when u is not NULL (u has s*s entries) and the number of
** nonzero terms in *J.
*/
static int binomial_sum (Ctx *C, int sa, mpz_t *A, const int *ix, int s,
                         mpz_t *w, mpz_t *u, int *J) {
  mpz_t *cur = mat_zalloc(s), *nxt = mat_zalloc(s), *acc = mat_zalloc(s);
  mpz_t bin, f;
  int i, j, l, st = MAT_ENOMEM;
  mpz_init(bin);
  mpz_init(f);
  if (cur == NULL || nxt == NULL || acc == NULL) goto done;
  for (i = 0; i < s; i++) { mpz_set(cur[i], w[i]); mpz_set(acc[i], w[i]); }
  if (u != NULL) for (i = 0; i < s; i++) mpz_set(u[i], w[i]);
  *J = 0;
  mpz_set_ui(bin, 1);
  for (j = 1; j < s; j++) {
    int nz = 0;
    for (i = 0; i < s; i++) {  /* nxt = N cur */
      mpz_set_ui(nxt[i], 0);
      for (l = 0; l < s; l++)
        if (l != i && mpz_sgn(A[ix[i]*sa + ix[l]]) != 0)
          mpz_addmul(nxt[i], A[ix[i]*sa + ix[l]], cur[l]);
      NOTE(C, nxt[i]);
      nz |= mpz_sgn(nxt[i]) != 0;
    }
    if (!nz) break;
    *J = j;
    mpz_sub_ui(f, C->n, (unsigned long)(j - 1));  /* C(n,j) = C(n,j-1) (n-j+1)/j */
    mpz_mul(bin, bin, f);
    NOTE(C, bin);
    mpz_divexact_ui(bin, bin, (unsigned long)j);
    for (i = 0; i < s; i++) {
      mpz_swap(cur[i], nxt[i]);
      if (u != NULL) mpz_set(u[j*s + i], cur[i]);
      mpz_addmul(acc[i], bin, cur[i]);
      NOTE(C, acc[i]);
    }
  }
  for (i = 0; i < s; i++) mpz_swap(w[i], acc[i]);
  st = MAT_OK;
done:
  mat_zfree(cur, s); mat_zfree(nxt, s); mat_zfree(acc, s);
  mpz_clear(bin); mpz_clear(f);
  return st;
}

static int do_unipot (Ctx *C, Comp *c, mpz_t *w) {
  int *ix = malloc((size_t)c->s * sizeof(int)), i, J, st;
  if (ix == NULL) return MAT_ENOMEM;
  for (i = 0; i < c->s; i++) ix[i] = i;
  st = binomial_sum(C, c->s, c->A, ix, c->s, w, NULL, &J);
  free(ix);
  return st;
}

/*
** chi = x^2 - p x - q, q = +-1, x^m = U_m x + q U_(m-1) (Lucas sequence U:
** U_0 = 0, U_1 = 1, U_(m+1) = p U_m + q U_(m-1)), so
**   B^n w = U_n (A w) + q U_(n-1) w.
** Doubling from the pair (U_m, U_(m-1)) with s = U_m^2, t = U_(m-1)^2 and
** sigma = (-q)^m (Cassini: U_m^2 - U_(m+1) U_(m-1) = (-q)^(m-1)):
**   U_(2m-1) = s + q t
**   U_(2m+1) = (p^2 + 3q) s - t + 2 sigma
**   U_(2m)   = (U_(2m+1) - q U_(2m-1)) / p
** two squarings per bit of n, as mpz_fib2_ui.  When every output needed is
** a multiple of one term U_j, j in n-1 .. n+1, the pair stops at
** m = floor(n/2) and that term is one product (V_m = p U_m + 2q U_(m-1)):
**   U_(2m-1) = U_m V_(m-1) - (-q)^(m-1),  V_(m-1) = 2 U_m - p U_(m-1)
**   U_(2m)   = U_m V_m
**   U_(2m+1) = U_(m+1) V_m - (-q)^m,      U_(m+1) = p U_m + q U_(m-1)
**   U_(2m+2) = U_(m+1) V_(m+1),           V_(m+1) = p U_(m+1) + 2q U_m
** as mpz_fib_ui does for F(n) (GMP manual, "Fibonacci Numbers Algorithm").
** The work space is four numbers, rotated by swaps.
*/

/* z := z / p (exact). */
static void lucas_divp (mpz_ptr z, mpz_srcptr p) {
  if (mpz_cmp_ui(p, 1) == 0) return;
  if (mpz_cmp_si(p, -1) == 0) mpz_neg(z, z);
  else mpz_divexact(z, z, p);
}

/* z := x c and z := z + x c (z may be x), by an addition, a copy or a
   one-limb product when c is +-1 or small (p of a Lucas step, 1 for
   Fibonacci). */
static void mul_small (mpz_ptr z, mpz_srcptr x, mpz_srcptr c) {
  if (mpz_cmp_ui(c, 1) == 0) {
    if (z != x) mpz_set(z, x);  /* mpz_set copies even onto itself */
  }
  else if (mpz_cmp_si(c, -1) == 0) mpz_neg(z, x);
  else if (mpz_fits_slong_p(c)) mpz_mul_si(z, x, mpz_get_si(c));
  else mpz_mul(z, x, c);
}

static void addmul_small (mpz_ptr z, mpz_srcptr x, mpz_srcptr c) {
  if (mpz_cmp_ui(c, 1) == 0) mpz_add(z, z, x);
  else if (mpz_cmp_si(c, -1) == 0) mpz_sub(z, z, x);
  else if (mpz_fits_ulong_p(c)) mpz_addmul_ui(z, x, mpz_get_ui(c));
  else mpz_addmul(z, x, c);
}

/* Frees the limbs of a dead number before a large allocation. */
static void shrink (mpz_ptr z) {
  mpz_set_ui(z, 0);
  mpz_realloc2(z, 1);
}

typedef struct Lucas {
  mpz_srcptr p;		/* chi = x^2 - p x - q */
  int q;
  mpz_t c3;		/* p^2 + 3q */
  long c3shift;		/* c3 = 2^c3shift, or -1 */
  mpz_t U, V, sa, sb;	/* (U_m, U_(m-1)) and two scratch numbers */
} Lucas;

/*
** (U, V) = (U_m, U_(m-1)) -> (U_(2m+bit), U_(2m+bit-1)); sigma = (-q)^m.
** Besides the two squarings: U_(2m-1) = s + q t into U (dead once
** squared), then c3 s - t = U_(2m+1) - 2 sigma (s scaled in place, a shift
** when c3 is a power of two as for Fibonacci, then one subtraction), then
** U_(2m) from the two.  GMP's mpn_fib2_ui fuses the scaling into the
** subtraction (mpn_rsblsh2_n, not public).  Every number created is at
** most |c3| s, which the size bound (comp_bound_path) counts.
*/
static void lucas_step (Ctx *C, Lucas *L, int sigma, int bit) {
  int q = L->q;
  mpz_mul(L->sa, L->U, L->U);
  mpz_mul(L->sb, L->V, L->V);
  NOTE(C, L->sa); NOTE(C, L->sb);
  if (q > 0) mpz_add(L->U, L->sa, L->sb); else mpz_sub(L->U, L->sa, L->sb);
  /* c3 s - t, s dead after: in place, not t - c3 s, whose sign GMP's
     submul would then flip by one more pass */
  if (L->c3shift >= 0) mpz_mul_2exp(L->sa, L->sa, (mp_bitcnt_t)L->c3shift);
  else mul_small(L->sa, L->sa, L->c3);
  mpz_sub(L->sb, L->sa, L->sb);
  if (sigma > 0) mpz_add_ui(L->sb, L->sb, 2); else mpz_sub_ui(L->sb, L->sb, 2);
  NOTE(C, L->U); NOTE(C, L->sb);
  /* U_(2m) = (U_(2m+1) - q U_(2m-1)) / p */
  if (bit) {  /* (U_(2m+1), U_(2m)) */
    if (q > 0) mpz_sub(L->sa, L->sb, L->U); else mpz_add(L->sa, L->sb, L->U);
    lucas_divp(L->sa, L->p);
    mpz_swap(L->U, L->sb);
    mpz_swap(L->V, L->sa);
  }
  else {  /* (U_(2m), U_(2m-1)) */
    if (q > 0) mpz_sub(L->sb, L->sb, L->U); else mpz_add(L->sb, L->sb, L->U);
    lucas_divp(L->sb, L->p);
    mpz_swap(L->V, L->U);
    mpz_swap(L->U, L->sb);
  }
}

/*
** Which single term the needed outputs are multiples of: returns e in
** {-1, 0, 1} (the term U_(n+e)) and sets g[i] := the multiplier of output i,
** or returns 2 when there is none.  Output i is U_n (A w)_i + q U_(n-1) w_i.
*/
static int lucas_target (Lucas *L, mpz_t *w, mpz_t *Aw, const unsigned char *need,
                         mpz_t *g) {
  int i, e;
  for (e = 0; e <= 2; e++) {  /* U_n, U_(n+1), U_(n-1) */
    int ok = 1;
    for (i = 0; i < 2 && ok; i++) {
      if (!need[i]) continue;
      if (e == 0) ok = mpz_sgn(w[i]) == 0;
      else if (e == 2) ok = mpz_sgn(Aw[i]) == 0;
      else {  /* U_(n+1) = p U_n + q U_(n-1): (A w)_i = p w_i */
        mpz_mul(g[i], L->p, w[i]);
        ok = mpz_cmp(g[i], Aw[i]) == 0;
      }
    }
    if (!ok) continue;
    for (i = 0; i < 2; i++) {
      if (e == 0) mpz_set(g[i], Aw[i]);
      else if (e == 1) mpz_set(g[i], w[i]);
      else if (L->q > 0) mpz_set(g[i], w[i]);
      else mpz_neg(g[i], w[i]);
    }
    return e == 2 ? -1 : e;
  }
  return 2;
}

/* U_(2m+r) for r in -1..2 from (U, V) = (U_m, U_(m-1)), m odd or not,
** as one product; the result in L->sa, the rest of the space freed. */
static void lucas_last (Ctx *C, Lucas *L, int r, int modd) {
  int q = L->q;
  int sm = (q > 0 && modd) ? -1 : 1;  /* (-q)^m */
  mpz_ptr U = L->U, V = L->V, sb = L->sb;
  shrink(L->sa);
  switch (r) {
    case -1:  /* U_m (2 U_m - p U_(m-1)) - (-q)^(m-1) */
      mul_small(V, V, L->p);
      mpz_neg(V, V);
      mpz_addmul_ui(V, U, 2);
      shrink(sb);
      NOTE(C, V);
      mpz_mul(L->sa, U, V);
      if (-sm * q > 0) mpz_sub_ui(L->sa, L->sa, 1); else mpz_add_ui(L->sa, L->sa, 1);
      break;
    case 0:  /* U_m (p U_m + 2q U_(m-1)) */
      mpz_mul_2exp(V, V, 1);
      if (q < 0) mpz_neg(V, V);
      addmul_small(V, U, L->p);
      shrink(sb);
      NOTE(C, V);
      mpz_mul(L->sa, U, V);
      break;
    case 1:  /* U_(m+1) (U_(m+1) + q U_(m-1)) - (-q)^m */
      mul_small(sb, U, L->p);
      if (q > 0) mpz_add(sb, sb, V); else mpz_sub(sb, sb, V);
      if (q > 0) mpz_add(V, sb, V); else mpz_sub(V, sb, V);
      shrink(U);
      NOTE(C, sb); NOTE(C, V);
      mpz_mul(L->sa, sb, V);
      if (sm > 0) mpz_sub_ui(L->sa, L->sa, 1); else mpz_add_ui(L->sa, L->sa, 1);
      break;
    default:  /* U_(m+1) (p U_(m+1) + 2q U_m) */
      mul_small(sb, U, L->p);
      if (q > 0) mpz_add(sb, sb, V); else mpz_sub(sb, sb, V);
      mpz_mul_2exp(U, U, 1);
      if (q < 0) mpz_neg(U, U);
      addmul_small(U, sb, L->p);
      shrink(V);
      NOTE(C, sb); NOTE(C, U);
      mpz_mul(L->sa, sb, U);
      break;
  }
  NOTE(C, L->sa);
  shrink(U); shrink(V); shrink(sb);
}

/*
** The first doubling steps in machine integers, the arithmetic of
** lucas_step, from m = 1 while |U_m| and |U_(m-1)| stay below 2^22 and
** |p| <= 15 (then every value is below 2^53: squares below 2^44, c3 s
** below 2^52), where the mpz calls would cost more than the arithmetic
** (mpn_fib2_ui starts from a table instead).  Takes the bits of n below
** index *b while *b > stop, sets (U, V) and returns the parity of m.
*/
#define LUCAS_NATIVE_MAX	((int64_t)1 << 22)

static int lucas_native (Lucas *L, mpz_srcptr n, size_t *b, size_t stop) {
  int64_t u = 1, v = 0, p, c3, q = L->q;
  int odd = 1;
  if (mpz_cmpabs_ui(L->p, 15) <= 0) {
    p = mpz_get_si(L->p);
    c3 = p * p + 3 * q;
    while (*b > stop && u < LUCAS_NATIVE_MAX && u > -LUCAS_NATIVE_MAX
           && v < LUCAS_NATIVE_MAX && v > -LUCAS_NATIVE_MAX) {
      int bit = mpz_tstbit(n, --*b);
      int64_t s = u * u, t = v * v;
      int64_t um1 = s + q * t;                                /* U_(2m-1) */
      int64_t up1 = c3 * s - t + ((q > 0 && odd) ? -2 : 2);  /* U_(2m+1) */
      int64_t u2m = (up1 - q * um1) / p;                     /* U_(2m) */
      if (bit) { u = up1; v = u2m; } else { u = u2m; v = um1; }
      odd = bit;
    }
  }
  mpz_set_d(L->U, (double)u);  /* exact: below 2^53 */
  mpz_set_d(L->V, (double)v);
  return odd;
}

/*
** p = +-1, q = 1: U_j = (+-1)^(j+1) F_j, and GMP computes Fibonacci numbers
** itself: mpz_fib_ui (F_j alone, the term the outputs are multiples of)
** and mpz_fib2_ui (F_n and F_(n-1)) run the doubling above, with the
** scaling fused into the subtraction by a routine GMP does not export
** (GMP manual, "Fibonacci Numbers Algorithm").  Returns 0 when they do
** not apply (another chi, or n not below ULONG_MAX); else sets L->sa to
** U_(n+e) (e in -1..1) or (L->U, L->V) to (U_n, U_(n-1)) (e = 2).
*/
static int lucas_fib (Ctx *C, Lucas *L, int e) {
  unsigned long n, j;
  int neg = mpz_sgn(L->p) < 0;
  if (L->q != 1 || mpz_cmpabs_ui(L->p, 1) != 0 || mpz_cmp_ui(C->n, ULONG_MAX) >= 0)
    return 0;
  n = mpz_get_ui(C->n);  /* >= 4 */
  if (e != 2) {
    j = e < 0 ? n - 1 : n + (unsigned long)e;
    mpz_fib_ui(L->sa, j);
    if (neg && j % 2 == 0) mpz_neg(L->sa, L->sa);
    NOTE(C, L->sa);
  }
  else {
    mpz_ptr even = n % 2 == 0 ? L->U : L->V;  /* U_n or U_(n-1) */
    mpz_fib2_ui(L->U, L->V, n);
    if (neg) mpz_neg(even, even);
    NOTE(C, L->U); NOTE(C, L->V);
  }
  return 1;
}

static int do_lucas (Ctx *C, Comp *c, mpz_t *w, const unsigned char *need) {
  Lucas L;
  mpz_t Aw[2], g[2];
  int i, e, odd = 1, last = -1;
  size_t b = mpz_sizeinbase(C->n, 2);
  if (mpz_cmp_ui(C->n, 4) < 0) {  /* the doubling starts at m = 2 */
    unsigned long j, n = mpz_get_ui(C->n);
    mpz_init(Aw[0]); mpz_init(Aw[1]);
    for (j = 0; j < n; j++) {
      matvec(C, 2, c->A, Aw, w);
      mpz_swap(w[0], Aw[0]); mpz_swap(w[1], Aw[1]);
    }
    mpz_clear(Aw[0]); mpz_clear(Aw[1]);
    return MAT_OK;
  }
  L.p = c->red[1];
  L.q = mpz_sgn(c->red[0]);
  mpz_inits(L.c3, L.U, L.V, L.sa, L.sb, Aw[0], Aw[1], g[0], g[1], NULL);
  mpz_mul(L.c3, L.p, L.p);
  if (L.q > 0) mpz_add_ui(L.c3, L.c3, 3); else mpz_sub_ui(L.c3, L.c3, 3);
  L.c3shift = mpz_sgn(L.c3) > 0 && mpz_popcount(L.c3) == 1
            ? (long)mpz_scan1(L.c3, 0) : -1;
  matvec(C, 2, c->A, Aw, w);
  e = lucas_target(&L, w, Aw, need, g);
  if (lucas_fib(C, &L, e)) goto outputs;
  if (e != 2) {  /* the four numbers at their final size at once, not by
                   reallocations (the final product outweighs them; with
                   both outputs wanted they would raise the peak):
                   |U_m| <= rho^m, rho = (|p| + sqrt(p^2 + 4)) / 2 */
    double lp = fabs(mpz_get_d(L.p)), m = mpz_get_d(C->n) / 2;
    double bits = (m + 2) * log2((lp + sqrt(lp * lp + 4)) / 2) + 64;
    if (bits < 1e9) {
      mpz_realloc2(L.U, (mp_bitcnt_t)bits); mpz_realloc2(L.V, (mp_bitcnt_t)bits);
      mpz_realloc2(L.sa, (mp_bitcnt_t)bits); mpz_realloc2(L.sb, (mp_bitcnt_t)bits);
    }
  }
  b--;  /* m = 1: (U_1, U_0), the top bit */
  odd = lucas_native(&L, C->n, &b, e == 2 ? 0u : 1u);
  NOTE(C, L.U); NOTE(C, L.V);
  for (; b-- > (e == 2 ? 0u : 1u); ) {
    int bit = mpz_tstbit(C->n, b);
    lucas_step(C, &L, (L.q > 0 && odd) ? -1 : 1, bit);
    odd = bit;
  }
  if (e != 2) {
    mpz_clears(Aw[0], Aw[1], NULL);  /* small, but freed before the product */
    mpz_inits(Aw[0], Aw[1], NULL);
    lucas_last(C, &L, (int)mpz_tstbit(C->n, 0) + e, odd);
  }
outputs:
  for (i = 0; i < 2; i++) if (need[i]) last = i;
  if (e != 2) {
    for (i = 0; i < 2; i++) {
      if (!need[i]) mpz_set_ui(w[i], 0);
      else if (i == last) {
        mul_small(L.sa, L.sa, g[i]);
        mpz_swap(w[i], L.sa);
      }
      else mpz_mul(w[i], L.sa, g[i]);
      NOTE(C, w[i]);
    }
  }
  else
    for (i = 0; i < 2; i++) {  /* w := U A w + q V w */
      if (!need[i]) { mpz_set_ui(w[i], 0); continue; }
      mpz_mul(L.sa, L.V, w[i]);
      mpz_mul(w[i], L.U, Aw[i]);
      if (L.q > 0) mpz_add(w[i], w[i], L.sa); else mpz_sub(w[i], w[i], L.sa);
      NOTE(C, w[i]);
    }
  mpz_clears(L.c3, L.U, L.V, L.sa, L.sb, Aw[0], Aw[1], g[0], g[1], NULL);
  return MAT_OK;
}


/* Workspace of the polynomial powering. */
typedef struct Poly {
  int d;
  mpz_t *r;		/* d: the current x^m mod chi */
  mpz_t *e;		/* 2d-1: the square before reduction */
  mpz_t P, Pn, Q, t;
  mpz_t *sq;		/* d: squares of the coefficients (small d) */
  mp_limb_t *buf;	/* shifted limbs of one coefficient */
  size_t nbuf;
  mat_Toom toom;	/* set up at the first large squaring (toom.d != 0) */
  int notoom;		/* its setup failed: never again */
} Poly;

/*
** P := sum r[i] 2^(w i) (Kronecker substitution), the positive and the
** negative coefficients or-ed into two numbers whose difference it is
** (the w-bit fields do not overlap: |r[i]| < 2^w).
*/
static int kpack (Poly *K, size_t w) {
  int i, d = K->d;
  size_t nl = ((size_t)d * w + GMP_NUMB_BITS - 1) / GMP_NUMB_BITS + 1, j;
  mp_limb_t *pp = mpz_limbs_write(K->P, (mp_size_t)nl);
  mp_limb_t *pn = mpz_limbs_write(K->Pn, (mp_size_t)nl);
  mpn_zero(pp, (mp_size_t)nl);
  mpn_zero(pn, (mp_size_t)nl);
  for (i = 0; i < d; i++) {
    size_t sz = mpz_size(K->r[i]), bit = w * (size_t)i;
    size_t off = bit / GMP_NUMB_BITS;
    unsigned sh = (unsigned)(bit % GMP_NUMB_BITS);
    const mp_limb_t *src = mpz_limbs_read(K->r[i]);
    mp_limb_t *dst = mpz_sgn(K->r[i]) > 0 ? pp : pn;
    if (sz == 0) continue;
    if (sh == 0)
      for (j = 0; j < sz; j++) dst[off + j] |= src[j];
    else {
      if (sz > K->nbuf) {
        mp_limb_t *nb = realloc(K->buf, sz * sizeof *nb);
        if (nb == NULL) return MAT_ENOMEM;
        K->buf = nb; K->nbuf = sz;
      }
      dst[off + sz] |= mpn_lshift(K->buf, src, (mp_size_t)sz, sh);
      for (j = 0; j < sz; j++) dst[off + j] |= K->buf[j];
    }
  }
  mpz_limbs_finish(K->P, (mp_size_t)nl);
  mpz_limbs_finish(K->Pn, (mp_size_t)nl);
  mpz_sub(K->P, K->P, K->Pn);
  return MAT_OK;
}

/* z := bits pos .. pos+w-1 of the limbs qp[0 .. nq-1]. */
static void kfield (mpz_ptr z, const mp_limb_t *qp, size_t nq, size_t pos,
                    size_t w) {
  size_t off = pos / GMP_NUMB_BITS, wl = (w + GMP_NUMB_BITS - 1) / GMP_NUMB_BITS;
  unsigned sh = (unsigned)(pos % GMP_NUMB_BITS);
  size_t nl = (w + sh + GMP_NUMB_BITS - 1) / GMP_NUMB_BITS;
  mp_limb_t *zp;
  if (off >= nq) { mpz_set_ui(z, 0); return; }
  if (nl > nq - off) nl = nq - off;
  zp = mpz_limbs_write(z, (mp_size_t)nl);
  if (sh) mpn_rshift(zp, qp + off, (mp_size_t)nl, sh);
  else mpn_copyi(zp, qp + off, (mp_size_t)nl);
  if (nl >= wl) {
    nl = wl;
    if (w % GMP_NUMB_BITS)
      zp[wl - 1] &= ((mp_limb_t)1 << (w % GMP_NUMB_BITS)) - 1;
  }
  mpz_limbs_finish(z, (mp_size_t)nl);
}

/*
** e := r^2 for d = 3 by evaluation at 0, 1, -1, -2, infinity and
** interpolation (Toom-3 for a square): five squarings instead of six.
*/
static void sqr_toom3 (Ctx *C, Poly *K) {
  mpz_t *a = K->r, *e = K->e;
  mpz_add(K->t, a[0], a[2]);
  mpz_add(e[1], K->t, a[1]);            /* A(1) */
  mpz_sub(e[2], K->t, a[1]);            /* A(-1) */
  mpz_mul_2exp(e[3], a[2], 2);
  mpz_submul_ui(e[3], a[1], 2);
  mpz_add(e[3], e[3], a[0]);            /* A(-2) */
  mpz_mul(K->P, e[1], e[1]);
  mpz_mul(K->Pn, e[2], e[2]);
  mpz_mul(K->Q, e[3], e[3]);
  mpz_mul(e[0], a[0], a[0]);
  mpz_mul(e[4], a[2], a[2]);
  NOTE(C, K->P); NOTE(C, K->Pn); NOTE(C, K->Q);
  mpz_add(K->t, K->P, K->Pn);
  mpz_tdiv_q_2exp(K->t, K->t, 1);       /* e0 + e2 + e4 (exact) */
  mpz_sub(e[2], K->t, e[0]);
  mpz_sub(e[2], e[2], e[4]);
  mpz_sub(K->P, K->P, K->Pn);
  mpz_divexact_ui(K->P, K->P, 2);       /* d1 = e1 + e3 */
  mpz_sub(K->Q, K->Q, e[0]);
  mpz_submul_ui(K->Q, e[2], 4);
  mpz_submul_ui(K->Q, e[4], 16);
  NOTE(C, K->Q);
  mpz_divexact_ui(K->Q, K->Q, 2);
  mpz_neg(K->Q, K->Q);                  /* g = e1 + 4 e3 */
  mpz_sub(e[3], K->Q, K->P);
  mpz_divexact_ui(e[3], e[3], 3);
  mpz_sub(e[1], K->P, e[3]);
}

/*
** e := r^2 with d squarings of coefficients and d(d-1)/2 of pairwise sums:
** 2 a_i a_j = (a_i + a_j)^2 - a_i^2 - a_j^2 (a square costs about 0.6 of a
** product at these sizes).
*/
static void sqr_squares (Ctx *C, Poly *K) {
  int d = K->d, i, j;
  mpz_t *a = K->r, *e = K->e;
  for (i = 0; i < 2*d - 1; i++) mpz_set_ui(e[i], 0);
  for (i = 0; i < d; i++) {
    mpz_mul(K->sq[i], a[i], a[i]);
    mpz_add(e[2*i], e[2*i], K->sq[i]);
  }
  for (i = 0; i < d; i++) {
    if (mpz_sgn(a[i]) == 0) continue;
    for (j = i + 1; j < d; j++) {
      if (mpz_sgn(a[j]) == 0) continue;
      mpz_add(K->t, a[i], a[j]);
      mpz_mul(K->P, K->t, K->t);
      NOTE(C, K->P);
      mpz_sub(K->P, K->P, K->sq[i]);
      mpz_sub(K->P, K->P, K->sq[j]);
      mpz_add(e[i + j], e[i + j], K->P);
    }
  }
  for (i = 0; i < 2*d - 1; i++) NOTE(C, e[i]);
}

/* Up to this size (d = degree + 1) squarings of coefficients are at least
** as fast as Kronecker substitution and need much less memory (measured:
** bench/matpow_bench.c, doc/performance.md). */
#define SQR_SMALL_D	7

/*
** Evaluation at 2d-1 points (mat_toom.c) against the squarings above and
** Kronecker substitution, one squaring of d coefficients of N bits, in
** units of one N-bit squaring (bench/matpow_bench.c, polysqr):
**   N = 10^4: d = 4: 9.6 against 9.1, d = 5: 13.4 / 13.6, d = 8: 26.8 / 32.5
**   N = 10^5: d = 4: 8.3 against 9.8,  d = 5: 11.0 / 15.2, d = 8: 20.7 / 36.1
** so from 6 coefficients on above TOOM_MIN_BITS, from 4 above
** TOOM_MID_BITS.  Its setup (about 0.5 ms at d = 8) is paid only when the
** squarings still to come are larger: the coefficients, doubling at each
** step, reach TOOM_SETUP_BITS.
*/
#define TOOM_MIN_BITS	4096
#define TOOM_MID_BITS	32768
#define TOOM_SETUP_BITS	131072

/* r := r^2 mod chi; 'left' squarings come after this one. */
static int poly_sqr (Ctx *C, Poly *K, mpz_t *red, size_t left) {
  int d = K->d, i, j, carry = 0, st;
  size_t b = 0, w, lgd = 0;
  const mp_limb_t *qp;
  size_t nq;
  for (i = 0; i < d; i++) {
    size_t bi = mpz_sgn(K->r[i]) ? mpz_sizeinbase(K->r[i], 2) : 0;
    if (bi > b) b = bi;
  }
  if (b == 0) return MAT_OK;
  if (d == 3) { sqr_toom3(C, K); goto reduce; }
  if (d >= 4 && d <= MAT_TOOM_MAXD && !K->notoom
      && b >= (d >= 6 ? TOOM_MIN_BITS : TOOM_MID_BITS)
      && (K->toom.d != 0 || left >= 40 || (b << left) >= TOOM_SETUP_BITS)) {
    if (K->toom.d == 0 && (st = mat_toom_init(&K->toom, d)) != MAT_OK) {
      if (st == MAT_ENOMEM) return st;
      K->notoom = 1;
    }
    if (!K->notoom) { mat_toom_sqr(&K->toom, K->r, K->e, C->track); goto reduce; }
  }
  if (d <= SQR_SMALL_D) { sqr_squares(C, K); goto reduce; }
  while (((size_t)1 << lgd) < (size_t)d) lgd++;
  w = 2*b + lgd + 2;  /* |coefficient of the square| < d 2^(2b) <= 2^(w-2) */
  if ((st = kpack(K, w)) != MAT_OK) return st;
  NOTE(C, K->P);
  mpz_mul(K->Q, K->P, K->P);
  NOTE(C, K->Q);
  qp = mpz_limbs_read(K->Q);
  nq = mpz_size(K->Q);
  for (j = 0; j < 2*d - 1; j++) {  /* balanced digits: the square is >= 0 */
    kfield(K->e[j], qp, nq, w * (size_t)j, w);
    if (carry) mpz_add_ui(K->e[j], K->e[j], 1);
    carry = mpz_sgn(K->e[j]) != 0 && mpz_sizeinbase(K->e[j], 2) >= w;
    if (carry) {
      mpz_set_ui(K->t, 0);
      mpz_setbit(K->t, w);
      mpz_sub(K->e[j], K->e[j], K->t);
    }
  }
reduce:
  for (j = 2*d - 2; j >= d; j--) {  /* x^j = x^(j-d) sum red[i] x^i */
    if (mpz_sgn(K->e[j]) == 0) continue;
    for (i = 0; i < d; i++)
      if (mpz_sgn(red[i]) != 0) {
        mpz_addmul(K->e[j - d + i], K->e[j], red[i]);
        NOTE(C, K->e[j - d + i]);
      }
  }
  for (i = 0; i < d; i++) mpz_swap(K->r[i], K->e[i]);
  return MAT_OK;
}

/* r := x r mod chi. */
static void poly_mulx (Ctx *C, Poly *K, mpz_t *red) {
  int d = K->d, i;
  mpz_swap(K->t, K->r[d - 1]);
  for (i = d - 1; i >= 1; i--) mpz_swap(K->r[i], K->r[i - 1]);
  mpz_set_ui(K->r[0], 0);
  if (mpz_sgn(K->t) != 0)
    for (i = 0; i < d; i++)
      if (mpz_sgn(red[i]) != 0) {
        mpz_addmul(K->r[i], K->t, red[i]);
        NOTE(C, K->r[i]);
      }
}

/* The quadratic form's small numbers stay below QF_MAXBITS bits, or the
** last step is an ordinary squaring (the size bound counts on it); and the
** form is used only when x^(n/2) mod chi has coefficients of QF_MINBITS
** bits or more, where it pays and where its terms in the size bound are
** small against the squares (below, the bound is what it was). */
#define QF_MAXBITS	1024
#define QF_MINBITS	32768

/*
** One output wanted: with r = x^m mod chi, n = 2m + bit, the output is
** L(x^bit r^2 mod chi) for the linear form L(x^i) = (A^i w)_j, i.e. the
** quadratic form r^T M r with M[a][b] = L(x^(a+b+bit) mod chi).  Its LDL^T
** decomposition, fraction-free (Bareiss, "Sylvester's identity and
** multistep integer-preserving Gaussian elimination", Math. Comp. 1968:
** every intermediate is a minor of M, so the divisions are exact):
**   p_0 = 1, pivot t on a nonzero diagonal entry, p_(t+1) = M_t[t][t],
**   l_t = column t of M_t, M_(t+1) = (p_(t+1) M_t - l_t l_t^T) / p_t,
**   r^T M r = sum_t (l_t . r)^2 / (p_t p_(t+1)).
** So the last step is rank(M) <= d squarings instead of the polynomial
** square's 2d-1.  Sets *out; returns 1 when done, 0 when the form needs a
** 2 x 2 pivot or its numbers grew past QF_MAXBITS (then the caller squares).
*/
static int qf_last (Ctx *C, Comp *c, Poly *K, const mpz_t *kry, int jout,
                    int bit, mpz_ptr out) {
  int d = c->d, s = c->s, a, b, i, t, T = 0, ok = 0;
  mpz_t *X = mat_zalloc(2*d * d), *M = mat_zalloc(d*d);
  mpz_t *l = mat_zalloc(d*d), *p = mat_zalloc(d + 1);
  unsigned char *used = calloc((size_t)d, 1);
  mpz_t z, S, P, q;
  mpz_inits(z, S, P, q, NULL);
  if (X == NULL || M == NULL || l == NULL || p == NULL || used == NULL) goto done;
  for (t = 0; t < 2*d; t++) {  /* X[t] = x^t mod chi */
    mpz_t *x = X + t*d;
    if (t < d) { mpz_set_ui(x[t], 1); continue; }
    for (i = d - 1; i >= 1; i--) mpz_set(x[i], (x - d)[i - 1]);
    mpz_set_ui(x[0], 0);
    for (i = 0; i < d; i++) mpz_addmul(x[i], (x - d)[d - 1], c->red[i]);
  }
  for (a = 0; a < d; a++)
    for (b = 0; b < d; b++) {
      const mpz_t *x = X + (a + b + bit)*d;
      for (i = 0; i < d; i++) mpz_addmul(M[a*d + b], x[i], kry[i*s + jout]);
      if (mpz_sizeinbase(M[a*d + b], 2) > QF_MAXBITS) goto done;
    }
  mpz_set_ui(p[0], 1);
  for (T = 0; T < d; T++) {
    int piv = -1;
    for (a = 0; a < d && piv < 0; a++)
      if (!used[a] && mpz_sgn(M[a*d + a]) != 0) piv = a;
    if (piv < 0) {  /* no diagonal pivot: done if the rest is 0 */
      for (a = 0; a < d; a++)
        for (b = 0; b < d; b++)
          if (!used[a] && !used[b] && mpz_sgn(M[a*d + b]) != 0) goto done;
      break;
    }
    used[piv] = 1;
    mpz_set(p[T + 1], M[piv*d + piv]);
    for (a = 0; a < d; a++) mpz_set(l[T*d + a], M[a*d + piv]);  /* 0 on used rows */
    for (a = 0; a < d; a++)
      for (b = 0; b < d; b++) {
        if (used[a] || used[b]) { mpz_set_ui(M[a*d + b], 0); continue; }
        mpz_mul(M[a*d + b], M[a*d + b], p[T + 1]);
        mpz_submul(M[a*d + b], l[T*d + a], l[T*d + b]);
        mpz_divexact(M[a*d + b], M[a*d + b], p[T]);
        if (mpz_sizeinbase(M[a*d + b], 2) > QF_MAXBITS) goto done;
      }
  }
  ok = 1;
  /* P = p_1 ... p_T; sum_t (l_t . r)^2 P / (p_t p_(t+1)), over P */
  mpz_set_ui(P, 1);
  for (t = 1; t <= T; t++) mpz_mul(P, P, p[t]);
  mpz_set_ui(S, 0);
  for (t = 0; t < T; t++) {
    mpz_set_ui(z, 0);
    for (a = 0; a < d; a++)
      if (mpz_sgn(l[t*d + a]) != 0) mpz_addmul(z, l[t*d + a], K->r[a]);
    NOTE(C, z);
    mpz_mul(z, z, z);
    NOTE(C, z);
    mpz_divexact(q, P, p[t]);
    mpz_divexact(q, q, p[t + 1]);
    mpz_addmul(S, z, q);
    NOTE(C, S);
  }
  if (T > 0) mpz_divexact(out, S, P); else mpz_set_ui(out, 0);
  NOTE(C, out);
done:
  mat_zfree(X, 2*d * d); mat_zfree(M, d*d); mat_zfree(l, d*d);
  mat_zfree(p, d + 1);
  free(used);
  mpz_clears(z, S, P, q, NULL);
  return ok;
}

static int do_charpoly (Ctx *C, Comp *c, mpz_t *w, const unsigned char *need) {
  Poly K;
  int d = c->d, i, j, st = MAT_ENOMEM, nneed = 0, jout = -1, last = 0;
  size_t b;
  mpz_t *kry = NULL;
  for (j = 0; j < c->s; j++) if (need[j]) { nneed++; jout = j; }
  memset(&K, 0, sizeof K);
  K.d = d;
  K.r = mat_zalloc(d);
  K.e = mat_zalloc(2*d - 1);
  K.sq = mat_zalloc(d);
  mpz_inits(K.P, K.Pn, K.Q, K.t, NULL);
  if (K.r == NULL || K.e == NULL || K.sq == NULL) goto done;
  if (d >= 2) mpz_set_ui(K.r[1], 1); else mpz_set(K.r[0], c->red[0]);
  b = mpz_sizeinbase(C->n, 2) - 1;
  if (nneed == 1 && d >= 2 && b >= 1) last = 1;  /* leave the last squaring */
  for (; b-- > (size_t)last; ) {
    if ((st = poly_sqr(C, &K, c->red, b)) != MAT_OK) goto done;
    if (mpz_tstbit(C->n, b)) poly_mulx(C, &K, c->red);
  }
  if (K.toom.d != 0) mat_toom_clear(&K.toom);  /* its numbers too */
  mpz_clears(K.P, K.Pn, K.Q, NULL);  /* the squares' space, before the sum */
  mpz_inits(K.P, K.Pn, K.Q, NULL);
  mat_zfree(K.e, 2*d - 1);
  mat_zfree(K.sq, d);
  K.e = K.sq = NULL;
  /* the Krylov vectors A^i w (small) */
  st = MAT_ENOMEM;
  if ((kry = mat_zalloc(d * c->s)) == NULL) goto done;
  for (j = 0; j < c->s; j++) mpz_set(kry[j], w[j]);
  for (i = 1; i < d; i++) matvec(C, c->s, c->A, kry + i*c->s, kry + (i-1)*c->s);
  if (last) {
    int bit = mpz_tstbit(C->n, 0);
    size_t rb = 0;
    for (i = 0; i < d; i++)
      if (mpz_sgn(K.r[i]) != 0 && mpz_sizeinbase(K.r[i], 2) > rb)
        rb = mpz_sizeinbase(K.r[i], 2);
    if (rb >= QF_MINBITS && qf_last(C, c, &K, kry, jout, bit, w[jout])) {
      for (j = 0; j < c->s; j++) if (j != jout) mpz_set_ui(w[j], 0);
      st = MAT_OK;
      goto done;
    }
    /* small, or the form's numbers too large: the last squaring after all */
    st = MAT_ENOMEM;
    K.e = mat_zalloc(2*d - 1);
    K.sq = mat_zalloc(d);
    if (K.e == NULL || K.sq == NULL) goto done;
    if ((st = poly_sqr(C, &K, c->red, 0)) != MAT_OK) goto done;
    if (bit) poly_mulx(C, &K, c->red);
  }
  /* w := sum r[i] A^i w */
  for (j = 0; j < c->s; j++) {
    mpz_set_ui(w[j], 0);
    if (!need[j]) continue;
    for (i = 0; i < d; i++)
      if (mpz_sgn(kry[i*c->s + j]) != 0) mpz_addmul(w[j], K.r[i], kry[i*c->s + j]);
    NOTE(C, w[j]);
  }
  st = MAT_OK;
done:
  mat_zfree(kry, d * c->s);
  mat_zfree(K.r, d);
  mat_zfree(K.e, 2*d - 1);
  mat_zfree(K.sq, d);
  mpz_clears(K.P, K.Pn, K.Q, K.t, NULL);
  free(K.buf);
  if (K.toom.d != 0) mat_toom_clear(&K.toom);
  return st;
}

static int plan_apply (Ctx *C, Plan *P, mpz_t *v, const unsigned char *need);

/*
** x_S (unipotent sources) are polynomials in t: x_S(t) = sum_j C(t,j) s_j.
** x_T(t+1) = A_T x_T(t) + G x_S(t) has the particular solution
** sum_j C(t,j) p_j with (I - A_T) p_j = G s_j - p_(j+1); with D = det(I - A_T),
** Pt_j = D^(J+1-j) p_j = adj (D^(J-j) G s_j - Pt_(j+1)) are integers and
**   D^(J+1) x_T(n) = A_T^n (D^(J+1) x_T(0) - Pt_0) + sum_j C(n,j) D^j Pt_j.
*/
static int do_sources (Ctx *C, Comp *c, mpz_t *w, const unsigned char *need) {
  int s = c->s, ns = c->ns, nt = c->nt, i, j, l, J, st = MAT_ENOMEM;
  unsigned char *needT = malloc((size_t)nt);
  mpz_t *xs = mat_zalloc(ns), *u = mat_zalloc(ns * ns);
  mpz_t *Pt = mat_zalloc((ns + 1) * nt), *g = mat_zalloc(nt), *y = mat_zalloc(nt);
  mpz_t Dp, E, bin, f;
  mpz_inits(Dp, E, bin, f, NULL);
  if (xs == NULL || u == NULL || Pt == NULL || g == NULL || y == NULL
      || needT == NULL) goto done;
  for (i = 0; i < nt; i++) needT[i] = need[c->T[i]];
  for (i = 0; i < ns; i++) mpz_set(xs[i], w[c->S[i]]);
  if ((st = binomial_sum(C, s, c->A, c->S, ns, xs, u, &J)) != MAT_OK) goto done;
  /* Pt_j for j = J .. 0; Pt_(J+1) = 0; Dp = D^(J-j) */
  mpz_set_ui(Dp, 1);
  for (j = J; j >= 0; j--) {
    for (i = 0; i < nt; i++) {  /* g = D^(J-j) G s_j - Pt_(j+1) */
      mpz_set_ui(g[i], 0);
      for (l = 0; l < ns; l++)
        if (mpz_sgn(c->A[c->T[i]*s + c->S[l]]) != 0)
          mpz_addmul(g[i], c->A[c->T[i]*s + c->S[l]], u[j*ns + l]);
      mpz_mul(g[i], g[i], Dp);
      mpz_sub(g[i], g[i], Pt[(j+1)*nt + i]);
      NOTE(C, g[i]);
    }
    matvec(C, nt, c->adj, Pt + j*nt, g);
    mpz_mul(Dp, Dp, c->D);
    NOTE(C, Dp);
  }
  mpz_swap(E, Dp);  /* D^(J+1) */
  for (i = 0; i < nt; i++) {
    mpz_mul(y[i], E, w[c->T[i]]);
    mpz_sub(y[i], y[i], Pt[i]);
    NOTE(C, y[i]);
  }
  if ((st = plan_apply(C, c->inner, y, needT)) != MAT_OK) goto done;
  mpz_set_ui(bin, 1);
  mpz_set_ui(Dp, 1);
  for (j = 0; j <= J; j++) {  /* y += C(n,j) D^j Pt_j */
    if (j > 0) {
      mpz_sub_ui(f, C->n, (unsigned long)(j - 1));
      mpz_mul(bin, bin, f);
      NOTE(C, bin);
      mpz_divexact_ui(bin, bin, (unsigned long)j);
      mpz_mul(Dp, Dp, c->D);
    }
    mpz_mul(f, bin, Dp);
    NOTE(C, f);
    for (i = 0; i < nt; i++) {
      mpz_addmul(y[i], f, Pt[j*nt + i]);
      NOTE(C, y[i]);
    }
  }
  for (i = 0; i < nt; i++) {  /* the others are not exact multiples now */
    if (needT[i]) mpz_divexact(w[c->T[i]], y[i], E);
    else mpz_set_ui(w[c->T[i]], 0);
  }
  for (i = 0; i < ns; i++) mpz_swap(w[c->S[i]], xs[i]);
  st = MAT_OK;
done:
  mat_zfree(xs, ns); mat_zfree(u, ns * ns); mat_zfree(Pt, (ns + 1) * nt);
  mat_zfree(g, nt); mat_zfree(y, nt);
  free(needT);
  mpz_clears(Dp, E, bin, f, NULL);
  return st;
}

/*
** v := B^n v for the plan of B (n >= 1); only the entries i with need[i]
** are computed (need NULL: all), the others are set to 0.  A component
** with no needed entry is skipped.
*/
static int plan_apply (Ctx *C, Plan *P, mpz_t *v, const unsigned char *need) {
  int i, j, st = MAT_OK;
  for (i = 0; i < P->nc && st == MAT_OK; i++) {
    Comp *c = &P->c[i];
    mpz_t *w;
    unsigned char *nc = malloc((size_t)c->s), any = 0;
    if (nc == NULL) return MAT_ENOMEM;
    for (j = 0; j < c->s; j++) any |= nc[j] = need == NULL || need[c->ix[j]];
    if (!any) {
      for (j = 0; j < c->s; j++) mpz_set_ui(v[c->ix[j]], 0);
      free(nc);
      continue;
    }
    if ((w = mat_zalloc(c->s)) == NULL) { free(nc); return MAT_ENOMEM; }
    for (j = 0; j < c->s; j++) mpz_swap(w[j], v[c->ix[j]]);
    switch (c->path) {
      case MAT_PATH_POWER: st = do_power(C, c, w); break;
      case MAT_PATH_UNIPOT: st = do_unipot(C, c, w); break;
      case MAT_PATH_LUCAS: st = do_lucas(C, c, w, nc); break;
      case MAT_PATH_SOURCES: st = do_sources(C, c, w, nc); break;
      default: st = do_charpoly(C, c, w, nc); break;
    }
    for (j = 0; j < c->s; j++) {
      if (!nc[j]) mpz_set_ui(w[j], 0);
      mpz_swap(w[j], v[c->ix[j]]);
    }
    mat_zfree(w, c->s);
    free(nc);
  }
  return st;
}

static void plan_info (Plan *P, mat_Info *info) {
  int i;
  for (i = 0; i < P->nc; i++) {
    info->paths |= (unsigned)P->c[i].path;
    if (P->c[i].inner != NULL) plan_info(P->c[i].inner, info);
  }
}

/* }====================================================== */


/* {======================================================
** Size bounds (log2 of magnitudes, as doubles; +inf when huge)
** ======================================================= */

static double zbits (mpz_srcptr z) {
  return mpz_sgn(z) ? (double)mpz_sizeinbase(z, 2) : 0;
}

/* An upper bound of |z| as a double. */
static double zup (mpz_srcptr z) {
  double x = fabs(mpz_get_d(z));  /* truncated toward zero */
  if (mpz_sizeinbase(z, 2) > 53) x *= 1 + 0x1p-50;
  return x;
}

static double lg2 (int s) {
  return s <= 1 ? 0 : ceil(log2((double)s));
}

static double dmax (double a, double b) { return a > b ? a : b; }

/* Largest entry size of A restricted to rows ri (nr) and columns ci (nc),
** the diagonal skipped if 'offdiag', plus log2 of the column count: a bound
** on log2 of every row sum of absolute values. */
static double rowsum_bits (mpz_t *A, int s, const int *ri, int nr,
                           const int *ci, int nc, int offdiag) {
  double m = 0;
  int i, j;
  for (i = 0; i < nr; i++)
    for (j = 0; j < nc; j++) {
      int a = ri ? ri[i] : i, b = ci ? ci[j] : j;
      if (offdiag && a == b) continue;
      m = dmax(m, zbits(A[a*s + b]));
    }
  return m + lg2(nc);
}

static double plan_bound (Plan *P, const double *vb, mpz_srcptr n, double lgn);

static double bound_unipot (int ns, double nbN, double vbs, double lgn) {
  return ns * lgn + vbs + (ns - 1) * nbN + lg2(ns) + 2;
}

static double comp_bound_path (Comp *c, double vb, double nbA,
                               const double *vball, mpz_srcptr n, mpz_ptr h,
                               double lgn);

static double comp_bound (Comp *c, const double *vball, mpz_srcptr n,
                          double lgn) {
  int s = c->s, i;
  double vb = 0, nbA = rowsum_bits(c->A, s, NULL, s, NULL, s, 0), r;
  mpz_t h;  /* n/2 (GMP's mpz_init does not allocate) */
  for (i = 0; i < s; i++) vb = dmax(vb, vball[c->ix[i]]);
  mpz_init(h);
  r = comp_bound_path(c, vb, nbA, vball, n, h, lgn);
  mpz_clear(h);
  return r;
}

static double comp_bound_path (Comp *c, double vb, double nbA,
                               const double *vball, mpz_srcptr n, mpz_ptr h,
                               double lgn) {
  int s = c->s, i, j;
  double r;
  (void)s;
  switch (c->path) {
    case MAT_PATH_POWER:
      if (mpz_cmpabs_ui(c->A[0], 1) <= 0) return vb;
      return mpz_get_d(n) * zbits(c->A[0]) + vb + 1;
    case MAT_PATH_UNIPOT:
      return bound_unipot(s, rowsum_bits(c->A, s, NULL, s, NULL, s, 1), vb, lgn);
    case MAT_PATH_LUCAS: {
      /* |U_j| <= W_j, W_j = |p| W_(j-1) + W_(j-2) (W_0 = 0, W_1 = 1), and
         W_(j+1) <= rho^j with rho = (|p| + sqrt(p^2 + 4)) / 2 the root of
         x^2 - |p| x - 1: so every entry of the companion matrix's j-th
         power, j <= n, has at most n log2(rho) bits (closed form: the
         guard pays for it before every call) */
      double L, cb, cbh, bc3, pb = zbits(c->red[1]);
      if (pb > 500) L = pb + 1;  /* rho <= |p| + 1 */
      else {
        double pa = zup(c->red[1]);
        L = log2((pa + sqrt(pa * pa + 4)) / 2) * (1 + 0x1p-40) + 0x1p-40;
      }
      cb = zup(n) * L * (1 + 0x1p-40) + 1;
      mpz_tdiv_q_2exp(h, n, 1);  /* squared: only prefixes of n/2 */
      cbh = zup(h) * L * (1 + 0x1p-40) + 1;
      bc3 = 2 * zbits(c->red[1]) + 2;
      return dmax(2*cbh + bc3 + 3, cb + vb + nbA + 2);
    }
    case MAT_PATH_CHARPOLY: {
      int d = c->d;
      double *M = calloc((size_t)d * (size_t)d, sizeof *M), cb, cbh, ab = 0, w;
      if (M == NULL) return HUGE_VAL;
      for (i = 1; i < d; i++) M[i*d + i - 1] = 1;
      for (i = 0; i < d; i++) {
        M[i*d + d - 1] += zup(c->red[i]);
        ab = dmax(ab, zbits(c->red[i]));
      }
      cb = mat_bound_prefix_log2(d, M, n);
      mpz_tdiv_q_2exp(h, n, 1);  /* squared: only prefixes of n/2 */
      cbh = mat_bound_prefix_log2(d, M, h);
      free(M);
      w = 2*cbh + lg2(d) + 4;
      if (d <= SQR_SMALL_D)  /* sums of <= 2d squares of <= cbh + 3 bits */
        r = 2*cbh + lg2(d) + 12;
      else
        r = 2*d*w + 2;                                       /* Kronecker */
      if (d >= 4 && d <= MAT_TOOM_MAXD)  /* evaluation at 2d-1 points */
        r = dmax(r, 2*cbh + 2*mat_toom_valbits(d) + MAT_TOOM_WBITS + lg2(2*d - 1) + 4);
      r = dmax(r, 2*cbh + lg2(d) + (d - 1) * (ab + 1) + 2);  /* reduction */
      /* one output wanted (qf_last): the powers x^t mod chi, t < 2d, and
         the form M (created before its size check), the products of
         numbers below QF_MAXBITS in its reduction, P = p_1 ... p_T, the
         squares and their sum */
      if (cbh >= QF_MINBITS) {
        r = dmax(r, 2*d * (ab + lg2(d) + 1) + vb + (d - 1) * nbA + lg2(d) + 2);
        r = dmax(r, (d + 2) * (QF_MAXBITS + 1.0));  /* P and the updates */
        r = dmax(r, 2 * (cbh + QF_MAXBITS + lg2(d) + 1) + d * QF_MAXBITS + lg2(d) + 2);
      }
      return dmax(r, cb + vb + (d - 1) * nbA + lg2(d) + 2);  /* final sum */
    }
    default: {  /* SOURCES */
      int ns = c->ns, nt = c->nt, J = ns - 1;
      double bD = zbits(c->D), badj = 0, bG, nbN, vbs = 0, vbt = 0;
      double L = -HUGE_VAL, g, E, y, terms = -HUGE_VAL, *vin, inner;
      for (i = 0; i < nt*nt; i++) badj = dmax(badj, zbits(c->adj[i]));
      badj += lg2(nt);
      bG = rowsum_bits(c->A, s, c->T, nt, c->S, ns, 0);
      nbN = rowsum_bits(c->A, s, c->S, ns, c->S, ns, 1);
      for (i = 0; i < ns; i++) vbs = dmax(vbs, vball[c->ix[c->S[i]]]);
      for (i = 0; i < nt; i++) vbt = dmax(vbt, vball[c->ix[c->T[i]]]);
      r = bound_unipot(ns, nbN, vbs, lgn);
      for (j = J; j >= 0; j--) {
        g = dmax((J - j) * bD + bG + vbs + j * nbN, L) + 1;
        L = badj + g;
        r = dmax(r, L);
        /* term j: C(n,j) D^j Pt_j, Pt_j <= 2^L for the j seen so far */
        terms = dmax(terms, (j + 1) * lgn + j * bD + L);
      }
      E = (J + 1) * bD;
      y = dmax(E + vbt, L) + 1;
      r = dmax(r, dmax(E, y));
      if ((vin = malloc((size_t)nt * sizeof *vin)) == NULL) return HUGE_VAL;
      for (i = 0; i < nt; i++) vin[i] = y;
      inner = plan_bound(c->inner, vin, n, lgn);
      free(vin);
      return dmax(r, dmax(inner, terms) + lg2(J + 2) + 1);
    }
  }
}

/* vb[i]: log2 bound of |v[i]| for the plan's vector. */
static double plan_bound (Plan *P, const double *vb, mpz_srcptr n, double lgn) {
  double r = (double)P->abits;
  int i;
  for (i = 0; i < P->k; i++) r = dmax(r, vb[i]);
  for (i = 0; i < P->nc; i++) r = dmax(r, comp_bound(&P->c[i], vb, n, lgn));
  return r;
}

/* }====================================================== */


/* {======================================================
** Entry points
** ======================================================= */

static int check_args (int k, const void *B, const void *v1, const void *v2,
                       mpz_srcptr n) {
  if (k < 1 || k > MAT_KMAX) return MAT_ESIZE;
  if (B == NULL || v1 == NULL || v2 == NULL || n == NULL || mpz_sgn(n) < 0)
    return MAT_EARG;
  return MAT_OK;
}

int mat_mpz_plan (int k, mpz_srcptr const *B, uint64_t cap, mat_Plan **out) {
  double bB = 0;
  mpz_t *Bc;
  int i, st;
  *out = NULL;
  if (k < 1 || k > MAT_KMAX) return MAT_ESIZE;
  if (B == NULL) return MAT_EARG;
  for (i = 0; i < k*k; i++) bB = dmax(bB, zbits(B[i]));
  /* what the analysis may create, before running it */
  if ((k + 2.0) * (k + 2.0) * (bB + lg2(k) + 2) + 64 > (double)cap)
    return MAT_ESIZE;
  if ((Bc = mat_zalloc(k*k)) == NULL) return MAT_ENOMEM;
  for (i = 0; i < k*k; i++) mpz_set(Bc[i], B[i]);
  if ((st = analyze(out, k, Bc)) != MAT_OK) mat_zfree(Bc, k*k);
  else (*out)->B = Bc;
  return st;
}

void mat_plan_free (mat_Plan *P) {
  plan_free(P);
}

uint64_t mat_plan_bits (const mat_Plan *P) {
  return P != NULL ? P->abits : 0;
}

int mat_plan_matches (const mat_Plan *P, int k, mpz_srcptr const *B) {
  int i;
  if (P == NULL || P->B == NULL || P->k != k) return 0;
  for (i = 0; i < k*k; i++)
    if (mpz_cmp(P->B[i], B[i]) != 0) return 0;
  return 1;
}

uint64_t mat_plan_bits_bound (mat_Plan *P, const uint64_t *vbits,
                              mpz_srcptr n) {
  double r = 0, vb[MAT_KMAX], lgn;
  int i;
  for (i = 0; i < P->k; i++) {
    vb[i] = (double)vbits[i];
    r = dmax(r, vb[i]);
  }
  if (mpz_sgn(n) == 0) return (uint64_t)r;
  lgn = (double)mpz_sizeinbase(n, 2);
  r = plan_bound(P, vb, n, lgn) + 1;
  if (!(r < 0x1p63)) return UINT64_MAX;
  return (uint64_t)ceil(r);
}

uint64_t mat_bits_bound (int k, mpz_srcptr const *B, const uint64_t *vbits,
                         mpz_srcptr n, uint64_t cap) {
  mat_Plan *P;
  uint64_t r = 0;
  int i;
  if (check_args(k, B, vbits, vbits, n) != MAT_OK) return UINT64_MAX;
  if (mpz_sgn(n) == 0) {
    for (i = 0; i < k; i++) if (vbits[i] > r) r = vbits[i];
    return r;
  }
  if (mat_mpz_plan(k, B, cap, &P) != MAT_OK) return UINT64_MAX;
  r = mat_plan_bits_bound(P, vbits, n);
  plan_free(P);
  return r;
}

/* v_out := B^n v_in for B's plan P of size k (P may be NULL when n = 0). */
static int powapply (mat_Plan *P, int k, mpz_ptr const *v_out,
                     mpz_srcptr const *v_in, mpz_srcptr n,
                     const unsigned char *need, mat_Info *info) {
  int i, st = MAT_OK;
  mpz_t *v;
  Ctx C;
  if ((v = mat_zalloc(k)) == NULL) return MAT_ENOMEM;
  C.n = n;
  C.maxbits = 0;
  C.track = info != NULL ? &C.maxbits : NULL;
  for (i = 0; i < k; i++) {  /* inputs read in full before any output */
    mpz_set(v[i], v_in[i]);
    NOTE(&C, v[i]);
  }
  if (info != NULL) memset(info, 0, sizeof *info);
  if (mpz_sgn(n) != 0) {
    if (P->abits > C.maxbits) C.maxbits = P->abits;
    if ((st = plan_apply(&C, P, v, need)) != MAT_OK) goto done;
    if (info != NULL) {
      plan_info(P, info);
      info->ncomp = P->nc;
    }
  }
  for (i = 0; i < k; i++) {
    if (need != NULL && !need[i]) mpz_set_ui(v[i], 0);
    mpz_swap(v_out[i], v[i]);
  }
  if (info != NULL) info->maxbits = C.maxbits;
done:
  mat_zfree(v, k);
  return st;
}

int mat_plan_powapply (mat_Plan *P, mpz_ptr const *v_out,
                       mpz_srcptr const *v_in, mpz_srcptr n,
                       const unsigned char *need, mat_Info *info) {
  if (P == NULL || v_out == NULL || v_in == NULL || n == NULL || mpz_sgn(n) < 0)
    return MAT_EARG;
  return powapply(P, P->k, v_out, v_in, n, need, info);
}

int mat_mpz_powapply_need (int k, mpz_srcptr const *B, mpz_ptr const *v_out,
                           mpz_srcptr const *v_in, mpz_srcptr n,
                           const unsigned char *need, mat_Info *info) {
  mat_Plan *P = NULL;
  int st;
  if ((st = check_args(k, B, v_out, v_in, n)) != MAT_OK) return st;
  if (mpz_sgn(n) != 0 && (st = mat_mpz_plan(k, B, UINT64_MAX, &P)) != MAT_OK)
    return st;
  if (P != NULL) {  /* B's copy serves mat_plan_matches only: not kept here */
    mat_zfree(P->B, k*k);
    P->B = NULL;
  }
  st = powapply(P, k, v_out, v_in, n, need, info);
  plan_free(P);
  return st;
}

int mat_mpz_powapply_info (int k, mpz_srcptr const *B, mpz_ptr const *v_out,
                           mpz_srcptr const *v_in, mpz_srcptr n,
                           mat_Info *info) {
  return mat_mpz_powapply_need(k, B, v_out, v_in, n, NULL, info);
}

int mat_mpz_powapply (int k, mpz_srcptr const *B, mpz_ptr const *v_out,
                      mpz_srcptr const *v_in, mpz_srcptr n) {
  return mat_mpz_powapply_need(k, B, v_out, v_in, n, NULL, NULL);
}

/* }====================================================== */
