/*
** bench/gf2_bench.c -- the GF(2) engine alone (src/core/mat_gf2.c), no
** Lua: xorshift64 and xoshiro256 jumped by 10^18, with the polynomial kept
** between calls as the guard keeps it.  Build and run by hand:
**   cc -O2 -std=c11 -Isrc/core bench/gf2_bench.c src/core/mat_gf2.c -lgmp \
**     -o gf2_bench && ./gf2_bench
*/
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <gmp.h>

#include "mat_gf2.h"

static void xorshift64 (void *ud, const uint64_t *in, uint64_t *out) {
  uint64_t x = in[0];
  (void)ud;
  x ^= x << 13; x ^= x >> 7; x ^= x << 17;
  out[0] = x;
}

static void xoshiro256 (void *ud, const uint64_t *s, uint64_t *o) {
  uint64_t t = s[1] << 17, s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
  (void)ud;
  s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t;
  s3 = (s3 << 45) | (s3 >> 19);
  o[0] = s0; o[1] = s1; o[2] = s2; o[3] = s3;
}

/* Microseconds of CPU time per call, 'reps' calls from varying states. */
static double run (int k, mat_gf2_Map T, long reps, mpz_srcptr n) {
  uint64_t *words = (uint64_t *)malloc(mat_gf2_cachewords(k) * 8), v[4];
  uint64_t acc = 0;
  mat_gf2_Cache cache;
  clock_t t0;
  long r;
  int i;
  if (words == NULL) return -1;
  mat_gf2_cacheinit(&cache, k, words);
  t0 = clock();
  for (r = 0; r < reps; r++) {
    for (i = 0; i < k; i++) v[i] = UINT64_C(0x9E3779B97F4A7C15) * (uint64_t)(r + i + 1);
    if (mat_gf2_powapply(k, T, NULL, v, n, &cache, NULL) != MAT_OK) return -1;
    acc ^= v[0];
  }
  free(words);
  if (acc == 42) puts("");  /* keeps the results alive */
  return (double)(clock() - t0) / CLOCKS_PER_SEC / (double)reps * 1e6;
}

int main (void) {
  mpz_t n;
  mpz_init_set_str(n, "1000000000000000000", 10);
  printf("xorshift64 by 10^18: %.2f us\n", run(1, xorshift64, 200000, n));
  printf("xoshiro256 by 10^18: %.2f us\n", run(4, xoshiro256, 20000, n));
  mpz_clear(n);
  return 0;
}
