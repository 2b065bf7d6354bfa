/*
** guard_while.c -- the count of a while or repeat loop at its guard's
** entry.
**
** The plan of such a loop is the plan of a numeric for loop whose
** variable is the counter (plan_while.c), so once the number of passes n
** is known, the guard (guard.c, and plan_branch.c for bodies with
** invariant branches) only needs the control values of that for loop:
** x0, x0 + (n - 1) s, s, which count_fornum counts as n again (an integer
** loop; or a float loop of exact integers below 2^53, as count_while
** required).
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
  if (!w->active || w->bound >= p->nin || w->step >= p->nin ||
      top < ibase + p->nin - 1 || !lua_checkstack(L, 4))
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
  st = count_while(L, &cw, 1, b, s, &c);
#if CPM_LUA54
  /* an integer counter with a float step: the loop sees the integer
     first, a numeric for would see floats only */
  if (st == COUNT_OK && c.itype == VT_INT && lua_type(L, s) == LUA_TNUMBER &&
      !lua_isinteger(L, s))
    st = COUNT_UNKNOWN;
#endif
  lua_settop(L, top);
  if (st != COUNT_OK) return WHY_UNCOUNTED;
  if (c.n == 0) {  /* below any limit: the loop runs as written */
#if CPM_LUA54
    lua_pushinteger(L, 1);
    lua_pushinteger(L, 0);
    lua_pushinteger(L, 1);
#else
    lua_pushnumber(L, 1);
    lua_pushnumber(L, 0);
    lua_pushnumber(L, 1);
#endif
  }
  else if (c.itype == VT_INT) {  /* x0, x0 + (n-1) s, s: no wrap (count_while) */
    lua_pushinteger(L, c.istart);
    lua_pushinteger(L, (lua_Integer)((uint64_t)c.istart +
                                     (c.n - 1) * (uint64_t)c.istep));
    lua_pushinteger(L, c.istep);
  }
  else {
    lua_pushnumber(L, c.fstart);
    lua_pushnumber(L, c.fstart + (double)(c.n - 1) * c.fstep);
    lua_pushnumber(L, c.fstep);
  }
  lua_replace(L, 3);
  lua_replace(L, 2);
  lua_replace(L, 1);
  return NULL;
}


void guard_while_pushend (lua_State *L, const count_Loop *c) {
  if (c->itype == VT_INT)
    lua_pushinteger(L, (lua_Integer)((uint64_t)c->istart +
                                     c->n * (uint64_t)c->istep));
  else
    lua_pushnumber(L, c->fstart + (double)c->n * c->fstep);
}
