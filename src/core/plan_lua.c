/*
** plan_lua.c -- the shared core as Lua sees it (internal: cpm.core._plan
** and cpm.core._guard).  The LuaJIT front end builds its IR as a Lua table
** and comes through here; so do the specs, which plan hand-written loops
** and run them against plain Lua loops.
**
** The IR as a Lua table (see ir.h for the meaning):
**   { kind = "fornum" | "forrange" | "while" | "repeat", line = n, nslots = n,
**     index = slot | nil, liveout = { slot, ... },
**     escapes = { slot, ... } | nil (nil: every slot may escape),
**     ops = { { "add", a, b, c }, { "unm", a, b }, { "move", a, b },
**             { "index", a, b, c }, { "loop", a, b, c, d, body = n }, ...,
**             { "if", cmp, b, c, skip = n, jump = bool } } }
** where cmp is "eq", "lt", "le", "truthy" (c absent) or "always" (b and c
** absent), and the next 'skip' ops are skipped when the condition's
** outcome is 'jump' (default true); "loop" is a nested numeric for with
** its variable in slot a, start b, limit c, step d (default the integer
** constant 1) over the next 'body' ops; see ir.h.  A while or repeat loop
** also has cond = { cmp, x, y, exit = bool, pre = n } (cmp "eq", "lt" or
** "le"; the loop ends when the outcome of x cmp y is exit; a while loop's
** first 'pre' ops, default 0, compute the test's operands; ir.h,
** ir_Cond).
** Slots are integers from 0; a constant operand is written { k = value }
** (nil, boolean, number or string).  Each op may carry line = n.
** names = { [slot] = "name", ... } (optional): the source names of slots,
** for the reasons (ir.h, ir_Loop.names).
** An arithmetic op lowered from a call of LuaJIT's bit library names it on
** the first op of the call's: fn = "bxor" (ir.h, IR_FNS), fnslot = the
** slot holding the function called; a shift may say how it reads its
** count: count = "lua" (the default), "bit" or "bit32sub" (ir.h,
** ir_Count).
*/
#include <string.h>

#include "guard.h"
#include "plan.h"


static const char *const cmpnames[] = {
  "eq", "lt", "le", "truthy", "always", NULL
};

/* The ops of the IR as a Lua table: the operators, then these. */
static const char *const opnames[] = {
#define IR_AOP_IRNAME(name, sym, irname, event, jit)	irname,
  IR_AOPS(IR_AOP_IRNAME)
#undef IR_AOP_IRNAME
  "move", "index", "if", "loop", NULL
};


/* Library functions a call was lowered from (ir.h, IR_FNS), from IR_FN_NONE + 1. */
static const char *const fnnames[] = {
#define IR_FN_NAME(name, str)	str,
  IR_FNS(IR_FN_NAME)
#undef IR_FN_NAME
  NULL
};

/* How a shift reads its count (ir.h, ir_Count), in order. */
static const char *const countnames[] = { "lua", "bit", "bit32sub", NULL };


typedef struct Conv {
  lua_State *L;
  ir_Loop ir;
  ir_Op *ops;
  ir_Const *k;
  unsigned char *liveout, *escapes;
  int maxk;
} Conv;


static int intfield (lua_State *L, int t, const char *f, int def) {
  int v;
  lua_getfield(L, t, f);
  v = lua_isnil(L, -1) ? def : (int)luaL_checkinteger(L, -1);
  lua_pop(L, 1);
  return v;
}


/* Operand at t[i]: a slot, or { k = constant }.  Constants are anchored
   by the IR table itself, so their strings stay valid. */
