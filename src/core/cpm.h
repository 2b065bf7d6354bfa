/*
** cpm.h -- what every C file of cpm shares: the VM it is built for, the
** few API differences between Lua 5.4 and LuaJIT 2.1 (Lua 5.1 API), and the
** per-state configuration that every Lua-callable function receives as its
** first upvalue.  Internal functions are hidden by -fvisibility=hidden; only
** luaopen_cpm_core is exported.
*/
#ifndef cpm_h
#define cpm_h

#include <stddef.h>
#include <stdint.h>

/*
** A call of an undeclared function compiles, in C before C99 and with a
** warning since, into a call returning int: a pointer returned that way
** is cut to 32 bits and crashes the host later.  That is how the module
** once built against Lua 5.1's headers (no luaL_testudata).  luarocks
** builds with its own flags, not the Makefile's, so the header says it.
*/
#if defined(__GNUC__)
#pragma GCC diagnostic error "-Wimplicit-function-declaration"
#endif

#include "lua.h"
#include "lauxlib.h"

#if LUA_VERSION_NUM >= 504
#define CPM_LUA54	1
#define CPM_LUAJIT	0
#elif LUA_VERSION_NUM == 501
#define CPM_LUA54	0
#define CPM_LUAJIT	1
#else
#error "cpm builds for Lua 5.4 or LuaJIT 2.1"
#endif

#define CPM_EXPORT	__attribute__((visibility("default")))

/* Internal consistency checks, compiled in with -DCPM_DEBUG. */
#if defined(CPM_DEBUG)
#include <assert.h>
#define cpm_assert(c)	assert(c)
#else
#define cpm_assert(c)	((void)0)
#endif


/* {======================================================
** API differences
** ======================================================= */

#if CPM_LUA54
#define cpm_newuserdata(L,sz)	lua_newuserdatauv(L, (sz), 0)
#define cpm_rawlen(L,i)		lua_rawlen(L, (i))
#define cpm_absindex(L,i)	lua_absindex(L, (i))
#define cpm_testudata(L,i,t)	luaL_testudata(L, (i), (t))
#else
#define cpm_newuserdata(L,sz)	lua_newuserdata(L, (sz))
#define cpm_rawlen(L,i)		lua_objlen(L, (i))
#define cpm_absindex(L,i)	((i) > 0 || (i) <= LUA_REGISTRYINDEX ? (i) \
                                 : lua_gettop(L) + (i) + 1)
/*
** luaL_testudata is in LuaJIT's lauxlib.h but not in Lua 5.1's, and
** `luarocks --lua-version 5.1` may compile against either: cpm brings
** its own.  Returns the block of the full userdata at 'idx' when its
** metatable is the registry's 'tname', else NULL.  Stack: unchanged.
*/
void *cpm_testudata (lua_State *L, int idx, const char *tname);
#endif

/* }====================================================== */


/* {======================================================
** Memory errors
** ======================================================= */

/* What a memory error says: Lua's own message (lstate.c, MEMERRMSG), so a
   caller tells cpm's memory errors from Lua's by nothing. */
#define CPM_MSG_NOMEM	"not enough memory"

/* Raises CPM_MSG_NOMEM.  Never returns. */
int cpm_nomem (lua_State *L);

/*
** Is the error value at the top of the stack, which a protected call
** ended with 'status', a memory error (LUA_ERRMEM, or a message of cpm
** or of Lua that says CPM_MSG_NOMEM)?  Stack: unchanged.
*/
int cpm_ismemerror (lua_State *L, int status);

/*
** A scratch block of 'size' bytes that lives as long as the value this
** pushes on the stack (a userdata: pop it, or let the frame end, and the
** block goes with it).  Raises CPM_MSG_NOMEM on memory error.  Use it for
** buffers only: the value is not the block, so lua_touserdata on it and a
** metatable set on it do not reach the block.
**
** With -DCPM_ASAN_BUFFERS (make asan) the block comes from malloc, owned
** by a small userdata whose __gc frees it, so AddressSanitizer sees its
** exact bounds: LuaJIT allocates userdata from its own arena, where a
** write past a block corrupts the next one silently, and Lua 5.4 puts a
** header before each.  Without it, it is a plain userdata (no cost).
*/
#if defined(CPM_ASAN_BUFFERS)
void *cpm_newbuffer (lua_State *L, size_t size);
#else
#define cpm_newbuffer(L,sz)	cpm_newuserdata(L, (sz))
#endif

/* }====================================================== */


/* {======================================================
** Configuration: one per module instance (never global), reached by every
** Lua-callable C function of cpm as upvalue 1.
** ======================================================= */

/* Default size limit of one bignum, in bits (2^32 bits = 512 MiB). */
#define CPM_DEFAULT_MAXBITS	((uint64_t)1 << 32)

typedef struct cpm_Config {
  uint64_t maxbits;	/* no bignum result may exceed this many bits */
} cpm_Config;

#define cpm_config(L)	((cpm_Config *)lua_touserdata(L, lua_upvalueindex(1)))

/*
** Sets the functions of 'l' into the table at index 'tidx', each with the
** configuration (at 'cidx') as its single upvalue.  Stack: unchanged.
*/
void cpm_setfuncs (lua_State *L, int tidx, int cidx, const luaL_Reg *l);

/* }====================================================== */


/*
** Each part of the module registers itself: called by luaopen_cpm_core with
** the module table at index 'mod' and the configuration at index 'cfg';
** each leaves the stack as it found it.
*/
void big_open (lua_State *L, int mod, int cfg);
void range_open (lua_State *L, int mod, int cfg);
void bc_open (lua_State *L, int mod, int cfg);
void mat_open (lua_State *L, int mod, int cfg);
void plan_open (lua_State *L, int mod, int cfg);
void opt54_open (lua_State *L, int mod, int cfg);
void jitbc_open (lua_State *L, int mod, int cfg);
void optjit_open (lua_State *L, int mod, int cfg);
void reasons_open (lua_State *L, int mod, int cfg);
void runner_open (lua_State *L, int mod, int cfg);

#endif
