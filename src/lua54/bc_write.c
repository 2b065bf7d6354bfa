/*
** bc_write.c -- writes a chunk tree (bc.h) as a Lua 5.4 binary chunk that
** lua_load accepts.  Mirrors ldump.c, and bc_read.c function by function.
*/
#include "bc.h"

#if CPM_LUA54

#include <string.h>

typedef struct DumpState {
  lua_State *L;
  luaL_Buffer b;
} DumpState;


/* Every write goes through here. */
static void dumpBlock (DumpState *D, const void *b, size_t size) {
  if (size > 0)
    luaL_addlstring(&D->b, (const char *)b, size);
}

#define dumpVar(D,x)	dumpBlock(D, &(x), sizeof(x))


static void dumpByte (DumpState *D, int y) {
  unsigned char x = (unsigned char)y;
  dumpVar(D, x);
}


/* Most-significant group first, 7 bits a byte, high bit on the last. */
static void dumpSize (DumpState *D, size_t x) {
  unsigned char buff[(sizeof(size_t) * 8 + 6) / 7];
  int n = 0, size = (int)sizeof(buff);
  do {
    buff[size - (++n)] = x & 0x7f;
    x >>= 7;
  } while (x != 0);
  buff[size - 1] |= 0x80;
  dumpBlock(D, buff + size - n, (size_t)n);
}


static void dumpInt (DumpState *D, int x) {
  dumpSize(D, (size_t)x);
}


static void dumpNumber (DumpState *D, lua_Number x) {
  dumpVar(D, x);
}


static void dumpInteger (DumpState *D, lua_Integer x) {
  dumpVar(D, x);
}


static void dumpString (DumpState *D, const bc_Str *s) {
  if (s->s == NULL)
    dumpSize(D, 0);
  else {
    dumpSize(D, s->len + 1);
    dumpBlock(D, s->s, s->len);
  }
}


static void dumpCode (DumpState *D, const bc_Proto *f) {
  dumpInt(D, f->ncode);
  dumpBlock(D, f->code, sizeof(bc_Instr) * (size_t)f->ncode);
}


static void dumpFunction (DumpState *D, const bc_Proto *f);


static void dumpConstants (DumpState *D, const bc_Proto *f) {
  int i;
  dumpInt(D, f->nk);
  for (i = 0; i < f->nk; i++) {
    const bc_Const *o = &f->k[i];
    dumpByte(D, o->tag);
    switch (o->tag) {
      case BC_VNUMFLT:
        dumpNumber(D, o->u.n);
        break;
      case BC_VNUMINT:
        dumpInteger(D, o->u.i);
        break;
      case BC_VSHRSTR: case BC_VLNGSTR:
        dumpString(D, &o->u.s);
        break;
      default:  /* nil, false, true: the tag says it all */
        break;
    }
  }
}


static void dumpUpvalues (DumpState *D, const bc_Proto *f) {
  int i;
  dumpInt(D, f->nup);
  for (i = 0; i < f->nup; i++) {
    dumpByte(D, f->up[i].instack);
    dumpByte(D, f->up[i].idx);
    dumpByte(D, f->up[i].kind);
  }
}


static void dumpProtos (DumpState *D, const bc_Proto *f) {
  int i;
  dumpInt(D, f->np);
  for (i = 0; i < f->np; i++)
    dumpFunction(D, f->p[i]);
}


static void dumpDebug (DumpState *D, const bc_Proto *f) {
  int i;
  dumpInt(D, f->nlineinfo);
  dumpBlock(D, f->lineinfo, (size_t)f->nlineinfo);
  dumpInt(D, f->nabsline);
  for (i = 0; i < f->nabsline; i++) {
    dumpInt(D, f->absline[i].pc);
    dumpInt(D, f->absline[i].line);
  }
  dumpInt(D, f->nlocvar);
  for (i = 0; i < f->nlocvar; i++) {
    dumpString(D, &f->locvar[i].name);
    dumpInt(D, f->locvar[i].startpc);
    dumpInt(D, f->locvar[i].endpc);
  }
  dumpInt(D, f->upnames ? f->nup : 0);
  if (f->upnames) {
    for (i = 0; i < f->nup; i++)
      dumpString(D, &f->up[i].name);
  }
}


static void dumpFunction (DumpState *D, const bc_Proto *f) {
  dumpString(D, &f->source);
  dumpInt(D, f->linedefined);
  dumpInt(D, f->lastlinedefined);
  dumpByte(D, f->numparams);
  dumpByte(D, f->is_vararg);
  dumpByte(D, f->maxstacksize);
  dumpCode(D, f);
  dumpConstants(D, f);
  dumpUpvalues(D, f);
  dumpProtos(D, f);
  dumpDebug(D, f);
}


static void dumpHeader (DumpState *D) {
  dumpBlock(D, BC_SIGNATURE, sizeof(BC_SIGNATURE) - 1);
  dumpByte(D, BC_VERSION);
  dumpByte(D, BC_FORMAT);
  dumpBlock(D, BC_DATA, sizeof(BC_DATA) - 1);
  dumpByte(D, sizeof(bc_Instr));
  dumpByte(D, sizeof(lua_Integer));
  dumpByte(D, sizeof(lua_Number));
  dumpInteger(D, BC_INT);
  dumpNumber(D, BC_NUM);
}


void bc_write (lua_State *L, const bc_Chunk *c) {
  DumpState D;
  if (c->main == NULL)
    bc_error(L, "cpm: empty chunk");
  D.L = L;
  luaL_buffinit(L, &D.b);
  dumpHeader(&D);
  dumpByte(&D, c->nupvalues);
  dumpFunction(&D, c->main);
  luaL_pushresult(&D.b);
}

#endif
