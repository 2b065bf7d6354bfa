/*
** bench/fft_reuse.c -- an experiment, not part of cpm: would an order-3
** step be cheaper with each coefficient's FFT computed once?
**
** A doubling step of the order-3 engine (src/core/mat_toom.c) squares
** a + b x + c x^2 modulo chi = x^3 - c1 x^2 - c2 x - c3 (small c_i):
** five squarings of N-bit numbers, each with its own forward and inverse
** transform inside GMP.  With the transforms in hand the step needs three
** forward transforms (a, b, c), the square modulo chi computed point by
** point in Z/(2^K + 1) (six squarings of K-bit residues: a^2, b^2, c^2,
** (a+b)^2, (a+c)^2, (b+c)^2, then chi's small multiples), and three
** inverse transforms.  GMP does not expose its transforms; FLINT 2.9's
** fft module does (the Schonhage-Strassen transforms with the sqrt 2
** trick, W. Hart, "A practical analysis of the Schonhage-Strassen
** algorithm", 2011), so this program measures that step against five
** GMP squarings, after checking it against plain mpz arithmetic.
** Signed inputs: a negative number's pieces are negated mod 2^K + 1; each
** output piece is read as signed (below 2^(K-1) in absolute value: the
** piece size leaves room for chi's multiples and the sign).
**
** Needs libflint-dev (FLINT 2.9, not a dependency of cpm):
**   cc -O2 -o /tmp/fft_reuse bench/fft_reuse.c -lflint -lgmp && /tmp/fft_reuse
** Output: one markdown row per size (CPU time, min of 7), with the share
** of the step's phases.  Results: doc/performance.md, "Orders 3 to 8".
*/
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <gmp.h>
#include <flint/flint.h>
#include <flint/fft.h>
#include <flint/fft_tuning.h>

