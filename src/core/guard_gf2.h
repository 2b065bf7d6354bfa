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

/* Registry field holding LuaJIT's own bit library functions, by name
   (set by cpm.core._bitlib from lua/cpm/init.lua, which recognizes them
   by jit.util.funcinfo's fast-function id and jit.vmdef's names): a
   lowered call (ir.h, IR_FNS) is computed only when the function it calls
   is the one kept here. */
#define GUARD_GF2_BITLIB	"cpm.bitlib"

#endif
