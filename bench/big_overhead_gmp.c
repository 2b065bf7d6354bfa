/*
** big_overhead_gmp.c -- the bare GMP cost of a + b and a * b, the yardstick
** for bench/big_overhead.lua.  Two figures per operation: into a result
** allocated once (the bare call), and into a result initialized and
** cleared each time (what a new bignum per operation costs GMP at least).
** Build: cc -O2 bench/big_overhead_gmp.c -o /tmp/big_overhead_gmp -lgmp
*/
#include <stdio.h>
#include <time.h>

#include <gmp.h>

static double now (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Nanoseconds per operation, run for about 'budget' seconds. */
static double measure (int mul, int fresh, mpz_srcptr a, mpz_srcptr b,
                       double budget) {
  mpz_t r;
  long n = 1, i;
  double t;
  mpz_init(r);
  for (;;) {
    double t0 = now();
    for (i = 0; i < n; i++) {
      if (fresh) {
        mpz_t f;
        mpz_init(f);
        if (mul) mpz_mul(f, a, b); else mpz_add(f, a, b);
        mpz_clear(f);
      }
      else if (mul) mpz_mul(r, a, b);
      else mpz_add(r, a, b);
    }
    t = now() - t0;
    if (t > budget) break;
    n *= 2;
  }
  mpz_clear(r);
  return t / n * 1e9;
}

int main (void) {
  static const unsigned long sizes[] = {1000, 1000000};
  gmp_randstate_t rs;
  int s;
  gmp_randinit_default(rs);
  gmp_randseed_ui(rs, 42);
  printf("bits\top\tbare_ns\tfresh_ns\n");
  for (s = 0; s < 2; s++) {
    mpz_t a, b;
    int mul;
    mpz_init(a);
    mpz_init(b);
    mpz_urandomb(a, rs, sizes[s]);
    mpz_urandomb(b, rs, sizes[s]);
    mpz_setbit(a, sizes[s] - 1);
    mpz_setbit(b, sizes[s] - 1);
    for (mul = 0; mul <= 1; mul++)
      printf("%lu\t%s\t%.1f\t%.1f\n", sizes[s], mul ? "*" : "+",
             measure(mul, 0, a, b, 0.5), measure(mul, 1, a, b, 0.5));
    mpz_clear(a);
    mpz_clear(b);
  }
  gmp_randclear(rs);
  return 0;
}
