/*
** jitbc_write.c -- writes a tree of prototypes (jitbc.h) as a LuaJIT 2.1
** dump, the mirror of jitbc_read.c: numbers in the shortest ULEB128, as
** LuaJIT's own writer does, so an unedited tree comes out byte for byte.
*/
#include <string.h>

#include "jitbc.h"

#if CPM_LUAJIT

/* A growable byte buffer in the chunk's arena. */
typedef struct Buf {
  jitbc_Chunk *c;
  JITBC_VEC(char, b);
} Buf;


static void addmem (Buf *b, const void *s, size_t len) {
  if (len > (size_t)(1 << 30)) luaL_error(b->c->L, "cpm: bytecode too large");
  jitbc_growvec(b->c, b, b, b->nb + (int)len);
  if (len > 0) memcpy(b->b + b->nb, s, len);
  b->nb += (int)len;
}


static void addbyte (Buf *b, unsigned x) {
  char ch = (char)(unsigned char)x;
  addmem(b, &ch, 1);
}


static void adduleb (Buf *b, uint64_t v) {
  while (v >= 0x80) {
    addbyte(b, (unsigned)(v & 0x7f) | 0x80);
    v >>= 7;
  }
  addbyte(b, (unsigned)v);
}


static void addstr (Buf *b, jitbc_Str s) {
  addmem(b, s.s, s.len);
}


static void addword (Buf *b, uint32_t w, int size) {
  int i;
  for (i = 0; i < size; i++) addbyte(b, (w >> (8 * i)) & 0xff);
}


/* The GC constants of 'p' (a child is its type alone: the prototypes
   written before it are its data). */
static void kgc (const jitbc_Proto *p, Buf *b) {
  int i;
  for (i = 0; i < p->nkgc; i++) {
    const jitbc_Kgc *k = &p->kgc[i];
    adduleb(b, k->type == JITBC_KGC_STR ? JITBC_KGC_STR + k->data.len : k->type);
    if (k->type != JITBC_KGC_CHILD) addstr(b, k->data);
  }
}


/* The number constants of 'p': 33-bit ULEB128s, bit 0 telling a double. */
static void knum (const jitbc_Proto *p, Buf *b) {
  int i;
  for (i = 0; i < p->nkn; i++) {
    const jitbc_Knum *k = &p->kn[i];
    adduleb(b, (uint64_t)k->lo << 1 | (uint64_t)k->isnum);
    if (k->isnum) adduleb(b, k->hi);
  }
}


/* The debug info of 'p'. */
static void debuginfo (const jitbc_Proto *p, Buf *b) {
  int w = p->numline < 256 ? 1 : p->numline < 65536 ? 2 : 4, i;
  uint32_t lastpc = 0;
  for (i = 0; i < p->ncode; i++) addword(b, p->line[i], w);
  for (i = 0; i < p->nuv; i++) {
    addstr(b, p->uvname[i]);
    addbyte(b, 0);
  }
  for (i = 0; i < p->nvar; i++) {
    const jitbc_Var *v = &p->var[i];
    addstr(b, v->name);
    if (!(v->name.len == 1 && (unsigned char)v->name.s[0] < JITBC_VARNAME_MAX))
      addbyte(b, 0);
    adduleb(b, v->startpc - lastpc);
    adduleb(b, v->endpc - v->startpc);
    lastpc = v->startpc;
  }
  addbyte(b, 0);
}


/* Appends 'p' to 'out', its children first (the last constant's first, as
   LuaJIT writes them: the reader pops them in constant order). */
static void proto (jitbc_Chunk *c, const jitbc_Proto *p, Buf *out) {
  Buf b, d;
  int i;
  for (i = p->nkgc - 1; i >= 0; i--)
    if (p->kgc[i].type == JITBC_KGC_CHILD) proto(c, p->kgc[i].child, out);
  memset(&b, 0, sizeof(b));
  memset(&d, 0, sizeof(d));
  b.c = d.c = c;
  if (p->hasdbg) debuginfo(p, &d);  /* first: its size goes in the header */
  addbyte(&b, p->flags);
  addbyte(&b, p->numparams);
  addbyte(&b, p->framesize);
  addbyte(&b, (unsigned)p->nuv);
  adduleb(&b, (uint64_t)p->nkgc);
  adduleb(&b, (uint64_t)p->nkn);
  adduleb(&b, (uint64_t)p->ncode);
  if (!(c->flags & JITBC_F_STRIP)) {
    adduleb(&b, (uint64_t)d.nb);
    if (d.nb > 0) {
      adduleb(&b, p->firstline);
      adduleb(&b, p->numline);
    }
  }
  for (i = 0; i < p->ncode; i++) addword(&b, p->code[i], 4);
  for (i = 0; i < p->nuv; i++) addword(&b, p->uv[i], 2);
  kgc(p, &b);
  knum(p, &b);
  addmem(&b, d.b, (size_t)d.nb);
  adduleb(out, (uint64_t)b.nb);
  addmem(out, b.b, (size_t)b.nb);
}


void jitbc_write (jitbc_Chunk *c) {
  Buf out;
  memset(&out, 0, sizeof(out));
  out.c = c;
  addbyte(&out, JITBC_HEAD1);
  addbyte(&out, JITBC_HEAD2);
  addbyte(&out, JITBC_HEAD3);
  addbyte(&out, JITBC_VERSION);
  adduleb(&out, c->flags);
  if (!(c->flags & JITBC_F_STRIP)) {
    adduleb(&out, c->name.len);
    addstr(&out, c->name);
  }
  proto(c, jitbc_root(c), &out);
  addbyte(&out, 0);
  lua_pushlstring(c->L, out.b, (size_t)out.nb);
}

#endif
