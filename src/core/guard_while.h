/*
** guard_while.h -- the count of a while or repeat loop at its guard's
** entry (guard_while.c).
*/
#ifndef guard_while_h
#define guard_while_h

#include "plan.h"

/*
** For a plan of a while or repeat loop (p->w.active): counts the loop from
** the guard's arguments (its inputs from stack index 'ibase' on, see
** guard.h) with count_while, and replaces arguments 1 to 3 by the control
** values, as written, of a numeric for loop that runs as many times: the
** guard then goes on as for any numeric for (count_fornum).  Returns NULL,
** or why the loop must run as written.  Never raises.
*/
const char *guard_while_control (lua_State *L, const plan_Plan *p,
                                 int ibase);

#endif
