/*
** module.c -- the entry point: luaopen_cpm_core builds the module table
** (loaded by lua/cpm/init.lua as "cpm.core") and lets each part register.
*/
#include <string.h>

#include "cpm.h"
#include "gmpmem.h"


int cpm_nomem (lua_State *L) {
  lua_pushliteral(L, CPM_MSG_NOMEM);
  return lua_error(L);
}


int cpm_ismemerror (lua_State *L, int status) {
  const char *msg;
  if (status == LUA_ERRMEM)
    return 1;
  msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  return msg != NULL && strstr(msg, CPM_MSG_NOMEM) != NULL;
}


#if defined(CPM_ASAN_BUFFERS)
#include <stdlib.h>

#define ASANBUF_MT	"cpm.asanbuffer"

static int asanbuf_gc (lua_State *L) {
  void **box = (void **)lua_touserdata(L, 1);
  free(*box);
  *box = NULL;
  return 0;
}


void *cpm_newbuffer (lua_State *L, size_t size) {
  void **box = (void **)cpm_newuserdata(L, sizeof(void *));
  *box = NULL;
  luaL_newmetatable(L, ASANBUF_MT);
  /* a memory error between creating the metatable and setting __gc
     leaves it without one: set it whenever it is missing, before any box
     gets the metatable (Lua 5.4 marks an object for finalization only
     when its metatable has __gc at that moment) */
  lua_getfield(L, -1, "__gc");
  if (lua_isnil(L, -1)) {
    lua_pushcfunction(L, asanbuf_gc);
    lua_setfield(L, -3, "__gc");
  }
  lua_pop(L, 1);
  lua_setmetatable(L, -2);
  *box = malloc(size > 0 ? size : 1);
  if (*box == NULL)
    cpm_nomem(L);
  return *box;
}
#endif


void cpm_setfuncs (lua_State *L, int tidx, int cidx, const luaL_Reg *l) {
  tidx = cpm_absindex(L, tidx);
  cidx = cpm_absindex(L, cidx);
  for (; l->name != NULL; l++) {
    lua_pushvalue(L, cidx);
    lua_pushcclosure(L, l->func, 1);
    lua_setfield(L, tidx, l->name);
  }
}


#if !CPM_LUA54
void *cpm_testudata (lua_State *L, int idx, const char *tname) {
  void *p = lua_touserdata(L, idx);
  int same;
  if (p == NULL || lua_islightuserdata(L, idx) || !lua_getmetatable(L, idx))
    return NULL;
  luaL_getmetatable(L, tname);
  same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same ? p : NULL;
}
#endif


CPM_EXPORT int luaopen_cpm_core (lua_State *L);

/* Stack: pushes the module table. */
CPM_EXPORT int luaopen_cpm_core (lua_State *L) {
  cpm_Config *cfg;
  gmpmem_init();
  lua_newtable(L);
  cfg = (cpm_Config *)cpm_newuserdata(L, sizeof(cpm_Config));
  cfg->maxbits = CPM_DEFAULT_MAXBITS;
  big_open(L, -2, -1);
  range_open(L, -2, -1);
  bc_open(L, -2, -1);
  mat_open(L, -2, -1);
  plan_open(L, -2, -1);
  opt54_open(L, -2, -1);
  jitbc_open(L, -2, -1);
  optjit_open(L, -2, -1);
  reasons_open(L, -2, -1);
  runner_open(L, -2, -1);
  lua_pop(L, 1);  /* configuration: kept alive by the upvalues */
#if CPM_LUA54
  lua_pushliteral(L, "Lua 5.4");
#else
  lua_pushliteral(L, "LuaJIT");
#endif
  lua_setfield(L, -2, "vm");
  return 1;
}
