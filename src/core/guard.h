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
** A call site that falls back this many times in a row, each time for a
** reason of the values' types or sizes (not a short loop, not a memory
** error), stops calling its guard: the guard replaces its own entry in its
** hook table by false, which the rewritten code tests before the call.
** The loop then always runs as written, as it would after a fallback, and
** stops paying for the attempt (a Fibonacci over floats past 2^53, say).
*/
#define GUARD_FALLBACKS_TO_STOP	8

/* Where a guard is called from and how (guard_pushsite). */
typedef struct guard_Site {
  lua_Integer iters_limit;
  int strict;		/* raise instead of returning false with a reason */
  int prepared;		/* numeric for: control values as Lua 5.4's FORPREP
			   left them (count_fornumprep), not as written */
  int hooks;		/* stack index of the table whose entry 'id' is this
			   guard (to disable it), or 0 */
  lua_Integer id;
  const char *where;	/* names the loop in errors ("chunk:line") */
} guard_Site;

/*
** Pushes a guard closure for the plan at index 'plan'; 'cfg' is the index
** of the module configuration.  Raises only on memory errors.
*/
void guard_pushsite (lua_State *L, int cfg, int plan, const guard_Site *s);

/* guard_pushsite with control values as written and no hook table. */
void guard_push (lua_State *L, int cfg, int plan, lua_Integer iters_limit,
                 int strict, const char *where);

#endif
