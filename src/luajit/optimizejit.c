/*
** optimizejit.c -- cpm.optimize on LuaJIT: the bytecode front end, the
** twin of optimize54.c.
**
**   lua_dump(f) (LuaJIT's writer undoes the JIT's patches) -> jitbc_read ->
**   for every prototype: findjit (loops, IR) -> plan_make -> rewritejit
**   (count checks and guard calls) -> jitbc_write -> luaL_loadbuffer ->
**   debug.upvaluejoin with f's upvalues, the hook table in the upvalue that
**   the rewrite added, and f's environment.  (debug.upvaluejoin as it was
**   when cpm.core loaded, LuaJIT's extension of Lua 5.1's debug library,
**   rather than lua_upvaluejoin,
**   which Lua 5.1's headers do not declare: the module builds and loads
**   against them, as `luarocks --lua-version 5.1` does.)
**
** Internal entry point:
**   cpm.core._optimizejit(f, iters_limit, strict [, on_fallback])
**   -> g, report [, hooks]   report = { { line =, optimized =, reason =,
**   depends = [, kind = "while" | "repeat"] }, ... } (depends: an optimized
**   loop's plan_depends sentence)
** g is f itself when no loop was rewritten; otherwise hooks is g's hook
** table, whose field GUARD_STATSKEY holds the loops' records (guard.h).  A dump this front end does not
** recognize gives f and an empty report with 'reason' set (or raises when
** strict).
*/
#include <stdio.h>
#include <string.h>

#include "guard.h"
#include "guard_gf2.h"
#include "plan.h"
#include "report.h"
#include "range.h"
#include "rewritejit.h"

#if CPM_LUAJIT

/* The registry's copy of the base library's type, taken when the module
   is opened (the count check of while loops calls it: see rewritejit.c). */
#define TYPEFN		"cpm.jit.type"

/* Stack slots of the driver (fixed positions, see lopt). */
enum { F = 1, LIMIT, STRICT, ONFALLBACK, REPORT, WHERE, HOOKS, JOIN, DUMP, ARENA };


/* An upvalue that cpm adds to prototypes, each passing it down from its
   parent's (the root's is set after loading, loadnew). */
typedef struct UvSet {
  const char *name;
  jitbc_Proto **p;	/* prototypes with the upvalue ... */
  int *u;		/* ... and its index */
  int n;
} UvSet;

typedef struct Opt {
  lua_State *L;
  jitbc_Chunk c;
  lua_Integer limit;
  int strict;
  const char *where;	/* f's short source */
  int nloops;		/* planned loops, numbered from 1 */
  int nreport;
  report_Strict st;	/* strict: the refused loop to raise for */
  UvSet hook;		/* the hook table's upvalues, "(cpm)" */
  UvSet type;		/* the function type's, "(cpm type)" */
} Opt;


/* {======================================================
** Reading
** ======================================================= */

static int dumpwriter (lua_State *L, const void *b, size_t size, void *ud) {
  (void)L;
  luaL_addlstring((luaL_Buffer *)ud, (const char *)b, size);
  return 0;
}

/* Protected: (f) -> its dump */
static int dumpfunction (lua_State *L) {
  luaL_Buffer b;
  lua_settop(L, 1);
  luaL_buffinit(L, &b);
  if (lua_dump(L, dumpwriter, &b) != 0)
    return luaL_error(L, "cpm: cannot dump the function");
  luaL_pushresult(&b);
  return 1;
}

/* Protected: (dump, chunk) reads the dump into the chunk's arena (the
   arena table is created here and returned). */
static int readdump (lua_State *L) {
  jitbc_Chunk *c = (jitbc_Chunk *)lua_touserdata(L, 2);
  size_t len;
  const char *s = lua_tolstring(L, 1, &len);
  lua_settop(L, 2);
  jitbc_init(L, c);  /* the arena, at index 3 */
  jitbc_read(c, s, len);
  lua_settop(L, 3);
  return 1;
}

/* }====================================================== */


