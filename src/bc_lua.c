/*
** bc_lua.c -- internal Lua entry points of the Lua 5.4 chunk reader and
** writer, for the specs (placeholder).
*/
#include "cpm.h"

void bc_open (lua_State *L, int mod, int cfg) {
  (void)L; (void)mod; (void)cfg;
}
