/*
** alloctest.c -- cpm under allocation failure (Lua 5.4).
**
**   alloctest script.lua [step [first]]
**
** For k = first, first + step, ... it makes a fresh lua_State whose
** allocator refuses every allocation (and every growing reallocation)
** from the k-th one on, counted from the start of the script, and runs
** the script in it under lua_pcall.  The script (tools/alloctest.lua)
** requires cpm from LUA_CPATH and exercises optimize, explain, load, an
** optimized loop's guard and every cpm.big operator, asserting each
** result.  For every k it checks:
**   - the script ends normally, or with an error that says "not enough
**     memory" (an assertion of the script failing means a wrong result
**     under memory pressure: reported);
**   - with the allocator working again, the same state still runs cpm
**     (USABLE below) and gives the right value;
**   - after lua_close, every byte the state allocated was freed (a leak
**     of Lua-allocated memory; ASan's leak check sees malloc's);
** and stops at the first k at which the script made fewer than k
** allocations: every failure point has then been tried.  The idea is
** Lua's own test library's allocation limit (ltests.c, T.totalmem and
** countlimit); the code is ours.  Lua 5.4 only: LuaJIT 2.1 on 64-bit
** hosts refuses lua_newstate with a custom allocator.
** Exits 0 when every k passed, 1 otherwise; prints one summary line.
*/
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

/* Run with the allocator working again, after each k: needs cpm, the
   bignums, an optimized loop and its guard. */
#define USABLE \
  "local cpm = require 'cpm' " \
  "local f = function(n, a, b) for i = 1, n do a, b = b, a + b end " \
  "  return a end " \
  "local g = cpm.optimize(f, { iters_limit = 2 }) " \
  "return tostring(g(100, cpm.big(0), cpm.big(1))) .. ' ' .. " \
  "  tostring(cpm.big(2) ^ 70 - 1)"
#define USABLE_RESULT	"354224848179261915075 1180591620717411303423"

typedef struct Mem {
  size_t total;		/* bytes allocated now */
  unsigned long count;	/* allocations made since counting started */
  unsigned long failat;	/* refuse the failat-th and later; 0: never */
  int counting;
} Mem;


/* Allocation and growth count; frees and shrinks always succeed. */
static void *alloc (void *ud, void *ptr, size_t osize, size_t nsize) {
  Mem *m = (Mem *)ud;
  void *p;
  if (ptr == NULL)
    osize = 0;  /* osize is a type tag for new blocks */
  if (nsize == 0) {
    free(ptr);
    m->total -= osize;
    return NULL;
  }
  if (nsize > osize && m->counting) {
    m->count++;
    if (m->failat != 0 && m->count >= m->failat)
      return NULL;
  }
  p = realloc(ptr, nsize);
  if (p == NULL)
    return NULL;
  m->total = m->total - osize + nsize;
  return p;
}


/* One k.  Returns 1 when the script completed (k was past its last
   allocation), 0 when it failed with a memory error, -1 on a finding. */
static int runone (const char *script, unsigned long k, Mem *m) {
  lua_State *L;
  int status, done = 0;
  const char *msg;
  memset(m, 0, sizeof(*m));
  L = lua_newstate(alloc, m);
  if (L == NULL) {
    fprintf(stderr, "alloctest: cannot create a state\n");
    return -1;
  }
  luaL_openlibs(L);
  if (luaL_loadfile(L, script) != LUA_OK) {
    fprintf(stderr, "alloctest: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return -1;
  }
  m->failat = k;
  m->counting = 1;
  status = lua_pcall(L, 0, 0, 0);
  m->counting = 0;
  m->failat = 0;
  if (status == LUA_OK)
    done = 1;
  else {
    msg = lua_tostring(L, -1);
    if (msg == NULL || strstr(msg, "not enough memory") == NULL) {
      fprintf(stderr, "alloctest: at allocation %lu the script raised: %s\n",
              k, msg ? msg : "(not a string)");
      done = -1;
    }
    lua_pop(L, 1);
  }
  if (done >= 0) {
    if (luaL_dostring(L, USABLE) != LUA_OK ||
        strcmp(lua_tostring(L, -1), USABLE_RESULT) != 0) {
      fprintf(stderr, "alloctest: after failing at allocation %lu the state "
                      "gives: %s\n", k, lua_tostring(L, -1));
      done = -1;
    }
  }
  lua_close(L);
  if (m->total != 0) {
    fprintf(stderr, "alloctest: after failing at allocation %lu, %zu bytes "
                    "were never freed\n", k, m->total);
    done = -1;
  }
  return done;
}


int main (int argc, char **argv) {
  unsigned long k, step = 1, first = 1, runs = 0, bad = 0;
  Mem m;
  int r;
  if (argc < 2) {
    fprintf(stderr, "usage: alloctest script.lua [step [first]]\n");
    return 2;
  }
  if (argc > 2) step = strtoul(argv[2], NULL, 10);
  if (argc > 3) first = strtoul(argv[3], NULL, 10);
  if (step == 0) step = 1;
  if (first == 0) first = 1;
  for (k = first; ; k += step) {
    runs++;
    r = runone(argv[1], k, &m);
    if (r < 0) bad++;
    if (r == 1 || bad >= 10) break;
  }
  printf("alloctest: %lu failure points tried (every %lu-th of the script's "
         "%lu allocations), %lu failed\n", runs, step, m.count, bad);
  return bad == 0 ? 0 : 1;
}
