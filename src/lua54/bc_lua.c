/*
** bc_lua.c -- internal Lua entry points of the Lua 5.4 chunk reader,
** writer and editor (cpm.core._bc_*), for the specs and for debugging.
** Each takes a dump string and works on a fresh tree; the tree is on the
** stack while it is used, so an error frees it through its __gc.
*/
#include "bc.h"

#if CPM_LUA54

#include <string.h>


/* Reads the dump string at 'arg'.  Pushes the chunk. */
static bc_Chunk *readarg (lua_State *L, int arg) {
  size_t len;
  const char *s = luaL_checklstring(L, arg, &len);
  return bc_read(L, s, len);
}


/* The prototype named by the path table at 'arg' (1-based indices). */
static bc_Proto *patharg (lua_State *L, bc_Chunk *c, int arg) {
  int path[BC_MAXDEPTH], depth, i;
  bc_Proto *p;
  luaL_checktype(L, arg, LUA_TTABLE);
  depth = (int)luaL_len(L, arg);
  luaL_argcheck(L, depth >= 0 && depth <= BC_MAXDEPTH, arg, "path too long");
  for (i = 0; i < depth; i++) {
    lua_geti(L, arg, i + 1);
    path[i] = (int)luaL_checkinteger(L, -1) - 1;
    lua_pop(L, 1);
  }
  p = bc_find(c, path, depth);
  luaL_argcheck(L, p != NULL, arg, "no function at this path");
  return p;
}


/* _bc_roundtrip(s) -> the chunk read and written back */
static int lbc_roundtrip (lua_State *L) {
  bc_write(L, readarg(L, 1));
  return 1;
}


typedef struct LinesArg {
  lua_State *L;
  bc_Chunk *c;
} LinesArg;

static int reencode (bc_Proto *p, const int *path, int depth, void *ud) {
  LinesArg *a = (LinesArg *)ud;
  int *lines = (int *)bc_alloc(a->L, a->c, sizeof(int) * ((size_t)p->ncode + 1));
  (void)path; (void)depth;
  if (bc_getlines(a->L, p, lines))
    bc_setlines(a->L, a->c, p, lines);
  bc_free(a->c, lines);
  return 0;
}

/* _bc_reencode_lines(s) -> the chunk with every proto's line info
   rebuilt from its absolute lines */
static int lbc_reencode_lines (lua_State *L) {
  LinesArg a;
  a.L = L;
  a.c = readarg(L, 1);
  bc_foreach(a.c, reencode, &a);
  bc_write(L, a.c);
  return 1;
}


/* {======================================================
** Listing
** ======================================================= */

typedef struct ListArg {
  lua_State *L;
  bc_Chunk *c;
  luaL_Buffer *b;
} ListArg;

static void addpath (lua_State *L, luaL_Buffer *b, const int *path,
                     int depth) {
  int i;
  if (depth == 0)
    luaL_addstring(b, "main");
  for (i = 0; i < depth; i++) {
    lua_pushfstring(L, i == 0 ? "%d" : ".%d", path[i] + 1);
    luaL_addvalue(b);
  }
}


static void addoperands (lua_State *L, luaL_Buffer *b, bc_Instr i, int pc) {
  const bc_OpInfo *op = &bc_opinfo[BC_GET_OPCODE(i)];
  switch (op->fmt) {
    case bc_iABC:
      if (op->a != BC_ARG__) {
        lua_pushfstring(L, " %d", BC_GETARG_A(i));
        luaL_addvalue(b);
      }
      if (op->b != BC_ARG__) {
        lua_pushfstring(L, " %d",
                        op->b == BC_ARG_S ? BC_GETARG_sB(i) : BC_GETARG_B(i));
        luaL_addvalue(b);
      }
      if (op->c != BC_ARG__) {
        lua_pushfstring(L, " %d",
                        op->c == BC_ARG_S ? BC_GETARG_sC(i) : BC_GETARG_C(i));
        luaL_addvalue(b);
      }
      if (BC_GETARG_k(i))
        luaL_addstring(b, " k");
      break;
    case bc_iABx:
      lua_pushfstring(L, " %d %d", BC_GETARG_A(i), BC_GETARG_Bx(i));
      luaL_addvalue(b);
      break;
    case bc_iAsBx:
      lua_pushfstring(L, " %d %d", BC_GETARG_A(i), BC_GETARG_sBx(i));
      luaL_addvalue(b);
      break;
    case bc_iAx:
      lua_pushfstring(L, " %d", BC_GETARG_Ax(i));
      luaL_addvalue(b);
      break;
    case bc_isJ:
      lua_pushfstring(L, " %d", BC_GETARG_sJ(i));
      luaL_addvalue(b);
      break;
  }
  if (op->flags & BC_FJUMP) {
    lua_pushfstring(L, " ; to %d", bc_jumptarget(i, pc));
    luaL_addvalue(b);
  }
}