static ir_Arg operand (Conv *cv, int t, int i) {
  lua_State *L = cv->L;
  ir_Arg r;
  lua_rawgeti(L, t, i);
  if (lua_type(L, -1) == LUA_TNUMBER) r = (ir_Arg)lua_tointeger(L, -1);
  else if (lua_istable(L, -1)) {
    ir_Const *k;
    if (cv->ir.nk >= cv->maxk) luaL_error(L, "too many constants in IR");
    k = &cv->k[cv->ir.nk];
    lua_getfield(L, -1, "k");
    switch (lua_type(L, -1)) {
      case LUA_TNIL: k->type = IR_KNIL; break;
      case LUA_TBOOLEAN:
        k->type = lua_toboolean(L, -1) ? IR_KTRUE : IR_KFALSE;
        break;
      case LUA_TNUMBER:
#if CPM_LUA54
        if (lua_isinteger(L, -1)) {
          k->type = IR_KINT;
          k->u.i = lua_tointeger(L, -1);
          break;
        }
#endif
        k->type = IR_KFLT;
        k->u.n = lua_tonumber(L, -1);
        break;
      case LUA_TSTRING:
        k->type = IR_KSTR;
        k->u.s.s = lua_tolstring(L, -1, &k->u.s.len);
        break;
      default:
        luaL_error(L, "bad IR constant (%s)", luaL_typename(L, -1));
    }
    lua_pop(L, 1);
    r = ir_mkconst(cv->ir.nk++);
  }
  else r = 0, luaL_error(L, "bad IR operand #%d", i);
  lua_pop(L, 1);
  return r;
}


