/*
** optimize54.c -- cpm.optimize on Lua 5.4: the bytecode front end.
**
**   lua_dump(f) -> bc_read -> for every prototype: find54 (loops, IR) ->
**   plan_make -> rewrite54 (guard calls) -> bc_write -> lua_load ->
**   lua_upvaluejoin with f's upvalues, and the hook table in the upvalue
**   that the rewrite added.
**
** Internal entry point:
**   cpm.core._optimize54(f, iters_limit, strict [, on_fallback])
**   -> g, report [, hooks]
**   report = { { line =, optimized =, reason =, depends =, iters_limit =
**   [, kind = "while" | "repeat"] }, ... }
** (depends: an optimized loop's plan_depends sentence)
** g is f itself when no loop was rewritten; otherwise hooks is g's hook
** table (by which lua/cpm/init.lua recognizes g and its inner functions;
** its field GUARD_STATSKEY holds the loops' records, guard.h).
*/
#include <stdio.h>
#include <string.h>

#include "guard.h"
#include "plan.h"
#include "report.h"
#include "rewrite54.h"

#if CPM_LUA54

#define MAXPROTOS	1024	/* prototypes whose hook upvalue is tracked */

/* Stack slots of the driver (fixed positions, see lopt). */
enum { F = 1, LIMIT, STRICT, ONFALLBACK, REPORT, PLANS, HOOKS, CHUNK };


typedef struct Opt {
  lua_State *L;
  bc_Chunk *c;
  lua_Integer limit;	/* iters_limit; 0 for guard_defaultlimit */
  int strict;
  const char *where;	/* f's short source */
  int nup;		/* f's upvalues (closure and prototype agree) */
  int nloops;		/* planned loops, numbered from 1 */
  int nreport;
  report_Strict st;	/* strict: the refused loop to raise for */
  int nprotos;
  struct { bc_Proto *p; int hook; } hooks[MAXPROTOS];
} Opt;


/* {======================================================
** Reading
** ======================================================= */

typedef struct DumpState {
  int init;
  luaL_Buffer b;
} DumpState;

static int dumpwriter (lua_State *L, const void *b, size_t size, void *ud) {
  DumpState *d = (DumpState *)ud;
  if (!d->init) {
    d->init = 1;
    luaL_buffinit(L, &d->b);
  }
  luaL_addlstring(&d->b, (const char *)b, size);
  return 0;
}

/* Protected: (f) -> chunk */
static int readfunction (lua_State *L) {
  DumpState d;
  size_t len;
  const char *s;
  d.init = 0;
  lua_settop(L, 1);
  if (lua_dump(L, dumpwriter, &d, 0) != 0 || !d.init)
    return luaL_error(L, "cpm: cannot dump the function");
  luaL_pushresult(&d.b);
  s = lua_tolstring(L, -1, &len);
  bc_read(L, s, len);
  return 1;
}

/* }====================================================== */


static void report (Opt *o, int line, int optimized, const char *why,
                    lua_Integer limit, ir_Kind kind) {
  report_loop(o->L, REPORT, &o->nreport, line, optimized, why, limit, kind,
              o->strict ? &o->st : NULL);
}


/*
** The hook upvalue of the prototype at 'path', added (with every
** ancestor's) when missing; -1 when there is no room.  It is never the main
** function's first upvalue: load sets that one to the global table, and a
** copy of g loaded from string.dump must find nil there (and so run its
** loops as written).  A main function without upvalues gets a first one
** of its own, "(cpm env)", for load to set.
*/
static int hookof (Opt *o, const int *path, int depth) {
  bc_Proto *p = bc_find(o->c, path, depth);
  int i, parent;
  for (i = 0; i < o->nprotos; i++)
    if (o->hooks[i].p == p) return o->hooks[i].hook;
  if (o->nprotos >= MAXPROTOS || p->nup >= BC_MAXUPVAL - 1) return -1;
  if (depth == 0) {
    if (p->nup == 0) bc_addupval(o->L, o->c, p, 0, 0, 0, "(cpm env)", 9);
    i = bc_addupval(o->L, o->c, p, 0, 0, 0, "(cpm)", 5);
  }
  else {
    parent = hookof(o, path, depth - 1);
    if (parent < 0) return -1;
    i = bc_addupval(o->L, o->c, p, 0, parent, 0, "(cpm)", 5);
  }
  o->hooks[o->nprotos].p = p;
  o->hooks[o->nprotos++].hook = i;
  return i;
}


