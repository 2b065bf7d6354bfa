/*
** big.h -- the bignum (cpm.big) as the rest of the C core sees it: a full
** userdata holding one mpz_t, with metatable BIG_MT in the registry.
*/
#ifndef big_h
#define big_h

#include <gmp.h>

#include "cpm.h"

/* The oldest GMP cpm works with: from 6.2 on, mpz_init allocates nothing,
   which big.c relies on (no mpz on the C stack across a raise, a bignum
   pushed before GMP is called; see big_push). */
#define BIG_GMP_MIN	60200
#if !defined(__GNU_MP_RELEASE) || __GNU_MP_RELEASE < BIG_GMP_MIN
#error "cpm needs GMP 6.2 or later"
#endif

#define BIG_MT	"cpm.big"

/* The bignum at 'idx', or NULL when that value is not a bignum. */
mpz_ptr big_test (lua_State *L, int idx);

/* The bignum at 'idx'; raises a `bad argument` error when it is not one. */
mpz_ptr big_check (lua_State *L, int idx);

/*
** Pushes a new bignum of value 0 and returns it.  Raises only a memory
** error (before anything is allocated by GMP), also when GMP's reserve is
** spent and cannot be taken back (gmpmem.h).
*/
mpz_ptr big_push (lua_State *L);

/*
** Raises "cpm: result of <what> would exceed the bignum size limit (N bits)"
** when 'bits' exceeds the limit of 'cfg' (or what GMP itself can hold), and
** CPM_MSG_NOMEM when that much memory cannot be had (gmpmem_check);
** returns normally otherwise.  Call it before any GMP call that can grow.
*/
void big_checkbits (lua_State *L, const cpm_Config *cfg, uint64_t bits,
                    const char *what);

/* Sets 'z' to 'i' exactly, whatever the width of long. */
void big_setint (mpz_ptr z, lua_Integer i);

/* Stores 'z' in '*out' and returns 1 when it fits a lua_Integer; else 0. */
int big_getint (mpz_srcptr z, lua_Integer *out);

/* The double nearest to 'z' (ties to even); +-inf beyond the range. */
double big_todouble (mpz_srcptr z);

/* Number of bits of |z| (0 for 0). */
uint64_t big_bits (mpz_srcptr z);

#endif
