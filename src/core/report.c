/*
** report.c -- the report of cpm.optimize's bytecode drivers (report.h).
*/
#include <stdio.h>

#include "report.h"


void report_loop (lua_State *L, int list, int *n, int line, int optimized,
                  const char *why, lua_Integer limit, ir_Kind kind,
                  report_Strict *st) {
  lua_createtable(L, 0, 5);
  if (kind == IR_WHILE || kind == IR_REPEAT) {
    lua_pushstring(L, kind == IR_WHILE ? "while" : "repeat");
    lua_setfield(L, -2, "kind");
  }
  if (limit > 0) {
    lua_pushinteger(L, limit);
    lua_setfield(L, -2, "iters_limit");
  }
  lua_pushinteger(L, line);
  lua_setfield(L, -2, "line");
  lua_pushboolean(L, optimized);
  lua_setfield(L, -2, "optimized");
  if (why != NULL) {  /* an optimized loop's: what computing it needs */
    lua_pushstring(L, why);
    lua_setfield(L, -2, optimized ? "depends" : "reason");
  }
  lua_rawseti(L, list, ++*n);
  if (!optimized && st != NULL && (st->line == 0 || line <= st->line)) {
    st->line = line;  /* (<=: the outer loop, seen after the inner ones) */
    snprintf(st->why, sizeof(st->why), "%s", why ? why : "");
  }
}


void report_strictraise (lua_State *L, const report_Strict *st,
                         const char *where) {
  if (st->line > 0) {
    lua_pushfstring(L, "cpm: %s:%d: %s", where, st->line, st->why);
    lua_error(L);
  }
}