static int listproto (bc_Proto *p, const int *path, int depth, void *ud) {
  ListArg *a = (ListArg *)ud;
  lua_State *L = a->L;
  luaL_Buffer *b = a->b;
  int *lines = (int *)bc_alloc(L, a->c, sizeof(int) * ((size_t)p->ncode + 1));
  int haslines = bc_getlines(L, p, lines), pc;
  luaL_addstring(b, "function ");
  addpath(L, b, path, depth);
  lua_pushfstring(L, " <%s:%d,%d> %d instructions, %d constants, "
                  "%d upvalues, %d functions, %d params%s, %d slots\n",
                  p->source.s != NULL ? p->source.s : "?",
                  p->linedefined, p->lastlinedefined, p->ncode, p->nk,
                  p->nup, p->np, p->numparams, p->is_vararg ? "+" : "",
                  p->maxstacksize);
  luaL_addvalue(b);
  for (pc = 0; pc < p->ncode; pc++) {
    bc_Instr i = p->code[pc];
    const char *name = bc_opinfo[BC_GET_OPCODE(i)].name;
    if (haslines)
      lua_pushfstring(L, "\t%d\t[%d]\t", pc, lines[pc]);
    else
      lua_pushfstring(L, "\t%d\t[-]\t", pc);
    luaL_addvalue(b);
    if (name != NULL) {
      luaL_addstring(b, name);
      addoperands(L, b, i, pc);
    }
    else {
      lua_pushfstring(L, "opcode %d?", BC_GET_OPCODE(i));
      luaL_addvalue(b);
    }
    luaL_addchar(b, '\n');
  }
  bc_free(a->c, lines);
  return 0;
}

/* _bc_list(s) -> a listing: per proto a header, per instruction one line
   "pc [line] NAME operands" */
static int lbc_list (lua_State *L) {
  luaL_Buffer b;
  ListArg a;
  a.L = L;
  a.c = readarg(L, 1);
  a.b = &b;
  luaL_buffinit(L, &b);
  bc_foreach(a.c, listproto, &a);
  luaL_pushresult(&b);
  return 1;
}

/* }====================================================== */


typedef struct ProtosArg {
  lua_State *L;
  bc_Chunk *c;
  int n;		/* entries so far in the result table (at -1) */
} ProtosArg;

static int describe (bc_Proto *p, const int *path, int depth, void *ud) {
  ProtosArg *a = (ProtosArg *)ud;
  lua_State *L = a->L;
  int *lines = (int *)bc_alloc(L, a->c, sizeof(int) * ((size_t)p->ncode + 1));
  int i;
  luaL_checkstack(L, 4, "cpm: _bc_protos");
  lua_createtable(L, 0, 8);
  lua_createtable(L, depth, 0);
  for (i = 0; i < depth; i++) {
    lua_pushinteger(L, path[i] + 1);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "path");
  lua_pushinteger(L, p->linedefined);
  lua_setfield(L, -2, "linedefined");
  lua_pushinteger(L, p->nk);
  lua_setfield(L, -2, "nk");
  lua_pushinteger(L, p->maxstacksize);
  lua_setfield(L, -2, "maxstacksize");
  lua_createtable(L, p->ncode, 0);
  for (i = 0; i < p->ncode; i++) {
    const char *name = bc_opinfo[BC_GET_OPCODE(p->code[i])].name;
    lua_pushstring(L, name != NULL ? name : "?");
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "ops");
  if (bc_getlines(L, p, lines)) {
    lua_createtable(L, p->ncode, 0);
    for (i = 0; i < p->ncode; i++) {
      lua_pushinteger(L, lines[i]);
      lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "lines");
  }
  bc_free(a->c, lines);
  lua_rawseti(L, -2, ++a->n);
  return 0;
}

/* _bc_protos(s) -> { {path=, linedefined=, nk=, maxstacksize=, ops=,
   lines=}, ... } in bc_foreach order */
static int lbc_protos (lua_State *L) {
  ProtosArg a;
  a.L = L;
  a.c = readarg(L, 1);
  a.n = 0;
  lua_newtable(L);
  bc_foreach(a.c, describe, &a);
  return 1;
}


