/*
** optimizejit.c -- cpm.optimize on LuaJIT: the bytecode front end.
*/
#include "jitbc.h"

void optjit_open (lua_State *L, int mod, int cfg) {
  (void)L; (void)mod; (void)cfg;
}