static double now (void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Transform parameters, chosen as flint_mpn_mul_fft_main chooses them for
   an N-bit square, with 'extra' bits more of headroom per output piece. */
typedef struct Par {
  mp_size_t depth, w, n, limbs, trunc;
  mp_bitcnt_t bits;	/* bits per input piece */
  mp_size_t pieces;	/* input pieces */
} Par;

static const int fft_tab[5][2] = FFT_TAB;

static mp_bitcnt_t piece_bits (mp_size_t n, mp_size_t w, mp_size_t depth, int extra) {
  long b = ((long)(n * w) - (long)depth - 2 - extra) / 2;
  return b > 0 ? (mp_bitcnt_t)b : 0;
}

static int choose (Par *p, mp_bitcnt_t nbits, int extra) {
  mp_size_t depth = 6, w = 1, n = 64, j, off, wadj = 1, tr;
  mp_bitcnt_t bits;
  for (;;) {
    bits = piece_bits(n, w, depth, extra);
    j = bits ? (mp_size_t)((nbits - 1) / bits + 1) : 0;
    if (bits && 2 * j - 1 <= 4 * n) break;
    if (w == 1) w = 2; else { depth++; w = 1; n *= 2; }
  }
  if (depth >= 11) return 0;  /* the matrix Fourier variant: not tried */
  off = fft_tab[depth - 6][w - 1];
  depth -= off; n = (mp_size_t)1 << depth; w *= (mp_size_t)1 << (2 * off);
  if (depth < 6) wadj = (mp_size_t)1 << (6 - depth);
  if (w > wadj) {
    do {
      w -= wadj;
      bits = piece_bits(n, w, depth, extra);
      j = bits ? (mp_size_t)((nbits - 1) / bits + 1) : 0;
    } while (bits && 2 * j - 1 <= 4 * n && w > wadj);
    w += wadj;
  }
  p->depth = depth; p->w = w; p->n = n; p->limbs = n * w / FLINT_BITS;
  p->bits = piece_bits(n, w, depth, extra);
  p->pieces = (mp_size_t)((nbits - 1) / p->bits + 1);
  tr = 2 * p->pieces - 1;
  if (tr <= 2 * n) tr = 2 * n + 1;
  p->trunc = 2 * ((tr + 1) / 2);
  return 1;
}

static mp_limb_t **coeffs (const Par *p) {
  mp_size_t size = p->limbs + 1, i;
  mp_limb_t **ii = malloc((size_t)(4 * p->n + 4 * p->n * size) * sizeof(mp_limb_t));
  mp_limb_t *ptr = (mp_limb_t *)ii + 4 * p->n;
  for (i = 0; i < 4 * p->n; i++, ptr += size) ii[i] = ptr;
  return ii;
}

static void forward (const Par *p, mp_limb_t **ii, const mpz_t x,
                     mp_limb_t **t1, mp_limb_t **t2, mp_limb_t **s1) {
  mp_size_t j, got = 0, sz = (mp_size_t)mpz_size(x);
  if (sz) got = fft_split_bits(ii, mpz_limbs_read(x), sz, p->bits, p->limbs);
  for (j = got; j < 4 * p->n; j++) flint_mpn_zero(ii[j], p->limbs + 1);
  if (mpz_sgn(x) < 0)
    for (j = 0; j < got; j++) mpn_negmod_2expp1(ii[j], ii[j], p->limbs);
  fft_truncate_sqrt2(ii, p->n, p->w, t1, t2, s1, p->trunc);
}

/* r := a^2 mod 2^(64 L) + 1, a normalized (a[L] is 0 or 1). */
static void sqrmod (mp_limb_t *r, const mp_limb_t *a, mp_size_t L, mp_limb_t *tt) {
  mp_limb_t c;
  if (a[L]) { flint_mpn_zero(r, L + 1); r[0] = 1; return; }  /* (-1)^2 */
  mpn_sqr(tt, a, L);
  c = mpn_sub_n(r, tt, tt + L, L);
  r[L] = 0;
  if (c) r[L] = mpn_add_1(r, r, L, 1);
}

static void addmod (mp_limb_t *r, const mp_limb_t *a, const mp_limb_t *b, mp_size_t L) {
  mpn_add_n(r, a, b, L + 1);
  mpn_normmod_2expp1(r, L);
}

static void submod (mp_limb_t *r, const mp_limb_t *a, const mp_limb_t *b, mp_size_t L) {
  mpn_sub_n(r, a, b, L + 1);
  mpn_normmod_2expp1(r, L);
}

/* r := r + k a mod 2^(64 L) + 1, k small. */
static void addmulmod (mp_limb_t *r, const mp_limb_t *a, long k, mp_size_t L, mp_limb_t *tt) {
  if (k == 0) return;
  mpn_mul_1(tt, a, L + 1, (mp_limb_t)(k < 0 ? -k : k));
  if (k > 0) mpn_add_n(r, r, tt, L + 1); else mpn_sub_n(r, r, tt, L + 1);
  mpn_normmod_2expp1(r, L);
}

/* Inverse transform, scaling, and the signed pieces added up into out. */
static void inverse (const Par *p, mpz_t out, mp_limb_t **ii, mp_limb_t **t1,
                     mp_limb_t **t2, mp_limb_t **s1, mp_size_t rlimbs) {
  mp_size_t L = p->limbs, j, len = 2 * p->pieces - 1;
  mp_limb_t *zero = calloc((size_t)L + 1, sizeof(mp_limb_t));
  mp_limb_t **pos = malloc(2 * (size_t)len * sizeof(mp_limb_t *)), **neg = pos + len;
  mpz_t a, b;
  mp_limb_t *pa, *pb;
  ifft_truncate_sqrt2(ii, p->n, p->w, t1, t2, s1, p->trunc);
  for (j = 0; j < len; j++) {
    mpn_div_2expmod_2expp1(ii[j], ii[j], L, p->depth + 2);
    mpn_normmod_2expp1(ii[j], L);
    if (ii[j][L] || (ii[j][L - 1] >> (FLINT_BITS - 1))) {  /* negative */
      mpn_negmod_2expp1(ii[j], ii[j], L);
      mpn_normmod_2expp1(ii[j], L);
      pos[j] = zero; neg[j] = ii[j];
    }
    else { pos[j] = ii[j]; neg[j] = zero; }
  }
  mpz_init(a); mpz_init(b);
  pa = mpz_limbs_write(a, rlimbs); pb = mpz_limbs_write(b, rlimbs);
  flint_mpn_zero(pa, rlimbs); flint_mpn_zero(pb, rlimbs);
  fft_combine_bits(pa, pos, len, p->bits, L, rlimbs);
  fft_combine_bits(pb, neg, len, p->bits, L, rlimbs);
  mpz_limbs_finish(a, rlimbs); mpz_limbs_finish(b, rlimbs);
  mpz_sub(out, a, b);
  mpz_clear(a); mpz_clear(b);
  free(zero); free(pos);
}

/* Coefficients of r_k (k = 0, 1, 2) in a^2, b^2, c^2, 2ab, 2ac, 2bc:
   x^3 = c1 x^2 + c2 x + c3, x^4 = (c1^2 + c2) x^2 + (c1 c2 + c3) x + c1 c3. */
static void quadforms (long q[3][6], long c1, long c2, long c3) {
  long x4[3] = { c1 * c3, c1 * c2 + c3, c1 * c1 + c2 };
  long x3[3] = { c3, c2, c1 };
  int k, i;
  for (k = 0; k < 3; k++) for (i = 0; i < 6; i++) q[k][i] = 0;
  q[0][0] = 1; q[1][3] = 1; q[2][4] = 1; q[2][1] = 1;  /* a^2, 2ab, 2ac + b^2 */
  for (k = 0; k < 3; k++) { q[k][5] += x3[k]; q[k][2] += x4[k]; }  /* 2bc x^3, c^2 x^4 */
}

static double phase[3];  /* forward, pointwise, inverse: seconds of the last call */

/* r := (x0 + x1 x + x2 x^2)^2 mod chi with the transforms reused;
   returns 0 when the size needs the matrix Fourier variant. */
static int step_reuse (mpz_t r[3], mpz_t x[3], long c1, long c2, long c3) {
  mp_bitcnt_t nb = 1;
  long q[3][6], m = 0;
  int extra = 1, i, k;
  Par p;
  mp_size_t L, size, j, rl;
  mp_limb_t **ii[3], *tmp, *t1, *t2, *s1, *sq, *S[6], *u, *e, *tt;
  double t0;
  for (i = 0; i < 3; i++) {
    mp_bitcnt_t b = mpz_sizeinbase(x[i], 2);
    if (b > nb) nb = b;
  }
  quadforms(q, c1, c2, c3);
  for (k = 0; k < 3; k++) {
    long s = 0;
    for (i = 0; i < 6; i++) s += labs(q[k][i]) * (i < 3 ? 1 : 2);  /* 2ab ... */
    if (s > m) m = s;
  }
  while ((1L << (extra - 1)) < m) extra++;  /* chi's multiples and a sign */
  if (!choose(&p, nb, extra)) return 0;
  L = p.limbs; size = L + 1;
  for (i = 0; i < 3; i++) ii[i] = coeffs(&p);
  tmp = malloc(3 * (size_t)size * sizeof(mp_limb_t));
  t1 = tmp; t2 = tmp + size; s1 = tmp + 2 * size;
  sq = malloc(8 * (size_t)size * sizeof(mp_limb_t));
  tt = malloc(2 * (size_t)size * sizeof(mp_limb_t));
  for (i = 0; i < 6; i++) S[i] = sq + i * size;
  u = sq + 6 * size; e = sq + 7 * size;
  t0 = now();
  for (i = 0; i < 3; i++) forward(&p, ii[i], x[i], &t1, &t2, &s1);
  phase[0] = now() - t0; t0 = now();
  for (j = 0; j < p.trunc; j++) {
    mp_limb_t *a = ii[0][j], *b = ii[1][j], *c = ii[2][j];
    mpn_normmod_2expp1(a, L); mpn_normmod_2expp1(b, L); mpn_normmod_2expp1(c, L);
    sqrmod(S[0], a, L, tt); sqrmod(S[1], b, L, tt); sqrmod(S[2], c, L, tt);
    addmod(u, a, b, L); sqrmod(S[3], u, L, tt);
    addmod(u, a, c, L); sqrmod(S[4], u, L, tt);
    addmod(u, b, c, L); sqrmod(S[5], u, L, tt);
    for (i = 3; i < 6; i++) {  /* (y + z)^2 - y^2 - z^2 = 2 y z */
      static const int y[3] = { 0, 0, 1 }, z[3] = { 1, 2, 2 };
      submod(S[i], S[i], S[y[i - 3]], L); submod(S[i], S[i], S[z[i - 3]], L);
    }
    for (k = 0; k < 3; k++) {
      flint_mpn_zero(e, size);
      for (i = 0; i < 6; i++) addmulmod(e, S[i], q[k][i], L, tt);
      flint_mpn_copyi(ii[k][j], e, size);
    }
  }
  phase[1] = now() - t0; t0 = now();
  rl = (mp_size_t)((2 * nb + (mp_bitcnt_t)extra) / FLINT_BITS + 2);
  for (k = 0; k < 3; k++) inverse(&p, r[k], ii[k], &t1, &t2, &s1, rl);
  phase[2] = now() - t0;
  for (i = 0; i < 3; i++) free(ii[i]);
  free(tmp); free(sq); free(tt);
  return 1;
}

/* The same with mpz: the five coefficients of the square, then chi. */
static void step_mpz (mpz_t r[3], mpz_t x[3], long c1, long c2, long c3) {
  long q[3][6];
  mpz_t t[6];
  int i, k;
  quadforms(q, c1, c2, c3);
  for (i = 0; i < 6; i++) mpz_init(t[i]);
  mpz_mul(t[0], x[0], x[0]); mpz_mul(t[1], x[1], x[1]); mpz_mul(t[2], x[2], x[2]);
  mpz_mul(t[3], x[0], x[1]); mpz_mul(t[4], x[0], x[2]); mpz_mul(t[5], x[1], x[2]);
  for (i = 3; i < 6; i++) mpz_mul_2exp(t[i], t[i], 1);
  for (k = 0; k < 3; k++) {
    mpz_set_ui(r[k], 0);
    for (i = 0; i < 6; i++) {
      if (q[k][i] > 0) mpz_addmul_ui(r[k], t[i], (unsigned long)q[k][i]);
      else if (q[k][i] < 0) mpz_submul_ui(r[k], t[i], (unsigned long)-q[k][i]);
    }
  }
  for (i = 0; i < 6; i++) mpz_clear(t[i]);
}

int main (void) {
  gmp_randstate_t st;
  mpz_t x[3], r[3], s[3], t;
  int it, i, k;
  long nb;
  gmp_randinit_default(st);
  for (i = 0; i < 3; i++) { mpz_init(x[i]); mpz_init(r[i]); mpz_init(s[i]); }
  mpz_init(t);
  for (it = 0; it < 300; it++) {  /* sizes, signs, all-ones numbers, chi */
    long c1 = (long)gmp_urandomm_ui(st, 11) - 5, c2 = (long)gmp_urandomm_ui(st, 11) - 5;
    long c3 = (long)gmp_urandomm_ui(st, 11) - 5;
    nb = 1 + (long)gmp_urandomm_ui(st, it < 200 ? 20000 : 300000);
    for (i = 0; i < 3; i++) {
      if (it % 7 == 0) { mpz_set_ui(x[i], 1); mpz_mul_2exp(x[i], x[i], (mp_bitcnt_t)nb); mpz_sub_ui(x[i], x[i], 1); }
      else mpz_urandomb(x[i], st, gmp_urandomm_ui(st, (unsigned long)nb) + 1);
      if (gmp_urandomm_ui(st, 2)) mpz_neg(x[i], x[i]);
    }
    if (!step_reuse(r, x, c1, c2, c3)) continue;
    step_mpz(s, x, c1, c2, c3);
    for (k = 0; k < 3; k++)
      if (mpz_cmp(r[k], s[k]) != 0) {
        fprintf(stderr, "mismatch: case %d, %ld bits, output %d\n", it, nb, k);
        return 1;
      }
  }
  printf("| N bits | transforms reused, ms | forward / pointwise / inverse | five GMP squarings, ms | ratio |\n");
  printf("|---|---|---|---|---|\n");
  for (nb = 100000; nb <= 800000; nb *= 2) {
    double best = 1e9, bg = 1e9, ph[3] = { 0, 0, 0 };
    int rep;
    for (i = 0; i < 3; i++) mpz_urandomb(x[i], st, (mp_bitcnt_t)nb);
    for (rep = 0; rep < 7; rep++) {
      double t0 = now();
      step_reuse(r, x, 2, 3, 1);
      t0 = now() - t0;
      if (t0 < best) { best = t0; for (i = 0; i < 3; i++) ph[i] = phase[i]; }
      t0 = now();
      for (k = 0; k < 5; k++) mpz_mul(t, x[k % 3], x[k % 3]);
      t0 = now() - t0;
      if (t0 < bg) bg = t0;
    }
    printf("| %ld | %.3f | %.0f%% / %.0f%% / %.0f%% | %.3f | **%.2f** |\n", nb, best * 1e3,
           100 * ph[0] / best, 100 * ph[1] / best, 100 * ph[2] / best, bg * 1e3, best / bg);
  }
  return 0;
}
