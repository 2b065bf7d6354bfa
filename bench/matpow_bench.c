/*
** matpow_bench.c -- benchmarks of the matrix-power engine (src/core/mat_*.c)
** against GMP's mpz_fib_ui and textbook binary matrix powering.  Each row
** is a ratio of times measured in the same run, best of several repetitions;
** every pair of results is compared first.  Standalone (no Lua):
**
**   cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Isrc/core -o /tmp/matpow_bench \
**      bench/matpow_bench.c src/core/mat_u64.c src/core/mat_mpz.c src/core/mat_charpoly.c \
**      src/core/mat_bound.c src/core/mat_toom.c src/core/mat_mod.c -lgmp -lm
**   /tmp/matpow_bench            (or: /tmp/matpow_bench quick)
**   /tmp/matpow_bench fib [reps]   Fibonacci against mpz_fib_ui, peak memory
**   /tmp/matpow_bench fibmem N gmp|engine|none   one F(N), for bench/fibmem.sh
**   /tmp/matpow_bench order [reps] orders 3 to 8 at n = 10^6, and Bostan-Mori
**   /tmp/matpow_bench u64 [reps]   Z/2^64, k = 2 .. 64 at n = 10^18
**   /tmp/matpow_bench mod [reps]   Z/m, m = 10^9+7, k = 2 .. 63 at n = 10^18
**   /tmp/matpow_bench polysqr      one polynomial squaring, three ways
**
** The engine gets what the optimizer hands it: the loop-carried variables
** plus the constant row (and the index row where the loop uses it).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mat.h"
#include "mat_impl.h"
#include "mat_mod.h"

/* CPU time of this process: the machine is shared, and wall-clock time
** counts the other processes' share too. */
static double now (void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int reps = 9;

/* ---------------------------------------------------------------------- */
/* Peak memory of GMP's numbers: a counting allocator (bench only) */

static size_t mem_cur, mem_peak;

static void *cnt_alloc (size_t n) {
  size_t *p = malloc(n + sizeof(size_t) * 2);
  if (p == NULL) abort();
  p[0] = n;
  mem_cur += n;
  if (mem_cur > mem_peak) mem_peak = mem_cur;
  return p + 2;
}

static void *cnt_realloc (void *q, size_t old, size_t n) {
  size_t *p = (size_t *)q - 2;
  (void)old;
  mem_cur -= p[0];
  p = realloc(p, n + sizeof(size_t) * 2);
  if (p == NULL) abort();
  p[0] = n;
  mem_cur += n;
  if (mem_cur > mem_peak) mem_peak = mem_cur;
  return p + 2;
}

static void cnt_free (void *q, size_t old) {
  size_t *p = (size_t *)q - 2;
  (void)old;
  mem_cur -= p[0];
  free(p);
}

/* Starts measuring: the peak above what is allocated now. */
static size_t mem_start (void) { mem_peak = mem_cur; return mem_cur; }

/* ---------------------------------------------------------------------- */
/* Textbook: R = I, P = B; per bit: R = R P if set, P = P P (k^3 products) */

static void mm (int k, mpz_t *T, mpz_t *X, mpz_t *Y) {
  int i, j, l;
  for (i = 0; i < k; i++)
    for (j = 0; j < k; j++) {
      mpz_set_ui(T[i*k + j], 0);
      for (l = 0; l < k; l++) mpz_addmul(T[i*k + j], X[i*k + l], Y[l*k + j]);
    }
}

/* out = B^n v by textbook powering of the full matrix. */
static void textbook (int k, const long *B, const long *v, unsigned long n,
                      mpz_t *out) {
  mpz_t *R = malloc(sizeof(mpz_t) * (size_t)(3*k*k)), *P = R + k*k, *T = P + k*k;
  int i, j;
  for (i = 0; i < 3*k*k; i++) mpz_init(R[i]);
  for (i = 0; i < k; i++)
    for (j = 0; j < k; j++) {
      mpz_set_ui(R[i*k + j], i == j);
      mpz_set_si(P[i*k + j], B[i*k + j]);
    }
  while (n) {
    if (n & 1) {
      mm(k, T, R, P);
      for (i = 0; i < k*k; i++) mpz_swap(R[i], T[i]);
    }
    n >>= 1;
    if (n) {
      mm(k, T, P, P);
      for (i = 0; i < k*k; i++) mpz_swap(P[i], T[i]);
    }
  }
  for (i = 0; i < k; i++) {
    mpz_set_ui(out[i], 0);
    for (j = 0; j < k; j++) {
      mpz_mul_si(T[0], R[i*k + j], v[j]);
      mpz_add(out[i], out[i], T[0]);
    }
  }
  for (i = 0; i < 3*k*k; i++) mpz_clear(R[i]);
  free(R);
}

/* The engine on small constant B, v ('need': which outputs, NULL all). */
static void engine_need (int k, const long *B, const long *v, unsigned long n,
                         mpz_t *out, const unsigned char *need, mat_Info *info) {
  mpz_t Bz[64], vz[8], N;
  mpz_srcptr Bp[64], vp[8];
  mpz_ptr op[8];
  int i;
  for (i = 0; i < k*k; i++) { mpz_init_set_si(Bz[i], B[i]); Bp[i] = Bz[i]; }
  for (i = 0; i < k; i++) { mpz_init_set_si(vz[i], v[i]); vp[i] = vz[i]; op[i] = out[i]; }
  mpz_init_set_ui(N, n);
  if (mat_mpz_powapply_need(k, Bp, op, vp, N, need, info) != MAT_OK) {
    fprintf(stderr, "engine failed\n");
    exit(1);
  }
  for (i = 0; i < k*k; i++) mpz_clear(Bz[i]);
  for (i = 0; i < k; i++) mpz_clear(vz[i]);
  mpz_clear(N);
}

static void engine (int k, const long *B, const long *v, unsigned long n,
                    mpz_t *out, mat_Info *info) {
  engine_need(k, B, v, n, out, NULL, info);
}

/* ---------------------------------------------------------------------- */

static int cmpd (const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/*
** Fibonacci as the optimizer hands it (3 x 3 with the constant row), F(n)
** alone wanted (the loop returns a) and both values wanted, against
** mpz_fib_ui and mpz_fib2_ui: min and median times of interleaved runs,
** peak bytes of GMP numbers (each result freed before the next run).
*/
static void bench_fib_need (unsigned long n, int nr) {
  static const long B3[9] = { 0, 1, 0,  1, 1, 0,  0, 0, 1 };
  static const long v3[3] = { 0, 1, 1 };
  static const unsigned char needa[3] = { 1, 0, 0 };
  double t[4][64], t0;
  size_t peak[4] = { 0, 0, 0, 0 }, base;
  mpz_t f, f1, e[3];
  int r, i, m;
  if (nr > 64) nr = 64;
  for (r = 0; r < nr; r++) {
    mpz_init(f); mpz_init(f1);
    base = mem_start();
    t0 = now(); mpz_fib_ui(f, n); t[0][r] = now() - t0;
    if (mem_peak - base > peak[0]) peak[0] = mem_peak - base;
    mpz_clear(f1);
    for (i = 0; i < 3; i++) mpz_init(e[i]);
    base = mem_start();
    t0 = now(); engine_need(3, B3, v3, n, e, needa, NULL); t[1][r] = now() - t0;
    if (mem_peak - base > peak[1]) peak[1] = mem_peak - base;
    if (mpz_cmp(f, e[0]) != 0) { fprintf(stderr, "fib mismatch (need a)\n"); exit(1); }
    for (i = 0; i < 3; i++) { mpz_clear(e[i]); mpz_init(e[i]); }
    base = mem_start();
    t0 = now(); engine_need(3, B3, v3, n, e, NULL, NULL); t[2][r] = now() - t0;
    if (mem_peak - base > peak[2]) peak[2] = mem_peak - base;
    if (mpz_cmp(f, e[0]) != 0) { fprintf(stderr, "fib mismatch (all)\n"); exit(1); }
    for (i = 0; i < 3; i++) mpz_clear(e[i]);
    mpz_init(f1);
    { mpz_t g; mpz_init(g);
      base = mem_start();
      t0 = now(); mpz_fib2_ui(f1, g, n); t[3][r] = now() - t0;
      if (mem_peak - base > peak[3]) peak[3] = mem_peak - base;
      mpz_clear(g); }
    mpz_clear(f1);
    mpz_clear(f);
  }
  for (i = 0; i < 4; i++) qsort(t[i], (size_t)nr, sizeof(double), cmpd);
  m = nr / 2;
  printf("| %lu | %.4g / %.4g | %.4g / %.4g | **%.3f** / %.3f | %.2f | %.4g | %.3f / %.3f | %.2f | %.4g | %.3f | %.2f |\n",
         n, t[0][0] * 1e3, t[0][m] * 1e3, t[1][0] * 1e3, t[1][m] * 1e3,
         t[1][0] / t[0][0], t[1][m] / t[0][m], (double)peak[1] / (double)peak[0],
         t[2][0] * 1e3, t[2][0] / t[0][0], t[2][m] / t[0][m], (double)peak[2] / (double)peak[0],
         t[3][0] * 1e3, t[3][0] / t[0][0], (double)peak[3] / (double)peak[0]);
  fflush(stdout);
}

static void bench_fib (unsigned long n) {
  static const long B3[9] = { 0, 1, 0,  1, 1, 0,  0, 0, 1 };
  static const long v3[3] = { 0, 1, 1 };
  static const long B2[4] = { 0, 1,  1, 1 };
  static const long v2[2] = { 0, 1 };
  mpz_t f, e[3], t[2];
  double te = 1e99, tf = 1e99, tf2 = 1e99, tt = 1e99, t0;
  mat_Info info;
  int r, i;
  mpz_init(f);
  for (i = 0; i < 3; i++) mpz_init(e[i]);
  for (i = 0; i < 2; i++) mpz_init(t[i]);
  int nr = n > 1000000 ? (reps + 1) / 2 : 2 * reps;
  for (r = 0; r < nr; r++) {  /* interleaved, so that load changes hit all */
    t0 = now(); mpz_fib_ui(f, n); t0 = now() - t0; if (t0 < tf) tf = t0;
    t0 = now(); engine(3, B3, v3, n, e, &info); t0 = now() - t0; if (t0 < te) te = t0;
    t0 = now(); mpz_fib2_ui(t[0], t[1], n); t0 = now() - t0; if (t0 < tf2) tf2 = t0;
    if (r < 3) {
      t0 = now(); textbook(2, B2, v2, n, t); t0 = now() - t0; if (t0 < tt) tt = t0;
    }
  }
  if (mpz_cmp(f, e[0]) != 0 || mpz_cmp(f, t[0]) != 0) {
    fprintf(stderr, "fib mismatch\n");
    exit(1);
  }
  printf("| Fibonacci n = %lu (%zu bits) | engine 3x3 %.4f s | mpz_fib_ui %.4f s | "
         "mpz_fib2_ui %.4f s | textbook 2x2 %.4f s | engine/fib_ui **%.2f** | "
         "engine/fib2_ui %.2f | textbook/fib_ui %.2f | paths 0x%x |\n",
         n, mpz_sizeinbase(f, 2), te, tf, tf2, tt, te / tf, te / tf2, tt / tf, info.paths);
  mpz_clear(f);
  for (i = 0; i < 3; i++) mpz_clear(e[i]);
  for (i = 0; i < 2; i++) mpz_clear(t[i]);
}

/* cur = 7*(2*p1 + 3*p2) + 4*p3 + 5*i + 6; p3, p2, p1 = p2, p1, cur; i += 1 */
static void bench_rec3 (unsigned long n) {
  static const long B5[25] = { 14, 21, 4, 5, 6,  1, 0, 0, 0, 0,  0, 1, 0, 0, 0,
                               0, 0, 0, 1, 1,  0, 0, 0, 0, 1 };
  static const long v5[5] = { 1, 2, 3, 4, 1 };
  static const long B3[9] = { 14, 21, 4,  1, 0, 0,  0, 1, 0 };
  static const long v3[3] = { 1, 2, 3 };
  mpz_t e[5], t5[5], t3[3];
  double te = 1e99, t5t = 1e99, t3t = 1e99, t0;
  mat_Info info;
  int r, i;
  for (i = 0; i < 5; i++) { mpz_init(e[i]); mpz_init(t5[i]); }
  for (i = 0; i < 3; i++) mpz_init(t3[i]);
  for (r = 0; r < reps; r++) {
    t0 = now(); engine(5, B5, v5, n, e, &info); t0 = now() - t0; if (t0 < te) te = t0;
    if (r == 0) {  /* the textbook powers take seconds: one run each */
      t0 = now(); textbook(3, B3, v3, n, t3); t0 = now() - t0; if (t0 < t3t) t3t = t0;
      t0 = now(); textbook(5, B5, v5, n, t5); t0 = now() - t0; if (t0 < t5t) t5t = t0;
    }
  }
  for (i = 0; i < 5; i++)
    if (mpz_cmp(e[i], t5[i]) != 0) { fprintf(stderr, "rec3 mismatch\n"); exit(1); }
  printf("| 3-term recurrence + index + constant, n = %lu (%zu bits) | engine 5x5 %.4f s | "
         "textbook 3x3 (homogeneous part only) %.4f s | textbook 5x5 (same result) %.4f s | "
         "3x3/engine **%.2f** | 5x5/engine **%.2f** | paths 0x%x |\n",
         n, mpz_sizeinbase(e[0], 2), te, t3t, t5t, t3t / te, t5t / te, info.paths);
  for (i = 0; i < 5; i++) { mpz_clear(e[i]); mpz_clear(t5[i]); }
  for (i = 0; i < 3; i++) mpz_clear(t3[i]);
}

/* Time of mat_bits_bound (what the guard pays before the power). */
static void bench_bound (int k, const long *B, const long *v, unsigned long n,
                         const char *what) {
  mpz_t Bz[64], N;
  mpz_srcptr Bp[64];
  uint64_t vb[8], bits = 0;
  double best = 1e99, t0;
  int i, r, calls = 2000;
  for (i = 0; i < k*k; i++) { mpz_init_set_si(Bz[i], B[i]); Bp[i] = Bz[i]; }
  for (i = 0; i < k; i++) vb[i] = v[i] ? 64 : 0;
  mpz_init_set_ui(N, n);
  for (r = 0; r < 5; r++) {
    t0 = now();
    for (i = 0; i < calls; i++) bits = mat_bits_bound(k, Bp, vb, N, (uint64_t)1 << 32);
    t0 = (now() - t0) / calls;
    if (t0 < best) best = t0;
  }
  printf("| mat_bits_bound, %s, n = %lu | %.1f us per call | bound %llu bits |\n",
         what, n, best * 1e6, (unsigned long long)bits);
  for (i = 0; i < k*k; i++) mpz_clear(Bz[i]);
  mpz_clear(N);
}

static void bench_u64 (int k, const uint64_t *B, const char *what) {
  uint64_t v[3] = { 0, 1, 1 }, sink = 0;
  const uint64_t n = 1000000000000000000ULL;
  double best = 1e99, t0;
  int r, i, calls = 200000;
  for (r = 0; r < 5; r++) {
    t0 = now();
    for (i = 0; i < calls; i++) {
      v[0] = (uint64_t)i;
      mat_u64_powapply_ui(k, B, v, v, n);
      sink += v[0];
    }
    t0 = (now() - t0) / calls;
    if (t0 < best) best = t0;
  }
  printf("| Z/2^64 %s, n = 10^18 | %.0f ns per call | (checksum %llu) |\n",
         what, best * 1e9, (unsigned long long)(sink & 0xff));
}

/* Z/2^64 at n = 10^18 for k carried values: a dense random k x k
** (xorshift), min and median of 'nr' batches. */
static void bench_u64_k (int k, int nr) {
  uint64_t *B = malloc((size_t)k * (size_t)k * sizeof *B), v[64], x = 88172645463325252ULL;
  const uint64_t n = 1000000000000000000ULL;
  double t[32], t0;
  int r, i, calls;
  if (nr > 32) nr = 32;
  for (i = 0; i < k*k; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; B[i] = x; }
  for (i = 0; i < k; i++) v[i] = (uint64_t)i;
  t0 = now();
  mat_u64_powapply_ui(k, B, v, v, n);
  t0 = now() - t0;
  calls = (int)(0.02 / (t0 > 1e-7 ? t0 : 1e-7)) + 1;
  for (r = 0; r < nr; r++) {
    t0 = now();
    for (i = 0; i < calls; i++) mat_u64_powapply_ui(k, B, v, v, n);
    t[r] = (now() - t0) / calls;
  }
  qsort(t, (size_t)nr, sizeof(double), cmpd);
  printf("| %d | %.2f | %.2f | (checksum %llu) |\n", k, t[0] * 1e6, t[nr / 2] * 1e6,
         (unsigned long long)(v[0] & 0xff));
  fflush(stdout);
  free(B);
}

/* ---------------------------------------------------------------------- */
/*
** Bostan-Mori ("A simple and fast algorithm for computing the N-th term of
** a linearly recurrent sequence", SOSA 2021) for one term of an order-d
** recurrence, every polynomial product as one GMP product by Kronecker
** substitution (coefficients packed at 2^b, b above twice the largest
** coefficient plus the carries and a sign bit).  With Q = E(x^2) + x O(x^2):
**   Q(x) Q(-x) = E(y)^2 - y O(y)^2   (two squarings of half the degree),
**   P(x) Q(-x) = one product, of which the even or odd half is kept;
** P and Q are cut to degree n before each step ([x^n] P/Q needs no more).
** Bench only: measured against the engine, not part of it.
*/

/* z = sum_(i<m) a[i] 2^(b i) (signed a[i]). */
static void kpack (mpz_ptr z, mpz_t *a, int m, size_t b, int step, int sgn) {
  int i;
  mpz_set_ui(z, 0);
  for (i = m - 1; i >= 0; i--) {
    mpz_mul_2exp(z, z, b);
    if (sgn && (i & 1)) mpz_sub(z, z, a[i * step]);  /* a(-x) */
    else mpz_add(z, z, a[i * step]);
  }
}

/* c[i] = the i-th signed slot of z (|slot| < 2^(b-1)), i < m; z is lost. */
static void kunpack (mpz_t *c, int m, mpz_ptr z, size_t b) {
  int i;
  for (i = 0; i < m; i++) {
    mpz_fdiv_r_2exp(c[i], z, b);
    mpz_fdiv_q_2exp(z, z, b);
    if (mpz_tstbit(c[i], b - 1)) {  /* negative: c - 2^b, and a borrow */
      mpz_t t;
      mpz_init_set_ui(t, 1);
      mpz_mul_2exp(t, t, b);
      mpz_sub(c[i], c[i], t);
      mpz_add_ui(z, z, 1);
      mpz_clear(t);
    }
  }
}

static size_t maxbits (mpz_t *a, int m) {
  size_t r = 1;
  int i;
  for (i = 0; i < m; i++) {
    size_t s = mpz_sizeinbase(a[i], 2);
    if (s > r) r = s;
  }
  return r;
}

static size_t lg (int m) { size_t r = 0; while ((1 << r) < m) r++; return r; }

/* b_(n+d-1) of b_m = sum_(j<d) c[j] b_(m-1-j), b_i = init[i] for i < d. */
static void bostan_mori (int d, const long *c, const long *init, unsigned long n,
                         mpz_ptr out) {
  mpz_t P[9], Q[9], E2[9], O2[9], U[18], z, w;
  int i, j, lp = d, lq = d + 1;
  n += (unsigned long)d - 1;
  mpz_inits(z, w, NULL);
  for (i = 0; i < 18; i++) mpz_init(U[i]);
  for (i = 0; i < 9; i++) { mpz_init(P[i]); mpz_init(Q[i]); mpz_init(E2[i]); mpz_init(O2[i]); }
  mpz_set_ui(Q[0], 1);
  for (j = 0; j < d; j++) mpz_set_si(Q[j + 1], -c[j]);
  for (i = 0; i < d; i++)  /* P = (sum b_i x^i) Q mod x^d */
    for (j = 0; j <= i; j++) {
      mpz_set_si(z, init[i - j]);
      mpz_addmul(P[i], z, Q[j]);
    }
  while (n > 0) {
    int le, lo, par = (int)(n & 1), lu;
    size_t bq, b;
    if ((unsigned long)lq > n + 1) lq = (int)n + 1;  /* cut to degree n */
    if ((unsigned long)lp > n + 1) lp = (int)n + 1;
    le = (lq + 1) / 2; lo = lq / 2;
    bq = maxbits(Q, lq);
    /* P(x) Q(-x): the kept half */
    b = maxbits(P, lp) + bq + lg(lp < lq ? lp : lq) + 2;
    kpack(z, P, lp, b, 1, 0);
    kpack(w, Q, lq, b, 1, 1);
    mpz_mul(z, z, w);
    lu = lp + lq - 1;
    kunpack(U, lu, z, b);
    lp = 0;
    for (i = par; i < lu; i += 2) mpz_swap(P[lp++], U[i]);
    /* Q(x) Q(-x) = E(y)^2 - y O(y)^2 */
    b = 2 * bq + lg(le) + 2;
    kpack(z, Q, le, b, 2, 0);
    mpz_mul(z, z, z);
    kunpack(E2, 2 * le - 1, z, b);
    if (lo > 0) {
      kpack(z, Q + 1, lo, b, 2, 0);
      mpz_mul(z, z, z);
      kunpack(O2, 2 * lo - 1, z, b);
    }
    for (j = 0; j < lq; j++) {
      if (j < 2 * le - 1) mpz_set(Q[j], E2[j]); else mpz_set_ui(Q[j], 0);
      if (j >= 1 && j - 1 < 2 * lo - 1) mpz_sub(Q[j], Q[j], O2[j - 1]);
    }
    n >>= 1;
  }
  mpz_set(out, P[0]);  /* Q(0) = 1 throughout */
  mpz_clears(z, w, NULL);
  for (i = 0; i < 18; i++) mpz_clear(U[i]);
  for (i = 0; i < 9; i++) { mpz_clear(P[i]); mpz_clear(Q[i]); mpz_clear(E2[i]); mpz_clear(O2[i]); }
}

/* Z/m, m = 10^9+7, at n = 10^18 for k carried values (a dense random
** k x k block plus the constant row and column): min and median of 'nr'
** batches, microseconds per call. */
static void bench_mod_k (int k, int nr) {
  int K = k + 1, r, i, calls;
  uint64_t *B = malloc((size_t)K * (size_t)K * sizeof *B), v[65], x = 88172645463325252ULL;
  const uint64_t m = 1000000007;
  double t[32], t0;
  mpz_t n;
  mpz_init_set_str(n, "1000000000000000000", 10);
  if (nr > 32) nr = 32;
  for (i = 0; i < K * K; i++) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    B[i] = i / K == k ? (i % K == k) : x % m;
  }
  for (i = 0; i < K; i++) v[i] = (uint64_t)i + 1;
  v[k] = 1;
  t0 = now();
  mat_mod_u64_powapply(K, B, v, v, n, m);
  t0 = now() - t0;
  calls = (int)(0.02 / (t0 > 1e-7 ? t0 : 1e-7)) + 1;
  for (r = 0; r < nr; r++) {
    t0 = now();
    for (i = 0; i < calls; i++) mat_mod_u64_powapply(K, B, v, v, n, m);
    t[r] = (now() - t0) / calls;
  }
  qsort(t, (size_t)nr, sizeof(double), cmpd);
  printf("| %d | %.2f | %.2f | (checksum %llu) |\n", k, t[0] * 1e6, t[nr / 2] * 1e6,
         (unsigned long long)(v[0] & 0xff));
  fflush(stdout);
  mpz_clear(n);
  free(B);
}

/*
** Order-d recurrences a_m = sum_i c_i a_(m-1-i) (c = 2, 3, 1, 4, 1, 5, 2, 6,
** the first d), the d x d companion matrix, v = (1, ..., d), and the
** 3-term recurrence of bench_rec3 (5 x 5, "order 3+2"): every output, and
** the first output alone (a loop returning one of its values).
*/
static void bench_order (int d, unsigned long n, int nr) {
  static const long c[8] = { 2, 3, 1, 4, 1, 5, 2, 6 };
  static const long R5[25] = { 14, 21, 4, 5, 6,  1, 0, 0, 0, 0,  0, 1, 0, 0, 0,
                               0, 0, 0, 1, 1,  0, 0, 0, 0, 1 };
  static const long Rv[5] = { 1, 2, 3, 4, 1 };
  long B[64], v[8];
  unsigned char one[8] = { 1, 0, 0, 0, 0, 0, 0, 0 };
  mpz_t e[8], f[8];
  double ta[16], to[16], tb[16], t0;
  long init[8];
  mpz_t bm;
  int k = d ? d : 5, i, j, r;
  if (nr > 16) nr = 16;
  if (d == 0) { memcpy(B, R5, sizeof R5); memcpy(v, Rv, sizeof Rv); }
  else
    for (i = 0; i < k; i++) {
      v[i] = i + 1;
      for (j = 0; j < k; j++) B[i*k + j] = i == 0 ? c[j] : (j == i - 1);
    }
  for (i = 0; i < k; i++) { mpz_init(e[i]); mpz_init(f[i]); }
  mpz_init(bm);
  for (i = 0; i < d; i++) init[i] = v[d - 1 - i];  /* v = (a_0, a_-1, ...) */
  for (r = 0; r < nr; r++) {
    t0 = now(); engine(k, B, v, n, e, NULL); ta[r] = now() - t0;
    t0 = now(); engine_need(k, B, v, n, f, one, NULL); to[r] = now() - t0;
    if (d) { t0 = now(); bostan_mori(d, c, init, n, bm); tb[r] = now() - t0; }
  }
  if (mpz_cmp(e[0], f[0]) != 0 || (d && mpz_cmp(e[0], bm) != 0)) {
    fprintf(stderr, "order %d mismatch\n", d);
    exit(1);
  }
  qsort(ta, (size_t)nr, sizeof(double), cmpd);
  qsort(to, (size_t)nr, sizeof(double), cmpd);
  qsort(tb, (size_t)nr, sizeof(double), cmpd);
  if (d)
    printf("| %d | %lu | %zu | %.1f / %.1f | %.1f / %.1f | %.1f / %.1f | %.2f |\n", d, n,
           mpz_sizeinbase(e[0], 2), ta[0] * 1e3, ta[nr / 2] * 1e3, to[0] * 1e3,
           to[nr / 2] * 1e3, tb[0] * 1e3, tb[nr / 2] * 1e3, tb[0] / to[0]);
  else
    printf("| 3 + index + constant (5 x 5) | %lu | %zu | %.1f / %.1f | %.1f / %.1f | - | - |\n", n,
           mpz_sizeinbase(e[0], 2), ta[0] * 1e3, ta[nr / 2] * 1e3, to[0] * 1e3, to[nr / 2] * 1e3);
  mpz_clear(bm);
  fflush(stdout);
  for (i = 0; i < k; i++) { mpz_clear(e[i]); mpz_clear(f[i]); }
}

static void bench_u64_mpz (void) {
  static const uint64_t B[4] = { 0, 1, 1, 1 };
  uint64_t v[2] = { 0, 1 };
  mpz_t n;
  double best = 1e99, t0;
  int r, i, calls = 200000;
  mpz_init_set_str(n, "1000000000000000000", 10);
  for (r = 0; r < 5; r++) {
    t0 = now();
    for (i = 0; i < calls; i++) { v[0] = (uint64_t)i; mat_u64_powapply(2, B, v, v, n); }
    t0 = (now() - t0) / calls;
    if (t0 < best) best = t0;
  }
  printf("| Z/2^64 2x2 Fibonacci, n = 10^18 as an mpz | %.0f ns per call | |\n", best * 1e9);
  mpz_clear(n);
}

/*
** Why the charpoly path squares polynomials the way it does: one squaring
** of a degree-(d-1) polynomial with N-bit coefficients, in units of one
** N-bit squaring, by (a) Kronecker substitution (one squaring of the packed
** number; packing and unpacking are not timed), (b) d squarings plus
** d(d-1)/2 squarings of pairwise sums, (c) evaluation at 2d-1 points and
** interpolation (mat_toom.c, everything timed; d = 3 in the engine is the
** hand-written Toom-3 of mat_mpz.c).
*/
static void bench_polysqr (size_t N) {
  gmp_randstate_t rs;
  mpz_t a[8], t, P, Q;
  int d, i, j, r;
  double one = 1e99, t0;
  gmp_randinit_default(rs);
  mpz_inits(t, P, Q, NULL);
  for (i = 0; i < 8; i++) { mpz_init(a[i]); mpz_urandomb(a[i], rs, N); }
  for (r = 0; r < reps; r++) {
    t0 = now(); mpz_mul(t, a[0], a[0]); t0 = now() - t0; if (t0 < one) one = t0;
  }
  for (d = 2; d <= 8; d++) {
    double kr = 1e99, sq = 1e99, tm = 1e99;
    size_t w = 2*N + 8;
    mat_Toom T;
    mpz_t e[15];
    int toom = d >= 3 && mat_toom_init(&T, d) == MAT_OK;
    for (i = 0; i < 15; i++) mpz_init(e[i]);
    mpz_set_ui(P, 0);
    for (i = d - 1; i >= 0; i--) { mpz_mul_2exp(P, P, w); mpz_add(P, P, a[i]); }
    for (r = 0; r < reps; r++) {
      t0 = now(); mpz_mul(Q, P, P); t0 = now() - t0; if (t0 < kr) kr = t0;
      t0 = now();
      for (i = 0; i < d; i++) mpz_mul(t, a[i], a[i]);
      for (i = 0; i < d; i++)
        for (j = i + 1; j < d; j++) { mpz_add(Q, a[i], a[j]); mpz_mul(t, Q, Q); }
      t0 = now() - t0; if (t0 < sq) sq = t0;
      if (toom) {
        t0 = now(); mat_toom_sqr(&T, a, e, NULL); t0 = now() - t0; if (t0 < tm) tm = t0;
      }
    }
    if (toom)
      printf("| %d | %zu | %.2f | %.2f (%d squarings) | %.2f (%d squarings) |\n", d - 1, N,
             kr / one, sq / one, d*(d+1)/2, tm / one, 2*d - 1);
    else
      printf("| %d | %zu | %.2f | %.2f (%d squarings) | - |\n", d - 1, N,
             kr / one, sq / one, d*(d+1)/2);
    if (toom) mat_toom_clear(&T);
    for (i = 0; i < 15; i++) mpz_clear(e[i]);
  }
  for (i = 0; i < 8; i++) mpz_clear(a[i]);
  mpz_clears(t, P, Q, NULL);
  gmp_randclear(rs);
}

int main (int argc, char **argv) {
  static const uint64_t F2[4] = { 0, 1, 1, 1 };
  static const uint64_t F3[9] = { 0, 1, 0, 1, 1, 0, 0, 0, 1 };
  static const uint64_t A2[4] = { 3, 5, 7, 11 };
  int quick = argc > 1 && strcmp(argv[1], "quick") == 0;
  if (quick) reps = 1;
  mp_set_memory_functions(cnt_alloc, cnt_realloc, cnt_free);
  if (argc > 1 && strcmp(argv[1], "u64") == 0) {
    static const int ks[] = { 2, 3, 4, 5, 6, 8, 12, 16, 24, 32, 48, 60, 64 };
    int nr = argc > 2 ? atoi(argv[2]) : 7;
    size_t j;
    printf("| k | us per call, min | median | |\n|---|---|---|---|\n");
    for (j = 0; j < sizeof ks / sizeof ks[0]; j++) bench_u64_k(ks[j], nr);
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "mod") == 0) {
    static const int ks[] = { 2, 3, 4, 8, 16, 32, 63 };
    int nr = argc > 2 ? atoi(argv[2]) : 7;
    size_t j;
    printf("| k | us per call, min | median | |\n|---|---|---|---|\n");
    for (j = 0; j < sizeof ks / sizeof ks[0]; j++) bench_mod_k(ks[j], nr);
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "polysqr") == 0) {
    printf("| degree | N bits | Kronecker | squares and pairwise sums | evaluation at 2d-1 points |\n");
    printf("|---|---|---|---|---|\n");
    bench_polysqr(2000000);
    bench_polysqr(100000);
    bench_polysqr(10000);
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "order") == 0) {
    static const int ds[] = { 0, 3, 4, 5, 6, 8 };
    int nr = argc > 2 ? atoi(argv[2]) : 5;
    size_t j;
    printf("| order | n | bits | every output, ms min / median | first output alone, ms min / median | Bostan-Mori (Kronecker), ms min / median | Bostan-Mori / first output alone (min) |\n");
    printf("|---|---|---|---|---|---|---|\n");
    for (j = 0; j < sizeof ds / sizeof ds[0]; j++) bench_order(ds[j], 1000000, nr);
    return 0;
  }
  if (argc > 3 && strcmp(argv[1], "fibmem") == 0) {  /* one F(n), for massif */
    static const long B3[9] = { 0, 1, 0,  1, 1, 0,  0, 0, 1 };
    static const long v3[3] = { 0, 1, 1 };
    static const unsigned char needa[3] = { 1, 0, 0 };
    unsigned long n = strtoul(argv[2], NULL, 10);
    mpz_t e[3];
    int i;
    for (i = 0; i < 3; i++) mpz_init(e[i]);
    if (strcmp(argv[3], "gmp") == 0) mpz_fib_ui(e[0], n);
    else if (strcmp(argv[3], "engine") == 0) engine_need(3, B3, v3, n, e, needa, NULL);
    printf("%zu bits\n", mpz_sizeinbase(e[0], 2));
    for (i = 0; i < 3; i++) mpz_clear(e[i]);
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "fib") == 0) {
    int nr = argc > 2 ? atoi(argv[2]) : 7;
    printf("| n | mpz_fib_ui ms min / med | engine, F(n) wanted, ms min / med | ratio min / med | peak memory ratio | engine, both wanted, ms min | ratio min / med | peak ratio | mpz_fib2_ui ms min | ratio | peak ratio |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
    bench_fib_need(100000, nr * 4);
    bench_fib_need(1000000, nr * 2);
    bench_fib_need(10000000, nr);
    bench_fib_need(100000000, nr > 3 ? 3 : nr);
    return 0;
  }
  bench_u64(2, F2, "2x2 Fibonacci");
  bench_u64(2, A2, "2x2 dense");
  bench_u64(3, F3, "3x3 Fibonacci + constant row");
  bench_u64_mpz();
  {
    static const long FB[9] = { 0, 1, 0,  1, 1, 0,  0, 0, 1 }, Fv[3] = { 0, 1, 1 };
    static const long RB[25] = { 14, 21, 4, 5, 6,  1, 0, 0, 0, 0,  0, 1, 0, 0, 0,
                                 0, 0, 0, 1, 1,  0, 0, 0, 0, 1 };
    static const long Rv[5] = { 1, 2, 3, 4, 1 };
    bench_bound(3, FB, Fv, 1000000, "Fibonacci 3x3");
    bench_bound(5, RB, Rv, 1000000, "3-term recurrence 5x5");
  }
  bench_fib(1000000);
  if (!quick) bench_fib(10000000);
  bench_rec3(quick ? 100000 : 1000000);
  printf("| degree | N bits | Kronecker | squares and pairwise sums | evaluation at 2d-1 points |\n");
  printf("|---|---|---|---|---|\n");
  bench_polysqr(quick ? 200000 : 2000000);
  bench_polysqr(100000);
  bench_polysqr(10000);
  return 0;
}
