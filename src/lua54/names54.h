/*
** names54.h -- the source names of a lowered loop's slots, from a Lua 5.4
** prototype's debug info (local variables by pc range, upvalue names).
*/
#ifndef names54_h
#define names54_h

#include "find54.h"

#if CPM_LUA54

/*
** The ir_Loop.names array (3 per op, ir.h) of loop 'lp' of 'p', whose body
** [first, end) lowered instruction pc to ops irat[pc].. (irat[pc] -1: no
** op starts there; irat[end] = lp->nops).  In the chunk's arena; NULL
** when 'p' has no local or upvalue names (stripped).  Raises only on
** memory errors.
*/
const char **names54_ops (lua_State *L, bc_Chunk *c, const bc_Proto *p,
                          const find54_Loop *lp, const int *irat,
                          int first, int end);

#endif

#endif
