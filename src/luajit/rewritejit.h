/*
** rewritejit.h -- the count check and guard call in front of a planned
** LuaJIT loop (rewritejit.c).
*/
#ifndef rewritejit_h
#define rewritejit_h

#include "findjit.h"

#if CPM_LUAJIT

/* Indices of the hook table besides the guards (1 .. 254): the function
   giving the running function's environment (for plans that read
   globals) and cpm.range's iterator (for generic loops). */
#define REWRITEJIT_ENVFN	0
#define REWRITEJIT_RANGENEXT	255

/*
** Inserts the count check and guard call of loop 'lp' (planned as 'pl')
** before its head; the guard is entry 'id' of the hook table, which is
** upvalue 'hook' of 'p'; upvalue 'tyuv' holds the function type (for
** the checks that test types: while and repeat loops, and numeric for
** loops with objlimit).  The guard is called only when the loop runs at
** least about 'limit' times (the guard counts exactly); a loop whose
** value guard_objslot holds no number at entry (a cpm.big), from about
** 'objlimit' times when 0 < objlimit < limit.  Returns NULL, or why the
** loop cannot be rewritten (nothing changed then, but for a string
** constant it may have added).  Raises only on memory errors.
*/
const char *rewritejit_loop (jitbc_Chunk *c, jitbc_Proto *p,
                             const findjit_Loop *lp, const plan_Plan *pl,
                             int hook, int tyuv, int id, double limit,
                             double objlimit);

/* Does the check of loop 'lp' call type (rewritejit_loop's 'tyuv')? */
int rewritejit_typetests (const jitbc_Proto *p, const findjit_Loop *lp,
                          const plan_Plan *pl, double limit, double objlimit);

#endif

#endif
