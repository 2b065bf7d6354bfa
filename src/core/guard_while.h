/*
** guard_while.h -- the count of a while or repeat loop at its guard's
** entry (guard_while.c).
*/
#ifndef guard_while_h
#define guard_while_h

#include "plan.h"

/*
** For a plan of a while or repeat loop (p->w.active): counts the loop from
** the guard's arguments (the counter's entry value first, then nil, nil
** and the inputs from stack index 'ibase' on, see guard.h) with
** count_while, and replaces arguments 1 to 3 by the control values, as
** written, of the numeric for loop whose variable takes the counter's
** values, x0, x0 + s, ..., as many times: the guard then goes on as for
** any numeric for (count_fornum).  Returns NULL, or why the loop must run
** as written.  Never raises.
*/
const char *guard_while_control (lua_State *L, const plan_Plan *p,
                                 int ibase);

/*
** Pushes the value a while loop's counter has after the loop counted as
** 'c' (by count_fornum over the control values guard_while_control made):
** start + count * step, which neither wraps nor rounds (count_while made
** sure).  Raises only on memory errors.
*/
struct count_Loop;
void guard_while_pushend (lua_State *L, const struct count_Loop *c);

#endif
