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
** required).  The bound and the step may be invariant expressions
** (plan_WExpr): evaluated here first, numbers only, nothing that raises
** (the loop evaluates them on every pass: once here is the same value,
** and whatever a metamethod or an error would do the loop as written
** does).
*/
#include "guard_while.h"
#include "count.h"
#include "guard.h"

#define WHY_UNCOUNTED	"while loop values it cannot count exactly"
#define WHY_EXPR	"while loop's bound or step needs a metamethod or may raise"


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



#if CPM_LUA54
static int isint (lua_State *L, int idx) {
  int ok;
  lua_tointegerx(L, idx, &ok);
  return ok;
}
#endif


/*
** Pushes x aop y (x alone for a unary operator) for the numbers at
** stack indices x and y as the VM computes them; 0 (pushing nothing)
** when an operand is no number or the operation could raise (an
** integer division by zero, a bitwise operation on a float that is no
** integer, an operator the VM lacks).
*/
static int numarith (lua_State *L, int aop, int x, int y) {
  if (lua_type(L, x) != LUA_TNUMBER || lua_type(L, y) != LUA_TNUMBER ||
      aop < 0 || aop >= IR_NAOP)
    return 0;
#if CPM_LUA54
  if (aop >= IR_BAND && aop != IR_UNM && (!isint(L, x) || !isint(L, y)))
    return 0;  /* "number has no integer representation" */
  if ((aop == IR_IDIV || aop == IR_MOD) && lua_isinteger(L, x) &&
      lua_isinteger(L, y) && lua_tointeger(L, y) == 0)
    return 0;  /* "attempt to perform 'n//0'" */
  lua_pushvalue(L, x);
  if (aop != IR_UNM && aop != IR_BNOT) lua_pushvalue(L, y);
  lua_arith(L, aop);  /* IR_ADD.. follow LUA_OPADD.. */
  return 1;
#else
  {
    double r;
    if (!guard_jitarith(aop, lua_tonumber(L, x), lua_tonumber(L, y), &r))
      return 0;
    lua_pushnumber(L, r);
    return 1;
  }
#endif
}


/* Pushes the value of expression e (its leaves inputs from stack index
   'ibase' on); 0 when evaluating it is not safe (numarith), with the
   stack as it was.  A lone leaf is pushed as it is (count_while takes
   numbers only). */
static int pushexpr (lua_State *L, const plan_WExpr *e, int ibase,
                     int nin) {
  int base = lua_gettop(L) + 1, i;
  if (e->n < 1 || e->n > PLAN_WMAXNODES ||
      !lua_checkstack(L, PLAN_WMAXNODES + 4))
    return 0;
  for (i = 0; i < e->n; i++) {
    const plan_WNode *w = &e->node[i];
    if (w->aop < 0) {
      if (w->x >= nin) break;
      if (w->x >= 0) lua_pushvalue(L, ibase + w->x);
      else pushconst(L, &w->k);
    }
    else if (w->x < 0 || w->x >= i || w->y < 0 || w->y >= i ||
             !numarith(L, w->aop, base + w->x, base + w->y))
      break;
  }
  if (i < e->n) {
    lua_settop(L, base - 1);
    return 0;
  }
  if (lua_gettop(L) > base) {
    lua_replace(L, base);
    lua_settop(L, base);
  }
  return 1;
}


const char *guard_while_control (lua_State *L, const plan_Plan *p,
                                 int ibase) {
  const plan_While *w = &p->w;
  count_While cw;
  count_Loop c;
  count_Status st;
  int top = lua_gettop(L), b, s;
  if (!w->active || top < ibase + p->nin - 1 || !lua_checkstack(L, 4))
    return WHY_UNCOUNTED;
  if (!pushexpr(L, &w->bound, ibase, p->nin)) return WHY_EXPR;
  b = lua_gettop(L);
  if (!pushexpr(L, &w->step, ibase, p->nin)) {
    lua_settop(L, top);
    return WHY_EXPR;
  }
  s = lua_gettop(L);
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
