/*
** guard.h -- the runtime guard: the C function called at a planned loop's
** entry, which either computes the loop's final values or says "run the
** original loop".
**
** Call:    guard(c1, c2, c3, in_1 .. in_nin)
**          c1..c3 are the loop's control values (start, limit, step; or the
**          iterator, state and closing value (nil) of a generic for over
**          cpm.range; for a while or repeat loop the counter's value,
**          nil, nil: guard_while.h), in_i the entry
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
** Loops with fewer iterations than iters_limit run as written.  The
** default is the break-even of the guard call against the loop as
** written, measured by bench/crossover.lua and bench/neverslower.lua
** (doc/performance.md) and modelled by plan size.  With k the plan's
** state values and b the values its body computes, the guard call costs
** about G0 + GP k^P + GB b units and an iteration of the loop as written
** GK k + b + G1 units, so
**     default = SCALE * (G0 + GP k^P + GB b) / (GK k + b + G1),
** rounded up, at least GUARD_MIN_ITERS_LIMIT.  Lua 5.4 interprets each
** move and each operation of an iteration (GK = 1); the units fit the
** measured break-evens of integer loops (64 to 96 for k = 2, b = 1; 32 for
** k = 4, b = 9; about 75, 190 and 380 for k = 8, 16 and 24, b = 1), plus
** 10%: 120 for `s = s + i`.  LuaJIT runs a short loop compiled, its moves
** for free (GK = 0) and an iteration in about a nanosecond, so there the
** matrix power pays off much later: about 4000, 16000 and 45000
** iterations for k = 2, 4 and 8 (b = 1), fitted by k^1.7, plus 20%.
*/
#if CPM_LUAJIT
#define GUARD_SCALE	1.2
#define GUARD_G0	0.0
#define GUARD_GP	2462.0
#define GUARD_P		1.7
#define GUARD_GB	0.0
#define GUARD_GK	0.0
#define GUARD_G1	1.0
#else
#define GUARD_SCALE	1.1
#define GUARD_G0	300.0
#define GUARD_GP	0.7
#define GUARD_P		3.0
#define GUARD_GB	20.0
#define GUARD_GK	1.0
#define GUARD_G1	0.0
#endif
#define GUARD_MIN_ITERS_LIMIT	16
/*
** On LuaJIT the default limit above is a loop over numbers, compiled.  A
** loop whose values are cpm.big numbers runs each operation as a
** metamethod call and an allocation, about 0.2 us (Fibonacci at n = 100:
** 18 us as written, 2 us computed): the LuaJIT bytecode front end calls
** the guard of a numeric for, while or repeat loop from this many
** iterations when a loop value (guard_objslot) holds a userdata at entry
** (rewritejit.c), unless the user set iters_limit.
*/
#define GUARD_OBJ_ITERS_LIMIT	16
#define GUARD_MAX_ITERS_LIMIT	((lua_Integer)1 << 30)

/*
** A call site that falls back this many times in a row, each time for a
** reason of the values' types or sizes (not a short loop, not a memory
** error), stops calling its guard: the guard replaces its own entry in its
** hook table by false, which the rewritten code tests before the call.
** The loop then always runs as written, as it would after a fallback, and
** stops paying for the attempt (a Fibonacci over floats past 2^53, say).
*/
#define GUARD_FALLBACKS_TO_STOP	8

/* The default iters_limit of a loop planned as 'p' (see above).  */
lua_Integer guard_defaultlimit (const plan_Plan *p);

/* The loop value whose type the LuaJIT bytecode front end tests to ask
   the guard from GUARD_OBJ_ITERS_LIMIT iterations (a cpm.big there: see
   above): a numeric for loop's first output, a while or repeat loop's
   first output other than its counter, when it is an input (a slot of
   p's frame); -1 when there is none. */
int guard_objslot (const plan_Plan *p);

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
  int stats;		/* stack index of the table (the chunk's hook table)
			   whose field GUARD_STATSKEY, made when missing, gets
			   this site's record at [id]; or 0 */
  int record;		/* stack index of the site's record to count in (a
			   branch plan's path guards share their site's), or
			   0 for a new one */
  int onfallback;	/* stack index of the user's on_fallback function,
			   or 0 */
} guard_Site;

/*
** The record of a call site (doc/manual.md, cpm.stats): a table
** { where = "chunk:line", counts = <userdata: lua_Integer[GUARD_NCOUNTS]>,
**   reasons = { [reason] = n } }, an upvalue of its guard (and in the
** chunk's GUARD_STATSKEY table), so that it outlives a guard that gave up.
** The counts are C integers, which the guard bumps for the price of a
** store (the table's fields would cost it hashed lookups on every call).
** GUARD_BELOW_LIMIT counts only the calls the guard saw: the rewritten
** code runs most short loops without calling it.
*/
#define GUARD_STATSKEY	"stats"
enum { GUARD_COMPUTED, GUARD_FELL_BACK, GUARD_BELOW_LIMIT, GUARD_NCOUNTS };

/*
** Counts one call of the site whose record is at 'record': 'which' one of
** GUARD_COMPUTED.., 'why' (or NULL) the reason of a fallback.  Raises only
** on memory errors.
*/
void guard_count (lua_State *L, int record, int which, const char *why);

/*
** Calls the user's on_fallback at 'fn' (nothing when it is nil) as
** fn(where, why, count), count the iterations of 'c' (a number, a cpm.big
** past 2^53, nil when 'c' is NULL).  Errors of fn propagate.
*/
struct count_Loop;
void guard_onfallback (lua_State *L, int fn, const char *where,
                       const char *why, const struct count_Loop *c);

/*
** Pushes a guard closure for the plan at index 'plan'; 'cfg' is the index
** of the module configuration.  Raises only on memory errors.
*/
void guard_pushsite (lua_State *L, int cfg, int plan, const guard_Site *s);

#if CPM_LUAJIT
/*
** *r = a aop b (a alone for IR_UNM) as LuaJIT computes numbers: doubles,
** '%' as a - floor(a/b) b (LuaJIT's lj_vm_foldarith).  Returns 0 for an
** operator LuaJIT does not have.  The guard's invariants and the branch
** conditions both use it.
*/
int guard_jitarith (int aop, double a, double b, double *r);
#endif

/*
** Makes room for a computed loop's results (nout outputs) and pushes
** true, the first of them; raises "too many loop results" when the stack
** cannot grow.
*/
void guard_pushok (lua_State *L, int nout);

/*
** Pushes x aop y (x alone for a unary operator) for the values at stack
** indices x and y as the VM computes them, when both are numbers and the
** operation can neither raise nor call a metamethod; returns 0, pushing
** nothing, otherwise: an operand that is no number, an integer '//' or
** '%' by zero, a bitwise operation on a float with no integer value (Lua
** 5.4 manual, 3.4.1 and 3.4.2), an operator LuaJIT lacks.  Invariants of
** branch conditions, nests and while steps are evaluated with it.
*/
int guard_numarith (lua_State *L, int aop, int x, int y);

/* guard_pushsite with control values as written, no hook table, no
   record kept but the guard's own, no on_fallback. */
void guard_push (lua_State *L, int cfg, int plan, lua_Integer iters_limit,
                 int strict, const char *where);

#endif
