/*
** count.h -- how many times a loop runs and with which loop variable,
** exactly as the VM would compute it (count.c).
*/
#ifndef count_h
#define count_h

#include <gmp.h>

#include "cpm.h"

/* Types of values as the guard sees them. */
typedef enum vtype {
  VT_NONE,	/* not a value (yet) */
  VT_INT,	/* a Lua 5.4 integer */
  VT_FLT,	/* a Lua 5.4 float; every LuaJIT number */
  VT_BIG,	/* a cpm.big */
  VT_OTHER	/* anything else */
} vtype;

vtype count_vtype (lua_State *L, int idx);

typedef enum count_Status {
  COUNT_OK,		/* the loop runs 'n' times (possibly 0) */
  COUNT_UNKNOWN		/* values the guard does not handle: run the loop */
} count_Status;

typedef struct count_Loop {
  vtype itype;		/* type of the loop variable */
  uint64_t n;		/* iterations, when 'nbig' is 0 */
  int n64;		/* 1 when the count is 2^64 + n (Lua 5.4 only) */
  int nbig;		/* 1 when the count is in 'bign' (cpm.range) */
  mpz_ptr bign;		/* the count, for bignum ranges (caller's) */
  /* the first value of the loop variable and the step: */
  lua_Integer istart, istep;	/* VT_INT */
  double fstart, fstep;		/* VT_FLT */
  mpz_ptr bstart, bstep;	/* VT_BIG (caller's) */
} count_Loop;

/*
** Numeric for with control values at stack indices first..first+2.
** Never raises; values the VM would reject or loops whose exact count is
** not known give COUNT_UNKNOWN (the original loop then runs and does what
** it does).
*/
count_Status count_fornum (lua_State *L, int first, count_Loop *c);

/*
** Numeric for whose control values at first..first+2 are as Lua 5.4's
** FORPREP left them for a loop that runs (lvm.c, forprep): an integer loop
** keeps its initial value and step and holds the iteration count minus one,
** as an unsigned integer, in place of the limit; a float loop holds the
** three values converted to floats.  The step's subtype tells which, as
** FORLOOP decides.  Never raises.
*/
count_Status count_fornumprep (lua_State *L, int first, count_Loop *c);

/*
** Generic for over cpm.range: iterator, state and closing value (which must
** be nil) at first..first+2.
** The caller provides three initialized mpz for 'bign', 'bstart', 'bstep'.
*/
count_Status count_forrange (lua_State *L, int first, count_Loop *c);

#if CPM_LUA54
/*
** Lua 5.4's integer for loop (lvm.c, forprep): the unsigned count of the
** values after the first, for a loop that runs at least once ('init' not
** past the clipped 'limit') with 'step' != 0.  Used by the guard and by
** cpm.range, so that both count exactly as the VM does.
*/
uint64_t count_intsteps (lua_Integer init, lua_Integer limit,
                         lua_Integer step);
#endif

/*
** A while or repeat loop whose counter x is stepped by s once per pass and
** compared with an invariant bound b (plan_while.c): the loop ends when
** the outcome of 'x cmp b' ('left'; else 'b cmp x', cmp an ir_Cmp: IR_EQ,
** IR_LT or IR_LE) is 'exit'; a while loop tests before each pass, a
** repeat loop after it (so it sees x + s after the first).
*/
typedef struct count_While {
  int cmp, left, exit, repeat;
  int negate;		/* the update is x - s, not x + s */
} count_While;

/*
** The number of passes of such a loop, from the values of x, b and s at
** stack indices 'x', 'b', 's', into c->n (c->itype: x's type; c->n64 and
** c->nbig 0).  COUNT_OK only when the count is exactly the VM's: numbers
** only (strings, tables, cpm.big: the comparison or the update may raise
** or call a metamethod), integers stepped without wrapping before the
** test fails, floats and mixed ones only while every value of x is an
** integer below 2^53 (repeated addition is then exact, and Lua 5.4
** compares integers with floats exactly: lvm.c, LTintfloat, LEintfloat,
** luaV_equalobj); a loop that never ends or ends only by wrapping around
** gives COUNT_UNKNOWN.  Never raises.
*/
count_Status count_while (lua_State *L, const count_While *w, int x, int b,
                          int s, count_Loop *c);

/* Is the count below 'limit'? */
int count_below (const count_Loop *c, uint64_t limit);

/*
** A read-only mpz holding the count, built over 'limbs' (no allocation);
** valid while 'limbs' and the loop are.
*/
mpz_srcptr count_mpz (const count_Loop *c, mp_limb_t limbs[4], mpz_ptr tmp);

#endif
