/*
** mat_lua.c -- internal Lua entry points of the matrix-power engine, for
** the specs and benchmarks (placeholder).
*/
#include "cpm.h"

void mat_open (lua_State *L, int mod, int cfg) {
  (void)L; (void)mod; (void)cfg;
}
