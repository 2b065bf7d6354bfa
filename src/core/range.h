/*
** range.h -- the state of a cpm.range iterator, readable by the optimizer:
** a loop `for i in cpm.range(...)` is recognized by its iterator function
** (lua_tocfunction(L, idx) == range_next) and its state userdata.
*/
#ifndef range_h
#define range_h

#include <gmp.h>

#include "cpm.h"

#define RANGE_MT	"cpm.range"

enum {
  RANGE_INT,	/* Lua 5.4 integers: Lua's forprep/forloop, count precomputed */
  RANGE_FLT,	/* LuaJIT numbers: doubles, i = i + step until past limit */
  RANGE_BIG	/* bignums: exact, count precomputed */
};

typedef struct range_State {
  int kind;		/* RANGE_INT, RANGE_FLT or RANGE_BIG */
  int done;		/* no value left to produce */
  /* RANGE_INT: next value, step, values left after 'i' (as in lvm.c) */
  lua_Integer i, step;
  uint64_t count;
  /* RANGE_FLT: next value, step, limit */
  double fi, fstep, flimit;
  /* RANGE_BIG (mpz_init'ed for every kind): next value, step, values left
     after 'bi' */
  mpz_t bi, bstep, bcount;
} range_State;

/*
** The iterator: argument 1 is the state.  Returns the next value (an
** integer, a number on LuaJIT, or a new bignum), nil when done.
*/
int range_next (lua_State *L);

/* Registry key of the one iterator closure every cpm.range call returns
   on LuaJIT (where a C function value is a new closure each time): the
   bytecode front end compares a loop's iterator with it. */
#define RANGE_NEXT	"cpm.range.next"

/* The range state at 'idx', or NULL when that value is not one. */
range_State *range_test (lua_State *L, int idx);

/*
** Sets 'count' to the number of values the iterator will still produce and
** 'next' to the first of them (0 when none).  Returns 1, or 0 when the
** count cannot be told exactly (LuaJIT doubles beyond 2^53).  Raises
** nothing; the caller owns 'count' and 'next'.
*/
int range_remaining (const range_State *r, mpz_ptr count, mpz_ptr next);

/* Marks the state exhausted: the iterator returns nil from now on. */
void range_finish (range_State *r);

#endif