/* Plans and rewrites the loops of one prototype, last loop first so that
   insertions do not move the loops still to be done. */
static int doproto (bc_Proto *p, const int *path, int depth, void *ud) {
  Opt *o = (Opt *)ud;
  lua_State *L = o->L;
  find54_Loop *loops;
  int n = find54_loops(L, o->c, p, &loops), i, j, ncode;
  for (i = n - 1; i >= 0; i--) {
    find54_Loop *lp = &loops[i];
    plan_Refusal why;
    plan_Plan *pl;
    const char *rw;
    lua_Integer limit;
    int hook;
    char depends[320];
    if (!lp->lowered) {
      report(o, lp->why.line ? lp->why.line : lp->line, 0, lp->why.msg, 0,
             lp->kind);
      continue;
    }
    pl = plan_make(L, &lp->ir, &why);
    if (pl == NULL) {
      report(o, why.line ? why.line : lp->line, 0, why.msg, 0, lp->kind);
      continue;
    }
    plan_depends(pl, &lp->ir, depends, sizeof(depends));
    limit = o->limit > 0 ? o->limit : guard_defaultlimit(pl);
    hook = hookof(o, path, depth);
    /* an inner loop rewritten before this one (a nest) moved its end: read
       it again from FORPREP's or TFORPREP's jump, which the editor
       relocated (a while or repeat loop's end was moved below) */
    if (lp->kind == IR_FORRANGE)
      lp->last = bc_jumptarget(p->code[lp->prep], lp->prep) + 1;
    else if (lp->kind == IR_FORNUM)
      lp->last = bc_jumptarget(p->code[lp->prep], lp->prep) - 1;
    ncode = p->ncode;
    rw = hook < 0 ? "too many upvalues for the guard"
                  : rewrite54_loop(L, o->c, p, lp, pl, hook, o->nloops + 1,
                                   limit);
    /* the code inserted (at this loop's insertion point, which no earlier
       loop's follows) moves the back JMP of every while or repeat loop
       around it, which no jump of its own locates */
    for (j = 0; j < i; j++)
      if ((loops[j].kind == IR_WHILE || loops[j].kind == IR_REPEAT) &&
          loops[j].last >= (lp->kind == IR_FORNUM ? lp->prep + 1 : lp->prep))
        loops[j].last += p->ncode - ncode;
    if (rw != NULL) {
      lua_pop(L, 1);
      report(o, lp->line, 0, rw, 0, lp->kind);
      continue;
    }
    {
      char where[LUA_IDSIZE + 32];
      guard_Site site;
      snprintf(where, sizeof(where), "%s:%d", o->where, lp->line);
      site.iters_limit = limit;
      site.strict = o->strict;
      site.prepared = (lp->kind == IR_FORNUM);
      site.hooks = HOOKS;
      site.id = o->nloops + 1;
      site.where = where;
      site.stats = HOOKS;
      site.record = 0;
      site.onfallback = lua_isnil(L, ONFALLBACK) ? 0 : ONFALLBACK;
      guard_pushsite(L, lua_upvalueindex(1), -1, &site);
    }
    lua_rawseti(L, HOOKS, ++o->nloops);
    lua_pop(L, 1);  /* the plan: kept by its guard */
    report(o, lp->line, 1, depends, limit, lp->kind);
  }
  return 0;
}


/* Loads the rewritten chunk as g, sharing f's 'nup' upvalues; pushes g. */
static void loadnew (Opt *o, int nup) {
  lua_State *L = o->L;
  size_t len;
  const char *s;
  int i, hook = o->hooks[0].hook;
  bc_write(L, o->c);
  s = lua_tolstring(L, -1, &len);
  if (luaL_loadbufferx(L, s, len, "=(cpm)", "b") != LUA_OK)
    lua_error(L);  /* a bug of ours: never hide it */
  lua_remove(L, -2);
  for (i = 1; i <= nup; i++) lua_upvaluejoin(L, -1, i, F, i);
  lua_pushvalue(L, HOOKS);
  lua_setupvalue(L, -2, hook + 1);
  if (nup == 0 && hook == 1) {  /* "(cpm env)": load set it, it is unused */
    lua_pushnil(L);
    lua_setupvalue(L, -2, 1);
  }
}


