/*
** guard_gf2.h -- the guard's GF(2) ring (guard_gf2.c): computes a
** PLAN_GF2 plan's final values from the actual values at loop entry.
*/
#ifndef guard_gf2_h
#define guard_gf2_h

#include <gmp.h>

#include "plan.h"

/*
** 'p' is a PLAN_GF2 plan; its atoms are on the stack from 'abase', its
** inputs from 'ibase'; 'n' (>= 1) is the iteration count; 'cache' is the
** guard's upvalue index where the engine's polynomial is kept between
** calls (nil at first).  Pushes true and
** the outputs and returns their number plus one; or pushes nothing, sets
** *why and returns 0 (run the loop as written).  Raises only on memory
** errors.
*/
int guard_gf2 (lua_State *L, const plan_Plan *p, int abase, int ibase,
               mpz_srcptr n, int cache, const char **why);

#endif