/*
** _bc_insert_nops(s, path, pc, n [, land [, kind]]) -> new dump, or nil
** and the reason when insertion is refused there.  pc is 0-based like the
** listing; land is "before" (default) or "after"; kind is "jmp" (JMP 0,
** default) or "move" (MOVE 0 0).  The nops carry the line of the
** instruction they precede.
*/
static int lbc_insert_nops (lua_State *L) {
  static const char *const lands[] = {"before", "after", NULL};
  static const char *const kinds[] = {"jmp", "move", NULL};
  lua_Integer pc = luaL_checkinteger(L, 3);
  lua_Integer n = luaL_checkinteger(L, 4);
  int land = luaL_checkoption(L, 5, "before", lands);
  int kind = luaL_checkoption(L, 6, "jmp", kinds);
  bc_Chunk *c;
  bc_Proto *p;
  const char *why;
  bc_Instr *ins;
  int i, line = 0;
  lua_settop(L, 2);
  c = readarg(L, 1);
  p = patharg(L, c, 2);
  luaL_argcheck(L, pc >= 0 && pc <= p->ncode, 3, "pc out of range");
  luaL_argcheck(L, n >= 0 && n <= 1000, 4, "count out of range");
  why = bc_caninsert(p, (int)pc, (int)n, land);
  if (why != NULL) {
    luaL_pushfail(L);
    lua_pushstring(L, why);
    return 2;
  }
  ins = (bc_Instr *)bc_alloc(L, c, sizeof(bc_Instr) * ((size_t)n + 1));
  for (i = 0; i < n; i++)
    ins[i] = kind == 0 ? BC_CREATE_sJ(BC_OP_JMP, 0)
                       : BC_CREATE_ABCk(BC_OP_MOVE, 0, 0, 0, 0);
  if (p->nlineinfo > 0) {
    int *lines = (int *)bc_alloc(L, c, sizeof(int) * ((size_t)p->ncode + 1));
    bc_getlines(L, p, lines);
    line = pc < p->ncode ? lines[pc] : p->lastlinedefined;
    bc_free(c, lines);
  }
  if (kind == 1)
    bc_needstack(L, p, 1);
  bc_insert(L, c, p, (int)pc, ins, (int)n, line, land);
  bc_write(L, c);
  return 1;
}


/* _bc_addconst(s, path, v [, long]) -> new dump, index (0-based) of v */
static int lbc_addconst (lua_State *L) {
  bc_Chunk *c;
  bc_Proto *p;
  bc_Const k;
  memset(&k, 0, sizeof(k));
  lua_settop(L, 3);
  switch (lua_type(L, 3)) {
    case LUA_TNIL: k.tag = BC_VNIL; break;
    case LUA_TBOOLEAN: k.tag = lua_toboolean(L, 3) ? BC_VTRUE : BC_VFALSE;
      break;
    case LUA_TNUMBER:
      if (lua_isinteger(L, 3)) {
        k.tag = BC_VNUMINT;
        k.u.i = lua_tointeger(L, 3);
      }
      else {
        k.tag = BC_VNUMFLT;
        k.u.n = lua_tonumber(L, 3);
      }
      break;
    case LUA_TSTRING:
      k.tag = BC_VSHRSTR;
      k.u.s.s = (char *)lua_tolstring(L, 3, &k.u.s.len);
      break;
    default:
      return luaL_argerror(L, 3, "nil, boolean, number or string expected");
  }
  c = readarg(L, 1);
  p = patharg(L, c, 2);
  lua_pushinteger(L, bc_addconst(L, c, p, &k));
  bc_write(L, c);
  lua_insert(L, -2);
  return 2;
}


/* _bc_addupval(s, path, instack, idx, kind [, name]) -> new dump, index
   (0-based) of the new upvalue */
static int lbc_addupval (lua_State *L) {
  int instack = (int)luaL_checkinteger(L, 3);
  int idx = (int)luaL_checkinteger(L, 4);
  int kind = (int)luaL_checkinteger(L, 5);
  size_t len = 0;
  const char *name = luaL_optlstring(L, 6, NULL, &len);
  bc_Chunk *c;
  bc_Proto *p;
  int i;
  lua_settop(L, 6);
  c = readarg(L, 1);
  p = patharg(L, c, 2);
  i = bc_addupval(L, c, p, instack, idx, kind, name, len);
  bc_write(L, c);
  lua_pushinteger(L, i);
  return 2;
}


static const luaL_Reg bc_funcs[] = {
  {"_bc_roundtrip", lbc_roundtrip},
  {"_bc_reencode_lines", lbc_reencode_lines},
  {"_bc_list", lbc_list},
  {"_bc_protos", lbc_protos},
  {"_bc_insert_nops", lbc_insert_nops},
  {"_bc_addconst", lbc_addconst},
  {"_bc_addupval", lbc_addupval},
  {NULL, NULL}
};

void bc_open (lua_State *L, int mod, int cfg) {
  cpm_setfuncs(L, mod, cfg, bc_funcs);
}

#else

void bc_open (lua_State *L, int mod, int cfg) {
  (void)L; (void)mod; (void)cfg;
}

#endif