/*
** Protected: the driver's slots F .. CHUNK as arguments (same positions),
** then the Opt as a light userdata.  Plans and rewrites every prototype;
** returns g (f itself when no loop was rewritten).  Upvalue 1 is the
** configuration, as for lopt.
*/
static int rewriteall (lua_State *L) {
  Opt *o = (Opt *)lua_touserdata(L, CHUNK + 1);
  bc_foreach(o->c, doproto, o);
  report_strictraise(L, &o->st, o->where);
  if (o->nloops == 0) lua_pushvalue(L, F);
  else loadnew(o, o->nup);
  return 1;
}


/*
** f given back unchanged: the report holds only 'reason' (the message at
** the top).  Memory errors, and every error in strict mode, are raised
** again instead.  Returns lopt's results.
*/
static int giveback (Opt *o, int status) {
  lua_State *L = o->L;
  if (o->strict || cpm_ismemerror(L, status))
    return lua_error(L);
  lua_newtable(L);
  lua_insert(L, -2);
  lua_setfield(L, -2, "reason");
  lua_pushvalue(L, F);
  lua_insert(L, -2);
  return 2;
}


static int lopt (lua_State *L) {
  Opt o;
  lua_Debug ar;
  int status;
  memset(&o, 0, sizeof(o));
  o.L = L;
  luaL_checktype(L, F, LUA_TFUNCTION);
  o.limit = luaL_optinteger(L, LIMIT, 0);  /* 0: each plan's default */
  o.strict = lua_toboolean(L, STRICT);
  if (!lua_isnoneornil(L, ONFALLBACK)) luaL_checktype(L, ONFALLBACK, LUA_TFUNCTION);
  lua_settop(L, ONFALLBACK);
  lua_newtable(L);  /* REPORT */
  lua_newtable(L);  /* PLANS (unused slot, keeps positions) */
  lua_newtable(L);  /* HOOKS */
  if (lua_iscfunction(L, F)) {
    lua_pushvalue(L, F);
    lua_pushvalue(L, REPORT);
    return 2;
  }
  lua_pushvalue(L, F);
  lua_getinfo(L, ">Su", &ar);  /* nups: the closure's count, not the proto's */
  lua_pushstring(L, ar.short_src);
  o.where = lua_tostring(L, -1);
  lua_replace(L, PLANS);  /* anchors the string */
  lua_pushcfunction(L, readfunction);
  lua_pushvalue(L, F);
  if ((status = lua_pcall(L, 1, 1, 0)) != LUA_OK)  /* a chunk we refuse */
    return giveback(&o, status);
  o.c = bc_checkchunk(L, CHUNK);
  /* lua_load does not compare them: a crafted header can give the closure
     fewer upvalues than its prototype has, and then every upvalue access
     through the API past the closure's count reads out of its array */
  if (ar.nups != o.c->main->nup) {
    lua_pushfstring(L, "cpm: bad binary format (the closure has %d upvalues, "
                       "its function %d)", (int)ar.nups, o.c->main->nup);
    return giveback(&o, LUA_ERRRUN);
  }
  o.nup = ar.nups;
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushcclosure(L, rewriteall, 1);
  for (status = F; status <= CHUNK; status++) lua_pushvalue(L, status);
  lua_pushlightuserdata(L, &o);
  status = lua_pcall(L, CHUNK + 1, 1, 0);
  if (status != LUA_OK)  /* e.g. a relocated jump that does not fit */
    return giveback(&o, status);
  lua_pushvalue(L, REPORT);
  if (o.nloops == 0) return 2;
  lua_pushvalue(L, HOOKS);
  return 3;
}


static const luaL_Reg funcs[] = {
  {"_optimize54", lopt},
  {NULL, NULL}
};

void opt54_open (lua_State *L, int mod, int cfg) {
  cpm_setfuncs(L, mod, cfg, funcs);
}

#else

void opt54_open (lua_State *L, int mod, int cfg) {
  (void)L; (void)mod; (void)cfg;
}

#endif
