/*
** rewrite54.h -- the guard call in front of a planned Lua 5.4 loop
** (rewrite54.c).
*/
#ifndef rewrite54_h
#define rewrite54_h

#include "find54.h"

#if CPM_LUA54

/*
** Inserts the guard call of loop 'lp' (planned as 'pl'): after its
** FORPREP, behind a check that the loop runs at least 'limit' (>= 2)
** times, or before its TFORPREP; the guard is entry 'id' of the hook
** table, which is upvalue 'hook' of 'p'.  Returns NULL, or why the loop
** cannot be rewritten (nothing changed then).  Raises only on memory
** errors.
*/
const char *rewrite54_loop (lua_State *L, bc_Chunk *c, bc_Proto *p,
                            const find54_Loop *lp, const plan_Plan *pl,
                            int hook, int id, lua_Integer limit);

#endif

#endif
