/*
** bc_read.c -- reads a Lua 5.4 binary chunk (as lua_dump writes it) into
** a tree of prototypes (bc.h).  Mirrors lundump.c function by function;
** bc_write.c mirrors this file.  Everything the chunk holds is kept,
** including what Lua's own loader normalizes (string variant tags, absent
** sources), so that an unedited tree is written back byte for byte.
** Then bc_check.c refuses code that indexes outside the sizes read here.
*/
#include "bc.h"

#if CPM_LUA54

#include <string.h>

typedef struct LoadState {
  lua_State *L;
  bc_Chunk *c;
  const char *s;	/* next byte to read */
  size_t left;		/* bytes not read yet */
  int depth;		/* of the prototype being read */
} LoadState;


static void error (LoadState *S, const char *why) {
  bc_error(S->L, "cpm: bad binary format (%s)", why);
}


/* Every read goes through here. */
static void loadBlock (LoadState *S, void *b, size_t size) {
  if (size > S->left)
    error(S, "truncated chunk");
  if (size > 0)
    memcpy(b, S->s, size);
  S->s += size;
  S->left -= size;
}

#define loadVar(S,x)	loadBlock(S, &(x), sizeof(x))


static unsigned char loadByte (LoadState *S) {
  unsigned char b;
  loadVar(S, b);
  return b;
}


/* Most-significant group first, 7 bits a byte, high bit on the last. */
static size_t loadUnsigned (LoadState *S, size_t limit) {
  size_t x = 0;
  int b;
  limit >>= 7;
  do {
    b = loadByte(S);
    if (x >= limit)
      error(S, "integer overflow");
    x = (x << 7) | (size_t)(b & 0x7f);
  } while ((b & 0x80) == 0);
  return x;
}


static size_t loadSize (LoadState *S) {
  return loadUnsigned(S, (size_t)-1);
}


static int loadInt (LoadState *S) {
  return (int)loadUnsigned(S, INT_MAX);
}


/* A count of items of at least 'itemsize' bytes each: refusing counts the
   rest of the chunk cannot hold keeps a forged count from allocating. */
static int loadCount (LoadState *S, size_t itemsize) {
  int n = loadInt(S);
  if ((size_t)n > S->left / itemsize)
    error(S, "truncated chunk");
  return n;
}


static lua_Number loadNumber (LoadState *S) {
  lua_Number x;
  loadVar(S, x);
  return x;
}


static lua_Integer loadInteger (LoadState *S) {
  lua_Integer x;
  loadVar(S, x);
  return x;
}


/* A string that may be absent (size 0); kept NUL-terminated. */
static void loadStringN (LoadState *S, bc_Str *str) {
  size_t size = loadSize(S);
  str->s = NULL;
  str->len = 0;
  if (size == 0)
    return;
  size--;
  if (size > S->left)
    error(S, "truncated chunk");
  str->s = (char *)bc_alloc(S->L, S->c, size + 1);
  loadBlock(S, str->s, size);
  str->s[size] = '\0';
  str->len = size;
}


