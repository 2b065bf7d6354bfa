/*
** runner.c -- the C part of the command-line runner (lua/cpm/auto.lua):
** wrappers of load, loadfile, dofile, loadstring and the module searcher
** that a debug hook or debug.getinfo cannot tell from the VM's own.
**
** A wrapper written in Lua shows its own lines to a line hook (Lua 5.4's
** testes/db.lua traces `load(s)()` under one and expects only the lines of
** s) and its own frames to the code it runs.  These are C closures: under a
** line hook they call the VM's original function (cpm does not optimize
** then: with a line hook the loops would run as written anyway), otherwise
** the runner's Lua wrapper, whose frames end before the loaded code runs.
*/
#include "cpm.h"


/*
** cpm.core._unhooked(orig, wrapped) -> function: a C closure that calls
** orig(...) when a line hook is set, wrapped(...) otherwise, with all its
** arguments, and returns all their results.  Raises what they raise.
*/
static int runner_call (lua_State *L) {
  int n = lua_gettop(L);
  int hooked = lua_gethook(L) != NULL && (lua_gethookmask(L) & LUA_MASKLINE);
  lua_pushvalue(L, lua_upvalueindex(hooked ? 1 : 2));
  lua_insert(L, 1);
  lua_call(L, n, LUA_MULTRET);
  return lua_gettop(L);
}

static int runner_unhooked (lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_settop(L, 2);
  lua_pushcclosure(L, runner_call, 2);
  return 1;
}


/*
** cpm.core._searcher(hidden, orig, wrapped) -> function: a searcher of
** package.searchers (Lua 5.4 manual, 6.3) for the module name at 1: when
** hidden[name] is not nil, a loader that returns it (the runner keeps its
** own modules out of package.loaded, and a program's `require "cpm"` must
** still get the same module), otherwise what orig(...) gives under a line
** hook and what wrapped(...) gives without one.
*/
static int runner_hiddenloader (lua_State *L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  return 1;
}

static int runner_search (lua_State *L) {
  if (lua_type(L, 1) == LUA_TSTRING) {
    lua_pushvalue(L, 1);
    lua_rawget(L, lua_upvalueindex(3));
    if (!lua_isnil(L, -1)) {
      lua_pushcclosure(L, runner_hiddenloader, 1);
      lua_pushliteral(L, ":preload:");
      return 2;
    }
    lua_pop(L, 1);
  }
  return runner_call(L);
}

static int runner_searcher (lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  luaL_checktype(L, 3, LUA_TFUNCTION);
  lua_settop(L, 3);
  lua_pushvalue(L, 1);
  lua_remove(L, 1);  /* upvalues: orig, wrapped, hidden */
  lua_pushcclosure(L, runner_search, 3);
  return 1;
}


/*
** cpm.core._dofile(loadfile) -> function: dofile([filename]) as the base
** library's (Lua 5.4 manual, 6.1): loads the file with 'loadfile' (the
** runner's), raises its message when it returns nil, and calls the chunk
** from C, so that the chunk's caller is this C function, as with the VM's
** dofile, and (on Lua 5.4) the chunk may yield.
*/
#if CPM_LUA54
static int runner_dofilek (lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  (void)ctx;
  return lua_gettop(L) - 1;
}
#endif

static int runner_dofilecall (lua_State *L) {
  lua_settop(L, 1);
  lua_pushvalue(L, lua_upvalueindex(1));
  if (lua_isnoneornil(L, 1)) lua_pushnil(L);
  else lua_pushvalue(L, 1);
  lua_call(L, 1, 2);
  if (lua_isnil(L, -2))
    return lua_error(L);  /* loadfile's message, on top */
  lua_pop(L, 1);
#if CPM_LUA54
  lua_callk(L, 0, LUA_MULTRET, 0, runner_dofilek);
  return runner_dofilek(L, LUA_OK, 0);
#else
  lua_call(L, 0, LUA_MULTRET);
  return lua_gettop(L) - 1;
#endif
}

static int runner_dofile (lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  lua_pushcclosure(L, runner_dofilecall, 1);
  return 1;
}


void runner_open (lua_State *L, int mod, int cfg) {
  static const luaL_Reg funcs[] = {
    {"_unhooked", runner_unhooked},
    {"_dofile", runner_dofile},
    {"_searcher", runner_searcher},
    {NULL, NULL}
  };
  cpm_setfuncs(L, mod, cfg, funcs);
}
