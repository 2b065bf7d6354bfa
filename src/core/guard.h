/*
** guard.h -- the runtime guard: the C function called at a planned loop's
** entry, which either computes the loop's final values or says "run the
** original loop".
**
** Call:    guard(c1, c2, c3, in_1 .. in_nin)
**          c1..c3 are the loop's control values (start, limit, step; or the
**          iterator, state and closing value (nil) of a generic for over
**          cpm.range), in_i the entry
**          values of the plan's input slots (plan.in), in that order.
** Returns: true, out_1 .. out_nout   the final values of the plan's
**                                    outputs (plan.out), in that order
**          false [, reason]          run the original loop (a reason when
**                                    it was not simply too short)
*/
#ifndef guard_h
#define guard_h

#include "plan.h"

/*
** Loops with fewer iterations run as written.  Measured by
** bench/crossover.lua (doc/performance.md) on each VM: the limit that
** minimizes the worst slowdown over short number and bignum loops.
** LuaJIT runs a short loop of doubles compiled, at about a nanosecond an
** iteration, so there the matrix power pays off later.
*/
#if CPM_LUAJIT
#define GUARD_DEFAULT_ITERS_LIMIT	384
#else
#define GUARD_DEFAULT_ITERS_LIMIT	64
#endif

/*
** Pushes a guard closure for the plan at index 'plan'; 'cfg' is the index
** of the module configuration; 'where' names the loop in strict-mode
** errors ("chunk:line").  With 'strict' the guard raises instead of
** returning false with a reason.
*/
void guard_push (lua_State *L, int cfg, int plan, lua_Integer iters_limit,
                 int strict, const char *where);

#endif