/* Allocates the vector 'v' of 'p' for 'n' elements. */
#define newvec(S, p, v, n) \
  ((p)->v = bc_alloc((S)->L, (S)->c, sizeof(*(p)->v) * (size_t)(n) + 1), \
   (p)->n##v = (p)->sz##v = (n))


static void loadCode (LoadState *S, bc_Proto *f) {
  int n = loadCount(S, sizeof(bc_Instr));
  newvec(S, f, code, n);
  loadBlock(S, f->code, sizeof(bc_Instr) * (size_t)n);
}


static void loadFunction (LoadState *S, bc_Proto *f);


static void loadConstants (LoadState *S, bc_Proto *f) {
  int i, n = loadCount(S, 1);
  newvec(S, f, k, n);
  memset(f->k, 0, sizeof(bc_Const) * (size_t)n);
  for (i = 0; i < n; i++) {
    bc_Const *o = &f->k[i];
    o->tag = loadByte(S);
    switch (o->tag) {
      case BC_VNIL: case BC_VFALSE: case BC_VTRUE:
        break;
      case BC_VNUMFLT:
        o->u.n = loadNumber(S);
        break;
      case BC_VNUMINT:
        o->u.i = loadInteger(S);
        break;
      case BC_VSHRSTR: case BC_VLNGSTR:
        loadStringN(S, &o->u.s);
        if (o->u.s.s == NULL)
          error(S, "bad format for constant string");
        break;
      default:
        error(S, "unknown constant type");
    }
  }
}


static void loadUpvalues (LoadState *S, bc_Proto *f) {
  int i, n = loadCount(S, 3);
  newvec(S, f, up, n);
  memset(f->up, 0, sizeof(bc_Upval) * (size_t)n);
  for (i = 0; i < n; i++) {
    f->up[i].instack = loadByte(S);
    f->up[i].idx = loadByte(S);
    f->up[i].kind = loadByte(S);
  }
}


static void loadProtos (LoadState *S, bc_Proto *f) {
  int i, n = loadCount(S, 1);
  newvec(S, f, p, n);
  for (i = 0; i < n; i++)
    f->p[i] = NULL;
  if (n > 0 && S->depth >= BC_MAXDEPTH)
    error(S, "functions nested too deeply");
  S->depth++;
  for (i = 0; i < n; i++) {
    f->p[i] = bc_newproto(S->L, S->c);
    loadFunction(S, f->p[i]);
  }
  S->depth--;
}


static void loadDebug (LoadState *S, bc_Proto *f) {
  int i, n;
  n = loadCount(S, 1);
  newvec(S, f, lineinfo, n);
  loadBlock(S, f->lineinfo, (size_t)n);
  n = loadCount(S, 2);
  newvec(S, f, absline, n);
  for (i = 0; i < n; i++) {
    f->absline[i].pc = loadInt(S);
    f->absline[i].line = loadInt(S);
  }
  n = loadCount(S, 3);
  newvec(S, f, locvar, n);
  memset(f->locvar, 0, sizeof(bc_LocVar) * (size_t)n);
  for (i = 0; i < n; i++) {
    loadStringN(S, &f->locvar[i].name);
    f->locvar[i].startpc = loadInt(S);
    f->locvar[i].endpc = loadInt(S);
  }
  /* lua_dump writes all names or none; Lua 5.4.4 would read any count */
  n = loadCount(S, 1);
  if (n != 0 && n != f->nup)
    error(S, "bad count of upvalue names");
  f->upnames = (n != 0);
  for (i = 0; i < n; i++)
    loadStringN(S, &f->up[i].name);
}


static void loadFunction (LoadState *S, bc_Proto *f) {
  loadStringN(S, &f->source);
  f->linedefined = loadInt(S);
  f->lastlinedefined = loadInt(S);
  f->numparams = loadByte(S);
  f->is_vararg = loadByte(S);
  f->maxstacksize = loadByte(S);
  loadCode(S, f);
  loadConstants(S, f);
  loadUpvalues(S, f);
  loadProtos(S, f);
  loadDebug(S, f);
}


static void checkliteral (LoadState *S, const char *s, const char *msg) {
  char buff[16];
  size_t len = strlen(s);
  loadBlock(S, buff, len);
  if (memcmp(s, buff, len) != 0)
    error(S, msg);
}


static void checksize (LoadState *S, size_t size, const char *msg) {
  if (loadByte(S) != size)
    error(S, msg);
}


static void loadHeader (LoadState *S) {
  checkliteral(S, BC_SIGNATURE, "not a binary chunk");
  if (loadByte(S) != BC_VERSION)
    error(S, "version mismatch");
  if (loadByte(S) != BC_FORMAT)
    error(S, "format mismatch");
  checkliteral(S, BC_DATA, "corrupted chunk");
  checksize(S, sizeof(bc_Instr), "Instruction size mismatch");
  checksize(S, sizeof(lua_Integer), "lua_Integer size mismatch");
  checksize(S, sizeof(lua_Number), "lua_Number size mismatch");
  if (loadInteger(S) != BC_INT)
    error(S, "integer format mismatch");
  if (loadNumber(S) != BC_NUM)
    error(S, "float format mismatch");
}


bc_Chunk *bc_read (lua_State *L, const char *s, size_t len) {
  LoadState S;
  bc_Chunk *c = bc_newchunk(L);
  bc_Proto *main;
  S.L = L;
  S.c = c;
  S.s = s;
  S.left = len;
  S.depth = 0;
  loadHeader(&S);
  c->nupvalues = loadByte(&S);
  main = bc_newproto(L, c);
  loadFunction(&S, main);
  if (S.left != 0)
    error(&S, "extra bytes after the chunk");
  c->main = main;
  bc_check(L, c);
  return c;
}

#endif