/* Sets flags[s] for each slot s in the list ir[field]; 0 when absent. */
static int slotflags (Conv *cv, const char *field, unsigned char *flags) {
  lua_State *L = cv->L;
  int i, m, present;
  lua_getfield(L, 1, field);
  present = lua_istable(L, -1);
  m = present ? (int)cpm_rawlen(L, -1) : 0;
  for (i = 1; i <= m; i++) {
    int s;
    lua_rawgeti(L, -1, i);
    s = (int)luaL_checkinteger(L, -1);
    if (s < 0 || s >= cv->ir.nslots) luaL_error(L, "bad %s slot %d", field, s);
    flags[s] = 1;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return present;
}


/* The name of 'slot' in the names table at 'nt', or NULL (the string
   stays anchored by the IR table). */
static const char *slotname (lua_State *L, int nt, ir_Arg slot) {
  const char *s = NULL;
  if (ir_isconst(slot)) return NULL;
  lua_rawgeti(L, nt, slot);
  if (lua_type(L, -1) == LUA_TSTRING) s = lua_tostring(L, -1);
  lua_pop(L, 1);
  return s;
}


/* cv->ir.names from the IR's field 'names', when it has one. */
static void names (Conv *cv) {
  lua_State *L = cv->L;
  const char **nm;
  int i, nt;
  lua_getfield(L, 1, "names");
  if (!lua_istable(L, -1) || cv->ir.nops == 0) {
    lua_pop(L, 1);
    return;
  }
  nt = lua_gettop(L);
  nm = (const char **)cpm_newbuffer(L, sizeof(char *) * 3 * (size_t)cv->ir.nops);
  for (i = 0; i < cv->ir.nops; i++) {
    const ir_Op *op = &cv->ir.ops[i];
    int io = op->code == IR_IF || op->code == IR_LOOP;
    nm[3 * i] = io ? NULL : slotname(L, nt, op->a);
    nm[3 * i + 1] = io ? NULL : slotname(L, nt, op->b);
    nm[3 * i + 2] = (op->code == IR_ARITH || op->code == IR_INDEX)
                    ? slotname(L, nt, op->c) : NULL;
  }
  cv->ir.names = nm;
  lua_remove(L, nt);  /* the userdata stays on the stack, the table in ir */
}


/* Reads the IR table at index 1 into cv->ir (arrays in userdata). */
static void convert (Conv *cv) {
  lua_State *L = cv->L;
  int i, n;
  const char *kind;
  luaL_checktype(L, 1, LUA_TTABLE);
  memset(&cv->ir, 0, sizeof(cv->ir));
  lua_getfield(L, 1, "kind");
  kind = luaL_optstring(L, -1, "fornum");
  cv->ir.kind = strcmp(kind, "forrange") == 0 ? IR_FORRANGE
              : strcmp(kind, "while") == 0 ? IR_WHILE
              : strcmp(kind, "repeat") == 0 ? IR_REPEAT : IR_FORNUM;
  lua_pop(L, 1);
  cv->ir.line = intfield(L, 1, "line", 0);
  cv->ir.nslots = intfield(L, 1, "nslots", 0);
  cv->ir.index = intfield(L, 1, "index", -1);
  if (cv->ir.nslots < 0 || cv->ir.nslots > IR_MAXSLOTS)
    luaL_error(L, "bad IR slot count");
  lua_getfield(L, 1, "ops");
  luaL_checktype(L, -1, LUA_TTABLE);
  n = (int)cpm_rawlen(L, -1);
  if (n > IR_MAXOPS) luaL_error(L, "too many IR ops");
  cv->ops = (ir_Op *)cpm_newbuffer(L, (size_t)(n + 1) * sizeof(ir_Op));
  cv->maxk = 3 * n + 1;
  cv->k = (ir_Const *)cpm_newbuffer(L, (size_t)cv->maxk * sizeof(ir_Const));
  cv->liveout = (unsigned char *)cpm_newbuffer(L, (size_t)cv->ir.nslots + 1);
  memset(cv->liveout, 0, (size_t)cv->ir.nslots + 1);
  lua_pushvalue(L, -4);  /* ops */
  for (i = 0; i < n; i++) {
    ir_Op *op = &cv->ops[i];
    int t, o;
    memset(op, 0, sizeof(*op));
    lua_rawgeti(L, -1, i + 1);
    luaL_checktype(L, -1, LUA_TTABLE);
    t = lua_gettop(L);
    lua_rawgeti(L, t, 1);
    o = luaL_checkoption(L, -1, NULL, opnames);
    lua_pop(L, 1);
    op->line = intfield(L, t, "line", cv->ir.line);
    if (o <= IR_BNOT) {
      op->code = (o == IR_UNM || o == IR_BNOT) ? IR_UNARY : IR_ARITH;
      op->aop = o;
    }
    else op->code = o == IR_NAOP ? IR_MOVE : o == IR_NAOP + 1 ? IR_INDEX
                  : o == IR_NAOP + 2 ? IR_IF : IR_LOOP;
    if (op->code == IR_IF) {
      lua_rawgeti(L, t, 2);
      op->aop = luaL_checkoption(L, -1, NULL, cmpnames);
      lua_pop(L, 1);
      if (op->aop != IR_ALWAYS) op->b = operand(cv, t, 3);
      if (op->aop <= IR_LE) op->c = operand(cv, t, 4);
      op->n1 = intfield(L, t, "skip", 0);
      lua_getfield(L, t, "jump");
      op->a = lua_isnil(L, -1) || lua_toboolean(L, -1);
      lua_pop(L, 1);
    }
    else if (op->code == IR_LOOP) {
      lua_rawgeti(L, t, 2);
      op->a = (int)luaL_checkinteger(L, -1);
      lua_pop(L, 1);
      op->b = operand(cv, t, 3);
      op->c = operand(cv, t, 4);
      lua_rawgeti(L, t, 5);
      if (lua_isnil(L, -1)) {  /* the step 1 of `for a = b, c` */
        if (cv->ir.nk >= cv->maxk) luaL_error(L, "too many constants in IR");
        cv->k[cv->ir.nk].type = IR_KINT;
        cv->k[cv->ir.nk].u.i = 1;
#if !CPM_LUA54
        cv->k[cv->ir.nk].type = IR_KFLT;
        cv->k[cv->ir.nk].u.n = 1;
#endif
        op->d = ir_mkconst(cv->ir.nk++);
      }
      else op->d = operand(cv, t, 5);
      lua_pop(L, 1);
      op->n1 = intfield(L, t, "body", 0);
    }
    else {
      lua_rawgeti(L, t, 2);
      op->a = (int)luaL_checkinteger(L, -1);
      lua_pop(L, 1);
      op->b = operand(cv, t, 3);
      if (op->code == IR_ARITH || op->code == IR_INDEX)
        op->c = operand(cv, t, 4);
      if (op->code == IR_ARITH || op->code == IR_UNARY) {
        lua_getfield(L, t, "fn");
        if (!lua_isnil(L, -1)) {  /* IR_FN_NONE is no name: indices from 1 */
          op->n1 = 1 + luaL_checkoption(L, -1, NULL, fnnames);
          op->n2 = 1 + intfield(L, t, "fnslot", -1);
        }
        lua_getfield(L, t, "count");
        op->count = luaL_checkoption(L, -1, "lua", countnames);
        lua_pop(L, 2);
      }
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (cv->ir.kind == IR_WHILE || cv->ir.kind == IR_REPEAT) {
    int t;
    lua_getfield(L, 1, "cond");
    luaL_checktype(L, -1, LUA_TTABLE);
    t = lua_gettop(L);
    lua_rawgeti(L, t, 1);
    cv->ir.cond.cmp = luaL_checkoption(L, -1, NULL, cmpnames);
    lua_pop(L, 1);
    if (cv->ir.cond.cmp > IR_LE) luaL_error(L, "bad IR condition");
    cv->ir.cond.x = operand(cv, t, 2);
    cv->ir.cond.y = operand(cv, t, 3);
    lua_getfield(L, t, "exit");
    cv->ir.cond.exit = lua_toboolean(L, -1);
    lua_pop(L, 1);
    cv->ir.cond.pre = intfield(L, t, "pre", 0);
    lua_pop(L, 1);
  }
  cv->ir.ops = cv->ops;
  cv->ir.nops = n;
  cv->ir.k = cv->k;
  slotflags(cv, "liveout", cv->liveout);
  cv->ir.liveout = cv->liveout;
  cv->escapes = (unsigned char *)cpm_newbuffer(L, (size_t)cv->ir.nslots + 1);
  memset(cv->escapes, 0, (size_t)cv->ir.nslots + 1);
  cv->ir.escapes = slotflags(cv, "escapes", cv->escapes) ? cv->escapes : NULL;
  names(cv);
}


static void pushslots (lua_State *L, const int *slots, int n) {
  int i;
  lua_createtable(L, n, 0);
  for (i = 0; i < n; i++) {
    lua_pushinteger(L, slots[i]);
    lua_rawseti(L, -2, i + 1);
  }
}


/* Node i of an operand of a while loop's test or step (plan_WExpr): a
   slot, { k = constant }, or { op = name, sym = symbol, x [, y] } (one
   operand for a unary operator). */
static void pushwnode (lua_State *L, const plan_Plan *p, const plan_WExpr *e,
                       int i) {
  const plan_WNode *w = &e->node[i];
  luaL_checkstack(L, 4, "while loop operand");
  if (w->aop >= 0) {
    lua_createtable(L, 2, 2);
    lua_pushstring(L, ir_aopirname(w->aop));
    lua_setfield(L, -2, "op");
    lua_pushstring(L, ir_aopname(w->aop));
    lua_setfield(L, -2, "sym");
    pushwnode(L, p, e, w->x);
    lua_rawseti(L, -2, 1);
    if (w->aop != IR_UNM && w->aop != IR_BNOT) {
      pushwnode(L, p, e, w->y);
      lua_rawseti(L, -2, 2);
    }
    return;
  }
  if (w->x >= 0) {
    lua_pushinteger(L, p->in[w->x]);
    return;
  }
  lua_createtable(L, 0, 1);
  switch (w->k.type) {
#if CPM_LUA54
    case IR_KINT: lua_pushinteger(L, w->k.u.i); break;
#else
    case IR_KINT: lua_pushnumber(L, (lua_Number)w->k.u.i); break;
#endif
    case IR_KFLT: lua_pushnumber(L, w->k.u.n); break;
    default: lua_pushnil(L); break;
  }
  lua_setfield(L, -2, "k");
}


/*
** _plan(ir) -> plan, info | nil, reason, line
** info = { inputs = { slot... }, outputs = { slot... }, nstate = n,
**          nlive = n, natoms = n, depends = text (plan_depends)
**          [, w = { counter = slot, bound = operand, step = operand,
**          negate = bool }] }
** (w: a while or repeat loop's counter x, bound and step s, the update
** being x - s when negate, else x + s; an operand is a slot or { k = v };
** the guard takes x's entry value as its first control value, then two
** nils, then the inputs)
*/
static int lplan (lua_State *L) {
  Conv cv;
  plan_Plan *p;
  plan_Refusal why;
  int i, nlive = 0, *outs;
  cv.L = L;
  lua_settop(L, 1);
  convert(&cv);
  p = plan_make(L, &cv.ir, &why);
  if (p == NULL) {
    lua_pushnil(L);
    lua_pushstring(L, why.msg);
    lua_pushinteger(L, why.line);
    return 3;
  }
  lua_createtable(L, 0, 5);
  pushslots(L, p->in, p->nin);
  lua_setfield(L, -2, "inputs");
  outs = (int *)cpm_newbuffer(L, (size_t)(p->nout + 1) * sizeof(int));
  for (i = 0; i < p->nout; i++) outs[i] = p->out[i].slot;
  pushslots(L, outs, p->nout);
  lua_setfield(L, -3, "outputs");
  lua_pop(L, 1);
  for (i = 0; i < p->nstate; i++) nlive += p->state[i].live;
  lua_pushinteger(L, p->nstate);
  lua_setfield(L, -2, "nstate");
  lua_pushinteger(L, nlive);
  lua_setfield(L, -2, "nlive");
  lua_pushinteger(L, p->natoms);
  lua_setfield(L, -2, "natoms");
  if (p->w.active) {  /* the test's operands, for a front end's pre-check */
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, p->index);
    lua_setfield(L, -2, "counter");
    pushwnode(L, p, &p->w.bound, p->w.bound.n - 1);
    lua_setfield(L, -2, "bound");
    pushwnode(L, p, &p->w.step, p->w.step.n - 1);
    lua_setfield(L, -2, "step");
    lua_pushboolean(L, p->w.negate);
    lua_setfield(L, -2, "negate");
    lua_setfield(L, -2, "w");
  }
  {
    char depends[320];
    plan_depends(p, &cv.ir, depends, sizeof(depends));
    lua_pushstring(L, depends);
    lua_setfield(L, -2, "depends");
  }
  return 2;
}


/*
** _guard(plan [, iters_limit [, strict [, where [, hooks, id
**        [, on_fallback]]]]]) -> guard function, iters_limit
** iters_limit nil: the default for this plan (guard_defaultlimit).  hooks,
** id: the table whose entry id the guard is, which it sets to false when
** the site gives up, and whose field GUARD_STATSKEY keeps the site's
** record at [id] (guard.h); on_fallback: the user's function (guard.h).
*/
static int lguard (lua_State *L) {
  const plan_Plan *p = plan_test(L, 1);
  guard_Site s;
  if (p == NULL) luaL_argerror(L, 1, "plan expected");
  s.iters_limit = lua_isnoneornil(L, 2) ? guard_defaultlimit(p)
                                        : luaL_checkinteger(L, 2);
  s.strict = lua_toboolean(L, 3);
  s.where = luaL_optstring(L, 4, "?");
  s.prepared = 0;
  s.hooks = 0;
  s.id = 0;
  s.stats = s.record = s.onfallback = 0;
  if (!lua_isnoneornil(L, 5)) {
    luaL_checktype(L, 5, LUA_TTABLE);
    s.hooks = s.stats = 5;
    s.id = luaL_checkinteger(L, 6);
  }
  if (!lua_isnoneornil(L, 7)) {
    luaL_checktype(L, 7, LUA_TFUNCTION);
    s.onfallback = 7;
  }
  guard_pushsite(L, lua_upvalueindex(1), 1, &s);
  lua_pushinteger(L, s.iters_limit);
  return 2;
}


/* cpm.core._aops: symbol -> IR name of each binary operator. */
static void pushaops (lua_State *L) {
  int i;
  lua_createtable(L, 0, IR_NAOP);
  for (i = 0; i < IR_NAOP; i++) {
    if (i == IR_UNM || i == IR_BNOT) continue;
    lua_pushstring(L, ir_aopirname(i));
    lua_setfield(L, -2, ir_aopname(i));
  }
}


/*
** _guardcounts(record) -> computed, fell_back, below_limit: the counts of
** a call site's record (guard.h), for cpm.stats; zeros for anything else.
*/
static int lguardcounts (lua_State *L) {
  const lua_Integer *k = NULL;
  int i;
  if (lua_istable(L, 1)) {
    lua_getfield(L, 1, "counts");
    if (lua_type(L, -1) == LUA_TUSERDATA &&
        cpm_rawlen(L, -1) == sizeof(lua_Integer) * GUARD_NCOUNTS)
      k = (const lua_Integer *)lua_touserdata(L, -1);
  }
  for (i = 0; i < GUARD_NCOUNTS; i++) lua_pushinteger(L, k ? k[i] : 0);
  return GUARD_NCOUNTS;
}


static const luaL_Reg funcs[] = {
  {"_plan", lplan},
  {"_guard", lguard},
  {"_guardcounts", lguardcounts},
  {NULL, NULL}
};


void plan_open (lua_State *L, int mod, int cfg) {
  mod = cpm_absindex(L, mod);
  cpm_setfuncs(L, mod, cfg, funcs);
  pushaops(L);
  lua_setfield(L, mod, "_aops");
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, IR_MAXBODY);
  lua_setfield(L, -2, "maxbody");
  lua_pushinteger(L, IR_MAXDEPTH);
  lua_setfield(L, -2, "maxdepth");
  lua_setfield(L, mod, "_limits");
}
