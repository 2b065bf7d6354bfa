/*
** guard_while.c -- the count of a while or repeat loop at its guard's
** entry.
**
** The plan of such a loop is the plan of a numeric for loop that never
** reads its variable (plan_while.c), so once the number of passes n is
** known, the guard (guard.c, and plan_branch.c for bodies with invariant
** branches) only needs control values that count_fornum counts as n:
** Lua 5.4 (mininteger, mininteger + n - 1, 1), any n up to 2^64 - 1;
** LuaJIT (0, n - 1, 1), n below 2^53 (the float loops count_fornum counts
** exactly).
*/
#include "guard_while.h"
#include "count.h"

#define WHY_UNCOUNTED	"while loop values it cannot count exactly"


static void pushconst (lua_State *L, const ir_Const *k) {
  switch (k->type) {
#if CPM_LUA54
    case IR_KINT: lua_pushinteger(L, k->u.i); break;
#else
    case IR_KINT: lua_pushnumber(L, (lua_Number)k->u.i); break;
#endif
    case IR_KFLT: lua_pushnumber(L, k->u.n); break;
    default: lua_pushnil(L); break;  /* count_while takes numbers only */
  }
}


const char *guard_while_control (lua_State *L, const plan_Plan *p,
                                 int ibase) {
  const plan_While *w = &p->w;
  count_While cw;
  count_Loop c;
  count_Status st;
  int top = lua_gettop(L), b, s;
  if (!w->active || w->counter < 0 || w->counter >= p->nin ||
      w->bound >= p->nin || w->step >= p->nin || top < ibase + p->nin - 1 ||
      !lua_checkstack(L, 4))
    return WHY_UNCOUNTED;
  if (w->bound >= 0) b = ibase + w->bound;
  else {
    pushconst(L, &w->bk);
    b = lua_gettop(L);
  }
  if (w->step >= 0) s = ibase + w->step;
  else {
    pushconst(L, &w->sk);
    s = lua_gettop(L);
  }
  cw.cmp = w->cmp;
  cw.left = w->left;
  cw.exit = w->exit;
  cw.repeat = w->repeat;
  cw.negate = w->negate;
  st = count_while(L, &cw, ibase + w->counter, b, s, &c);
  lua_settop(L, top);
  if (st != COUNT_OK) return WHY_UNCOUNTED;
#if CPM_LUA54
  if (c.n == 0) {
    lua_pushinteger(L, 1);
    lua_pushinteger(L, 0);
  }
  else {
    lua_pushinteger(L, LUA_MININTEGER);
    lua_pushinteger(L, (lua_Integer)((uint64_t)LUA_MININTEGER + (c.n - 1)));
  }
  lua_pushinteger(L, 1);
#else
  if (c.n >= ((uint64_t)1 << 53)) return WHY_UNCOUNTED;
  lua_pushnumber(L, c.n == 0 ? 1 : 0);
  lua_pushnumber(L, c.n == 0 ? 0 : (lua_Number)(c.n - 1));
  lua_pushnumber(L, 1);
#endif
  lua_replace(L, 3);
  lua_replace(L, 2);
  lua_replace(L, 1);
  return NULL;
}
