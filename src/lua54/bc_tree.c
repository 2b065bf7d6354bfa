/*
** bc_tree.c -- the memory of a chunk tree and its traversal.  Every piece
** of a tree is a block of one arena, owned by the chunk userdata: its __gc
** (and __close) frees all blocks, so an error raised anywhere while a tree
** is built or edited leaks nothing.
*/
#include "bc.h"

#if CPM_LUA54

#include <stdarg.h>
#include <string.h>

/* header of each allocation; the union keeps the payload aligned */
union bc_Block {
  struct {
    bc_Block *prev, *next;
    size_t size;		/* of the whole block, header included */
  } h;
  max_align_t align_;
};


int bc_error (lua_State *L, const char *fmt, ...) {
  va_list argp;
  va_start(argp, fmt);
  lua_pushvfstring(L, fmt, argp);
  va_end(argp);
  return lua_error(L);
}


static void nomemory (lua_State *L) {
  cpm_nomem(L);
}


void *bc_alloc (lua_State *L, bc_Chunk *c, size_t size) {
  bc_Block *b;
  if (size > ((size_t)-1) / 2 - sizeof(bc_Block))
    nomemory(L);
  size += sizeof(bc_Block);
  b = (bc_Block *)c->allocf(c->allocud, NULL, 0, size);
  if (b == NULL)
    nomemory(L);
  b->h.size = size;
  b->h.prev = NULL;
  b->h.next = c->blocks;
  if (c->blocks != NULL)
    c->blocks->h.prev = b;
  c->blocks = b;
  return b + 1;
}


void *bc_realloc (lua_State *L, bc_Chunk *c, void *p, size_t size) {
  bc_Block *b, *nb;
  if (p == NULL)
    return bc_alloc(L, c, size);
  if (size > ((size_t)-1) / 2 - sizeof(bc_Block))
    nomemory(L);
  b = (bc_Block *)p - 1;
  nb = (bc_Block *)c->allocf(c->allocud, b, b->h.size,
                             size + sizeof(bc_Block));
  if (nb == NULL)
    nomemory(L);  /* the old block is still linked and intact */
  nb->h.size = size + sizeof(bc_Block);
  if (nb->h.prev != NULL)
    nb->h.prev->h.next = nb;
  else
    c->blocks = nb;
  if (nb->h.next != NULL)
    nb->h.next->h.prev = nb;
  return nb + 1;
}


void bc_free (bc_Chunk *c, void *p) {
  bc_Block *b;
  if (p == NULL)
    return;
  b = (bc_Block *)p - 1;
  if (b->h.prev != NULL)
    b->h.prev->h.next = b->h.next;
  else
    c->blocks = b->h.next;
  if (b->h.next != NULL)
    b->h.next->h.prev = b->h.prev;
  c->allocf(c->allocud, b, b->h.size, 0);
}


void *bc_growarray (lua_State *L, bc_Chunk *c, void *a, int *size, int need,
                    size_t elem) {
  int n;
  if (need < 0 || need > (INT32_MAX / 2))
    bc_error(L, "cpm: chunk too large");
  n = *size * 2;
  if (n < need)
    n = need;
  if (n < 4)
    n = 4;
  a = bc_realloc(L, c, a, (size_t)n * elem);
  *size = n;
  return a;
}


bc_Proto *bc_newproto (lua_State *L, bc_Chunk *c) {
  bc_Proto *p = (bc_Proto *)bc_alloc(L, c, sizeof(bc_Proto));
  memset(p, 0, sizeof(*p));
  return p;
}


/* Frees every block; safe to call twice (the handle stays valid, empty). */
static void freeall (bc_Chunk *c) {
  bc_Block *b = c->blocks;
  while (b != NULL) {
    bc_Block *next = b->h.next;
    c->allocf(c->allocud, b, b->h.size, 0);
    b = next;
  }
  c->blocks = NULL;
  c->main = NULL;
}


#define tochunk(L,i)	((bc_Chunk *)luaL_checkudata(L, i, BC_METATABLE))

bc_Chunk *bc_checkchunk (lua_State *L, int arg) {
  bc_Chunk *c = tochunk(L, arg);
  if (c->main == NULL)
    luaL_argerror(L, arg, "empty or freed chunk");
  return c;
}


/* __gc and __close.  Stack: unchanged. */
static int chunk_free (lua_State *L) {
  freeall(tochunk(L, 1));
  return 0;
}


static const luaL_Reg chunk_meta[] = {
  {"__gc", chunk_free},
  {"__close", chunk_free},
  {NULL, NULL}
};


bc_Chunk *bc_newchunk (lua_State *L) {
  bc_Chunk *c = (bc_Chunk *)cpm_newuserdata(L, sizeof(bc_Chunk));
  memset(c, 0, sizeof(*c));
  c->allocf = lua_getallocf(L, &c->allocud);
  if (luaL_newmetatable(L, BC_METATABLE)) {
    luaL_setfuncs(L, chunk_meta, 0);
  }
  lua_setmetatable(L, -2);
  return c;
}


static int walk (bc_Proto *p, int *path, int depth, bc_Visitor f, void *ud) {
  int i, r = f(p, path, depth, ud);
  if (r != 0 || depth >= BC_MAXDEPTH)
    return r;
  for (i = 0; i < p->np; i++) {
    path[depth] = i;
    if ((r = walk(p->p[i], path, depth + 1, f, ud)) != 0)
      return r;
  }
  return 0;
}


int bc_foreach (bc_Chunk *c, bc_Visitor f, void *ud) {
  int path[BC_MAXDEPTH + 1];
  if (c->main == NULL)
    return 0;
  return walk(c->main, path, 0, f, ud);
}


bc_Proto *bc_find (bc_Chunk *c, const int *path, int depth) {
  bc_Proto *p = c->main;
  int i;
  for (i = 0; i < depth && p != NULL; i++)
    p = (path[i] >= 0 && path[i] < p->np) ? p->p[path[i]] : NULL;
  return p;
}

#endif