/* type(v) -> v's type name: the count check's type when the base
   library's was missing or not a built-in at load time (slower: a C call,
   but the same answers). */
static int typename (lua_State *L) {
  luaL_checkany(L, 1);
  lua_pushstring(L, luaL_typename(L, 1));
  return 1;
}


/* Returns the environment of the Lua function that called it (hook[0]:
   the emitted code's way to reach its own globals). */
static int callerenv (lua_State *L) {
  lua_Debug ar;
  if (lua_getstack(L, 1, &ar) == 0 || lua_getinfo(L, "f", &ar) == 0)
    return 0;
  lua_getfenv(L, -1);
  return 1;
}


static void report (Opt *o, int line, int optimized, const char *why,
                    ir_Kind kind) {
  report_loop(o->L, REPORT, &o->nreport, line, optimized, why, 0, kind,
              o->strict ? &o->st : NULL);
}


/* The upvalue of set 'set' in 'p', added (with every ancestor's) when
   missing; -1 when there is no room. */
static int uvof (Opt *o, UvSet *set, jitbc_Proto *p) {
  int i, parent;
  for (i = 0; i < set->n; i++)
    if (set->p[i] == p) return set->u[i];
  if (p->nuv >= JITBC_MAXUV) return -1;
  if (p->parent == NULL)  /* the root: a fresh upvalue, set after loading
                            and never again: immutable, so that a trace
                            takes the value of "(cpm type)" for a constant
                            (lj_record.c, rec_upvalue_constify) */
    i = jitbc_adduv(&o->c, p, JITBC_UV_IMMUTABLE, set->name);
  else {
    parent = uvof(o, set, p->parent);
    if (parent < 0) return -1;
    i = jitbc_adduv(&o->c, p, (uint16_t)parent, set->name);
  }
  set->p[set->n] = p;
  set->u[set->n++] = i;
  return i;
}


/* The root's upvalue of 'set' (1-based, for lua_setupvalue), or 0. */
static int rootuv (const UvSet *set) {
  int i;
  for (i = 0; i < set->n; i++)
    if (set->p[i]->parent == NULL) return set->u[i] + 1;
  return 0;
}


/* Plans and rewrites the loops of one prototype, last loop first so that
   insertions do not move the loops still to be done. */
static void doproto (Opt *o, jitbc_Proto *p) {
  lua_State *L = o->L;
  findjit_Loop *loops;
  int n = findjit_loops(&o->c, p, &loops), i;
  for (i = n - 1; i >= 0; i--) {
    findjit_Loop *lp = &loops[i];
    plan_Refusal why;
    plan_Plan *pl;
    const char *rw;
    lua_Integer limit;
    double objlimit;
    int hook, tyuv;
    char depends[320];
    if (!lp->lowered) {
      report(o, lp->why.line ? lp->why.line : lp->line, 0, lp->why.msg, lp->kind);
      continue;
    }
    pl = plan_make(L, &lp->ir, &why);
    if (pl == NULL) {
      report(o, why.line ? why.line : lp->line, 0, why.msg, lp->kind);
      continue;
    }
    plan_depends(pl, &lp->ir, depends, sizeof(depends));
    limit = o->limit > 0 ? o->limit : guard_defaultlimit(pl);
    objlimit = o->limit > 0 ? 0.0 : (double)GUARD_OBJ_ITERS_LIMIT;
    hook = uvof(o, &o->hook, p);
    tyuv = rewritejit_typetests(p, lp, pl, (double)limit, objlimit)
           ? uvof(o, &o->type, p) : 0;
    rw = hook < 0 || tyuv < 0 ? "too many upvalues for the guard"
                  : rewritejit_loop(&o->c, p, lp, pl, hook, tyuv, o->nloops + 1,
                                    (double)limit, objlimit);
    if (rw != NULL) {
      lua_pop(L, 1);
      report(o, lp->line, 0, rw, lp->kind);
      continue;
    }
    {
      char where[LUA_IDSIZE + 32];
      snprintf(where, sizeof(where), "%s:%d", o->where, lp->line);
      guard_Site site;
      site.iters_limit = limit;
      site.strict = o->strict;
      site.prepared = 0;
      site.hooks = HOOKS;  /* the rewritten code tests for false */
      site.id = o->nloops + 1;
      site.where = where;
      site.stats = HOOKS;
      site.record = 0;
      site.onfallback = lua_isnil(L, ONFALLBACK) ? 0 : ONFALLBACK;
      guard_pushsite(L, lua_upvalueindex(1), -1, &site);
    }
    lua_rawseti(L, HOOKS, ++o->nloops);
    lua_pop(L, 1);  /* the plan: kept by its guard */
    report(o, lp->line, 1, depends, lp->kind);
  }
}


