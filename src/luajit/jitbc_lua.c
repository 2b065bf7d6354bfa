/*
** jitbc_lua.c -- internal Lua entry points of the LuaJIT dump reader,
** writer and editor (cpm.core._jitbc_*), for the specs.  Each takes a dump
** string and works on a fresh tree in an arena on the stack, so an error
** frees everything.
*/
#include <string.h>

#include "jitbc.h"

#if CPM_LUAJIT

/* Reads the dump string at 'arg' into 'c' (arena pushed). */
static void readarg (lua_State *L, jitbc_Chunk *c, int arg) {
  size_t len;
  const char *s = luaL_checklstring(L, arg, &len);
  jitbc_init(L, c);
  jitbc_read(c, s, len);
}


/* _jitbc_roundtrip(s) -> the dump read and written back */
static int lroundtrip (lua_State *L) {
  jitbc_Chunk c;
  readarg(L, &c, 1);
  jitbc_write(&c);
  return 1;
}


/*
** _jitbc_pad(s, every) -> the dump with a harmless instruction (KPRI of a
** new slot) inserted before every 'every'-th instruction (but
** those bound to the one before, see jitbc_caninsert) of every
** prototype, or nil and why not: exercises jump, line and variable
** relocation (the result must behave as the original).
*/
static int lpad (lua_State *L) {
  jitbc_Chunk c;
  int every = (int)luaL_checkinteger(L, 2), i, at;
  luaL_argcheck(L, every >= 1, 2, "must be positive");
  readarg(L, &c, 1);
  for (i = 0; i < c.nproto; i++) {
    jitbc_Proto *p = c.proto[i];
    jitbc_Ins ins;
    if (p->framesize >= JITBC_MAXSLOTS) continue;
    ins = jitbc_ad(JITBC_KPRI, p->framesize, JITBC_PRI_NIL);
    for (at = (p->ncode - 1) / every * every; at >= 0; at -= every) {
      const char *why;
      if (at > 0 && jitbc_bound(p->code[at - 1])) continue;
      why = jitbc_caninsert(p, at, 1);
      if (why != NULL) {
        lua_pushnil(L);
        lua_pushstring(L, why);
        return 2;
      }
      jitbc_insert(&c, p, at, &ins, 1);
    }
    p->framesize++;
  }
  jitbc_write(&c);
  return 1;
}


/* _jitbc_list(s) -> { { flags=, framesize=, nuv=, ncode=, code = { "OP a b c", ... } }, ... }
   in dump order (the root last) */
static int llist (lua_State *L) {
  jitbc_Chunk c;
  int i, j;
  readarg(L, &c, 1);
  lua_createtable(L, c.nproto, 0);
  for (i = 0; i < c.nproto; i++) {
    const jitbc_Proto *p = c.proto[i];
    lua_createtable(L, 0, 6);
    lua_pushinteger(L, p->flags); lua_setfield(L, -2, "flags");
    lua_pushinteger(L, p->framesize); lua_setfield(L, -2, "framesize");
    lua_pushinteger(L, p->nuv); lua_setfield(L, -2, "nuv");
    lua_pushinteger(L, p->depth); lua_setfield(L, -2, "depth");
    lua_pushinteger(L, p->firstline); lua_setfield(L, -2, "firstline");
    lua_createtable(L, p->ncode, 0);
    for (j = 0; j < p->ncode; j++) {
      jitbc_Ins ins = p->code[j];
      const jitbc_OpInfo *oi = &jitbc_opinfo[jitbc_op(ins)];
      if (oi->mb == JITBC_M____)
        lua_pushfstring(L, "%s %d %d", oi->name, jitbc_a(ins),
                        oi->mcd == JITBC_M_jump ? jitbc_j(ins) : jitbc_d(ins));
      else
        lua_pushfstring(L, "%s %d %d %d", oi->name, jitbc_a(ins), jitbc_b(ins),
                        jitbc_c(ins));
      lua_rawseti(L, -2, j + 1);
    }
    lua_setfield(L, -2, "code");
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}


static const luaL_Reg funcs[] = {
  {"_jitbc_roundtrip", lroundtrip},
  {"_jitbc_pad", lpad},
  {"_jitbc_list", llist},
  {NULL, NULL}
};

void jitbc_open (lua_State *L, int mod, int cfg) {
  cpm_setfuncs(L, mod, cfg, funcs);
}

#else

void jitbc_open (lua_State *L, int mod, int cfg) {
  (void)L; (void)mod; (void)cfg;
}

#endif
