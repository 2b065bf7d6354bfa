/*
** plan_gf2.h -- the planner's second try: loop bodies of xor, shifts, and
** masks over Lua 5.4 integers, which are affine over GF(2) (plan_gf2.c).
*/
#ifndef plan_gf2_h
#define plan_gf2_h

#include "mat_gf2.h"
#include "plan.h"

/* Most 64-bit words of state a GF(2) plan may carry: the engine's. */
#define PLAN_GF2_MAXWORDS	MAT_GF2_KMAX

/*
** Plans 'ir' (already validated by plan_make) over GF(2): every value the
** body computes from the loop-carried values must be one of x ~ y, x & y,
** x | y, ~x, x << c, x >> c with c invariant.  On success pushes a plan
** userdata with ring PLAN_GF2 and returns its plan; on refusal pushes
** nothing, fills 'why' and returns NULL.  Raises only on memory errors.
** (Whether & and | of two loop-carried values are affine depends on the
** shift counts: the guard decides, from the values at entry.)
*/
plan_Plan *plan_gf2_make (lua_State *L, const ir_Loop *ir, plan_Refusal *why);

#endif
