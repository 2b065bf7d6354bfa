/*
** namesjit.h -- the source names of a lowered loop's slots, from a LuaJIT
** prototype's debug info (varinfo and upvalue names).
*/
#ifndef namesjit_h
#define namesjit_h

#include "findjit.h"

#if CPM_LUAJIT

/*
** The name of the variable in slot 'reg' (0..249) of 'p' at dump
** instruction index 'i' (the variable active there, varinfo's pc i + 1),
** or NULL: an internal variable, no variable, or a stripped dump.  The
** string is the dump's, NUL-terminated.
*/
const char *namesjit_local (const jitbc_Proto *p, int reg, int i);


/*
** The ir_Loop.names array (3 per op, ir.h) of loop 'lp' of 'p', whose body
** [first, end) lowered instruction i to ops irat[i].. (-1: no op starts
** there; irat[end] = lp->nops).  In the chunk's arena; NULL when the dump
** is stripped.
*/
const char **namesjit_ops (jitbc_Chunk *c, const jitbc_Proto *p,
                           const findjit_Loop *lp, const int *irat,
                           int first, int end);

#endif

#endif