/*
** debug.upvaluejoin is taken from package.loaded.debug when cpm.core
** loads, and kept in the registry (OPTJIT_JOINKEY): a program may then
** remove or replace it (or `debug`), and cpm still joins with the VM's
** own and runs none of the program's code.  Taken at the call only when
** it was not there at load.  Pushes it, or nil.
*/
#define OPTJIT_JOINKEY	"cpm.upvaluejoin"

static void pushjoin (lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
  if (lua_istable(L, -1)) lua_getfield(L, -1, "debug");
  else lua_pushnil(L);
  if (lua_istable(L, -1)) lua_getfield(L, -1, "upvaluejoin");
  else lua_pushnil(L);
  lua_replace(L, -3);
  lua_pop(L, 1);
  if (lua_type(L, -1) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    lua_pushnil(L);
  }
}


/* Loads the rewritten chunk as g, sharing f's upvalues and environment;
   pushes g. */
static void loadnew (Opt *o) {
  lua_State *L = o->L;
  size_t len;
  const char *s;
  int i, nup, hook = rootuv(&o->hook), tyuv = rootuv(&o->type);
  jitbc_write(&o->c);
  s = lua_tolstring(L, -1, &len);
  if (luaL_loadbuffer(L, s, len, "=(cpm)") != 0)
    lua_error(L);  /* a bug of ours: never hide it */
  lua_remove(L, -2);
  for (nup = 0; lua_getupvalue(L, F, nup + 1) != NULL; nup++) lua_pop(L, 1);
  for (i = 1; i <= nup; i++) {
    lua_pushvalue(L, JOIN);
    lua_pushvalue(L, -2);
    lua_pushinteger(L, i);
    lua_pushvalue(L, F);
    lua_pushinteger(L, i);
    lua_call(L, 4, 0);
  }
  lua_pushcfunction(L, callerenv);
  lua_rawseti(L, HOOKS, REWRITEJIT_ENVFN);
  lua_getfield(L, LUA_REGISTRYINDEX, RANGE_NEXT);
  lua_rawseti(L, HOOKS, REWRITEJIT_RANGENEXT);
  if (tyuv > 0) {
    lua_getfield(L, LUA_REGISTRYINDEX, TYPEFN);
    lua_setupvalue(L, -2, tyuv);
  }
  lua_pushvalue(L, HOOKS);
  lua_setupvalue(L, -2, hook);
  lua_getfenv(L, F);
  lua_setfenv(L, -2);
}


/* Gives f back unchanged with a report that says why ('reason' at the
   top), or raises it when strict. */
static int giveup (lua_State *L, int strict) {
  if (strict) lua_error(L);
  lua_setfield(L, REPORT, "reason");
  lua_pushvalue(L, F);
  lua_pushvalue(L, REPORT);
  return 2;
}


static int lopt (lua_State *L) {
  Opt o;
  lua_Debug ar;
  int i;
  memset(&o, 0, sizeof(o));
  o.L = L;
  luaL_checktype(L, F, LUA_TFUNCTION);
  o.limit = luaL_optinteger(L, LIMIT, 0);  /* 0: each plan's default */
  o.strict = lua_toboolean(L, STRICT);
  if (!lua_isnoneornil(L, ONFALLBACK)) luaL_checktype(L, ONFALLBACK, LUA_TFUNCTION);
  lua_settop(L, ONFALLBACK);
  lua_newtable(L);  /* REPORT */
  if (lua_iscfunction(L, F)) {
    lua_pushvalue(L, F);
    lua_pushvalue(L, REPORT);
    return 2;
  }
  lua_pushvalue(L, F);
  lua_getinfo(L, ">S", &ar);
  lua_pushstring(L, ar.short_src);  /* WHERE */
  o.where = lua_tostring(L, WHERE);
  /* HOOKS: an array part up to its last fixed entry (rewritejit.h), so
     that the rewritten code reads its entries without a hash lookup */
  lua_createtable(L, REWRITEJIT_RANGENEXT, 2);
  lua_getfield(L, LUA_REGISTRYINDEX, OPTJIT_JOINKEY);  /* JOIN */
  if (lua_type(L, JOIN) != LUA_TFUNCTION) {
    lua_settop(L, JOIN - 1);
    pushjoin(L);
  }
  if (lua_type(L, JOIN) != LUA_TFUNCTION) {
    lua_pushliteral(L, "cpm: debug.upvaluejoin is not available");
    return giveup(L, o.strict);
  }
  lua_pushcfunction(L, dumpfunction);
  lua_pushvalue(L, F);
  if (lua_pcall(L, 1, 1, 0) != 0) return giveup(L, o.strict);  /* DUMP */
  lua_pushcfunction(L, readdump);
  lua_pushvalue(L, DUMP);
  lua_pushlightuserdata(L, &o.c);
  if (lua_pcall(L, 2, 1, 0) != 0) return giveup(L, o.strict);  /* ARENA */
  o.c.L = L;
  o.c.arena = ARENA;
  o.hook.name = "(cpm)";
  o.type.name = "(cpm type)";
  o.hook.p = (jitbc_Proto **)jitbc_alloc(&o.c, sizeof(jitbc_Proto *) * (size_t)o.c.nproto);
  o.hook.u = (int *)jitbc_alloc(&o.c, sizeof(int) * (size_t)o.c.nproto);
  o.type.p = (jitbc_Proto **)jitbc_alloc(&o.c, sizeof(jitbc_Proto *) * (size_t)o.c.nproto);
  o.type.u = (int *)jitbc_alloc(&o.c, sizeof(int) * (size_t)o.c.nproto);
  for (i = 0; i < o.c.nproto; i++) doproto(&o, o.c.proto[i]);
  report_strictraise(L, &o.st, o.where);
  if (o.nloops == 0) lua_pushvalue(L, F);
  else loadnew(&o);
  lua_pushvalue(L, REPORT);
  if (o.nloops == 0) return 2;
  lua_pushvalue(L, HOOKS);
  return 3;
}


/*
** cpm.core._bitlib(t): keeps t, the bit library's own functions by name
** (lua/cpm/init.lua recognizes them), in the registry for the guard
** (guard_gf2.h, GUARD_GF2_BITLIB).  Raises when t is not a table.
*/
static int lbitlib (lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, GUARD_GF2_BITLIB);
  return 0;
}


static const luaL_Reg funcs[] = {
  {"_optimizejit", lopt},
  {"_bitlib", lbitlib},
  {NULL, NULL}
};

void optjit_open (lua_State *L, int mod, int cfg) {
  cpm_setfuncs(L, mod, cfg, funcs);
  pushjoin(L);
  lua_setfield(L, LUA_REGISTRYINDEX, OPTJIT_JOINKEY);
  /* LuaJIT's own type (a built-in the JIT compiles inline), unless a
     program replaced it with a function of its own before loading us */
  lua_getfield(L, LUA_GLOBALSINDEX, "type");
  if (!lua_iscfunction(L, -1)) {
    lua_pop(L, 1);
    lua_pushcfunction(L, typename);
  }
  lua_setfield(L, LUA_REGISTRYINDEX, TYPEFN);
}

#else

void optjit_open (lua_State *L, int mod, int cfg) {
  (void)L; (void)mod; (void)cfg;
}

#endif
