/*
** jitbc_read.c -- reads a LuaJIT 2.1 dump (the grammar is in jitbc.h) into
** a tree of prototypes, and the arena that holds the tree.
**
** Every count is checked against the bytes left before anything is
** allocated for it, so no input can make the reader read out of bounds or
** allocate more than a small multiple of the input's size.
*/
#include <string.h>

#include "jitbc.h"

#if CPM_LUAJIT

const jitbc_OpInfo jitbc_opinfo[JITBC__MAXOP] = {
#define JITBC_OPINFO(name, ma, mb, mcd) \
  { #name, JITBC_M_##ma, JITBC_M_##mb, JITBC_M_##mcd },
  JITBC_OPDEF(JITBC_OPINFO)
#undef JITBC_OPINFO
};


/* {======================================================
** Arena
** ======================================================= */

void jitbc_init (lua_State *L, jitbc_Chunk *c) {
  memset(c, 0, sizeof(*c));
  c->L = L;
  lua_newtable(L);
  c->arena = lua_gettop(L);
}


void *jitbc_alloc (jitbc_Chunk *c, size_t size) {
  lua_State *L = c->L;
  void *p = cpm_newbuffer(L, size > 0 ? size : 1);
  lua_rawseti(L, c->arena, ++c->narena);
  return p;
}


void *jitbc_growarray (jitbc_Chunk *c, void *a, int *size, int need,
                       size_t elem) {
  int n = *size < 8 ? 8 : *size;
  void *na;
  while (n < need) {
    if (n > (1 << 28)) luaL_error(c->L, "cpm: bytecode too large");
    n *= 2;
  }
  na = jitbc_alloc(c, (size_t)n * elem);
  if (a != NULL) memcpy(na, a, (size_t)*size * elem);
  *size = n;
  return na;
}

/* }====================================================== */


typedef struct Reader {
  jitbc_Chunk *c;
  const unsigned char *p, *end;
} Reader;


static void bad (Reader *r, const char *what) {
  luaL_error(r->c->L, "cpm: unrecognized LuaJIT bytecode (%s)", what);
}


static void need (Reader *r, size_t n) {
  if ((size_t)(r->end - r->p) < n) bad(r, "truncated");
}


static uint32_t byte (Reader *r) {
  need(r, 1);
  return *r->p++;
}


/* A ULEB128 of at most 'bits' bits. */
static uint64_t uleb (Reader *r, int bits) {
  uint64_t v = 0;
  int sh = 0;
  for (;;) {
    uint32_t b = byte(r);
    v |= (uint64_t)(b & 0x7f) << sh;
    sh += 7;
    if (b < 0x80) break;
    if (sh >= bits) bad(r, "overlong number");
  }
  if (bits < 64 && (v >> bits) != 0) bad(r, "number out of range");
  return v;
}

static uint32_t u32 (Reader *r) { return (uint32_t)uleb(r, 32); }


static jitbc_Str bytes (Reader *r, size_t n) {
  jitbc_Str s;
  need(r, n);
  s.s = (const char *)r->p;
  s.len = n;
  r->p += n;
  return s;
}


/* A table constant key or value. */
static void tabk (Reader *r) {
  uint32_t t = u32(r);
  if (t >= JITBC_KTAB_STR) bytes(r, t - JITBC_KTAB_STR);
  else if (t == JITBC_KTAB_INT) u32(r);
  else if (t == JITBC_KTAB_NUM) { u32(r); u32(r); }
}


static void kgc (Reader *r, jitbc_Proto *p, int n) {
  jitbc_Chunk *c = r->c;
  int i;
  if ((size_t)n > (size_t)(r->end - r->p)) bad(r, "truncated");
  jitbc_growvec(c, p, kgc, n);
  for (i = 0; i < n; i++) {
    jitbc_Kgc *k = &p->kgc[i];
    const unsigned char *start;
    uint32_t t = u32(r);
    memset(k, 0, sizeof(*k));
    start = r->p;
    if (t >= JITBC_KGC_STR) {
      k->type = JITBC_KGC_STR;
      k->data = bytes(r, t - JITBC_KGC_STR);
      continue;
    }
    k->type = t;
    switch (t) {
      case JITBC_KGC_CHILD: {
        jitbc_Proto *ch;
        if (c->nproto == 0) bad(r, "missing child prototype");
        ch = c->proto[c->nproto - 1];  /* the last one written before */
        ch->parent = p;
        k->child = ch;
        /* pop: the child is no longer a candidate for a later KGC_CHILD */
        c->nproto--;
        break;
      }
      case JITBC_KGC_TAB: {
        uint32_t na = u32(r), nh = u32(r), j;
        if (na > (size_t)(r->end - r->p) || nh > (size_t)(r->end - r->p))
          bad(r, "truncated");
        for (j = 0; j < na; j++) tabk(r);
        for (j = 0; j < nh; j++) { tabk(r); tabk(r); }
        break;
      }
      case JITBC_KGC_I64: case JITBC_KGC_U64: case JITBC_KGC_COMPLEX:
        /* LuaJIT's loader makes a cdata constant with the FFI's type
           state, which the FFI flag of the header has it load first:
           without the flag, in a state that never loaded the FFI, it
           dereferences a null pointer.  LuaJIT's parser marks each
           function with such a constant and its ancestors, and its
           writer sets the flag from the root's mark: no dump of a
           function compiled from source lacks it */
        if (!(c->flags & JITBC_F_FFI)) bad(r, "cdata constant without the FFI flag");
        u32(r); u32(r);
        if (t == JITBC_KGC_COMPLEX) { u32(r); u32(r); }
        break;
      default: bad(r, "unknown constant type");
    }
    k->data.s = (const char *)start;
    k->data.len = (size_t)(r->p - start);
  }
  p->nkgc = n;
}


static void knum (Reader *r, jitbc_Proto *p, int n) {
  int i;
  if ((size_t)n > (size_t)(r->end - r->p)) bad(r, "truncated");
  jitbc_growvec(r->c, p, kn, n);
  for (i = 0; i < n; i++) {
    uint64_t v = uleb(r, 33);
    jitbc_Knum *k = &p->kn[i];
    k->isnum = (int)(v & 1);
    k->lo = (uint32_t)(v >> 1);
    k->hi = k->isnum ? u32(r) : 0;
  }
  p->nkn = n;
}


/* A zero-terminated name; 'len' excludes the terminator. */
static jitbc_Str cstr (Reader *r) {
  const unsigned char *z = r->p;
  jitbc_Str s;
  while (z < r->end && *z != 0) z++;
  if (z >= r->end) bad(r, "truncated");
  s.s = (const char *)r->p;
  s.len = (size_t)(z - r->p);
  r->p = z + 1;
  return s;
}


static void debuginfo (Reader *r, jitbc_Proto *p, uint32_t sizedbg) {
  jitbc_Chunk *c = r->c;
  const unsigned char *end;
  int w = p->numline < 256 ? 1 : p->numline < 65536 ? 2 : 4, i;
  uint32_t lastpc = 0;
  need(r, sizedbg);
  end = r->p + sizedbg;
  if ((size_t)p->ncode * (size_t)w > sizedbg) bad(r, "truncated line info");
  jitbc_growvec(c, p, line, p->ncode);
  for (i = 0; i < p->ncode; i++) {
    uint32_t d;
    if (w == 1) d = r->p[0];
    else if (w == 2) d = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8;
    else d = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 |
             (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
    r->p += w;
    if (d > p->numline) bad(r, "line outside the function");
    p->line[i] = d;
  }
  p->nline = p->ncode;
  {  /* names and ranges must stay inside the debug info */
    const unsigned char *save = r->end;
    r->end = end;
    jitbc_growvec(c, p, uvname, p->nuv);
    for (i = 0; i < p->nuv; i++) p->uvname[i] = cstr(r);
    p->nuvname = p->nuv;
    for (;;) {
      jitbc_Var v;
      uint32_t len;
      if (byte(r) == 0) break;
      r->p--;
      if (*r->p < JITBC_VARNAME_MAX) v.name = bytes(r, 1);
      else v.name = cstr(r);
      v.startpc = lastpc + u32(r);
      len = u32(r);
      if (v.startpc < lastpc || v.startpc + len < v.startpc)
        bad(r, "variable range out of range");
      v.endpc = v.startpc + len;
      lastpc = v.startpc;
      jitbc_growvec(c, p, var, p->nvar + 1);
      p->var[p->nvar++] = v;
    }
    r->end = save;
  }
  if (r->p != end) bad(r, "debug info of the wrong size");
}


/*
** Is operand 'v' in mode 'm' inside what prototype 'p' declares?  A slot
** read or written is below the frame size (a base or first free slot may
** equal it: JMP, LOOP, UCLO and the returns name the first free slot), an
** upvalue below the upvalue count, a constant (D counts GC constants from
** the end) inside its table and of the kind the mode names, a primitive
** nil, false or true.  Literals and jumps (checked as they are read) are
** always.  LuaJIT's parser only emits operands inside these bounds; the
** loop finder, the names and the rewrite then index nothing beyond them.
*/
static int operandok (const jitbc_Proto *p, int m, int v) {
  int k;
  switch (m) {
    case JITBC_M_var: case JITBC_M_dst: case JITBC_M_base:
      return v < p->framesize;
    case JITBC_M_rbase: return v <= p->framesize;
    case JITBC_M_uv: return v < p->nuv;
    case JITBC_M_num: return v < p->nkn;
    case JITBC_M_pri: return v <= JITBC_PRI_TRUE;
    case JITBC_M_str: case JITBC_M_tab: case JITBC_M_func: case JITBC_M_cdata:
      k = p->nkgc - 1 - v;
      if (k < 0) return 0;
      switch (p->kgc[k].type) {
        case JITBC_KGC_STR: return m == JITBC_M_str;
        case JITBC_KGC_TAB: return m == JITBC_M_tab;
        case JITBC_KGC_CHILD: return m == JITBC_M_func;
        default: return m == JITBC_M_cdata;
      }
    default: return 1;
  }
}


/* Every operand of 'p' inside what 'p' declares (operandok), and the
   slot ranges of KNIL and of the for loops' control slots too. */
static void checkcode (Reader *r, const jitbc_Proto *p) {
  int i;
  for (i = 0; i < p->ncode; i++) {
    jitbc_Ins ins = p->code[i];
    int o = jitbc_op(ins);
    const jitbc_OpInfo *oi = &jitbc_opinfo[o];
    int ok = operandok(p, oi->ma, jitbc_a(ins));
    if (oi->mb == JITBC_M____)
      ok = ok && operandok(p, oi->mcd, jitbc_d(ins));
    else
      ok = ok && operandok(p, oi->mb, jitbc_b(ins)) &&
           operandok(p, oi->mcd, jitbc_c(ins));
    if (o == JITBC_KNIL)
      ok = ok && jitbc_a(ins) <= jitbc_d(ins);
    else if (o == JITBC_FORI || o == JITBC_FORL)
      ok = ok && jitbc_a(ins) + 3 < p->framesize;
    if (!ok) bad(r, "operand outside the function");
  }
}


static void proto (Reader *r, uint32_t len) {
  jitbc_Chunk *c = r->c;
  const unsigned char *end = r->p + len, *save = r->end;
  jitbc_Proto *p = (jitbc_Proto *)jitbc_alloc(c, sizeof(jitbc_Proto));
  uint32_t nkgc, nkn, nbc, sizedbg = 0, i;
  memset(p, 0, sizeof(*p));
  r->end = end;
  p->flags = (unsigned char)byte(r);
  p->numparams = (unsigned char)byte(r);
  p->framesize = (unsigned char)byte(r);
  if ((p->flags & ~JITBC_P_KNOWN) != 0) bad(r, "unknown prototype flags");
  if (p->framesize > JITBC_MAXSLOTS) bad(r, "frame too large");
  p->nuv = (int)byte(r);
  if (p->nuv > JITBC_MAXUV) bad(r, "too many upvalues");
  nkgc = u32(r);
  nkn = u32(r);
  nbc = u32(r);
  if (nkgc > JITBC_MAXK || nkn > JITBC_MAXK) bad(r, "too many constants");
  if (!(c->flags & JITBC_F_STRIP)) {
    sizedbg = u32(r);
    if (sizedbg) {
      p->hasdbg = 1;
      p->firstline = u32(r);
      p->numline = u32(r);
    }
  }
  if (nbc == 0 || nbc > (size_t)(end - r->p) / 4) bad(r, "truncated code");
  jitbc_growvec(c, p, code, (int)nbc);
  for (i = 0; i < nbc; i++) {
    jitbc_Ins ins = (jitbc_Ins)r->p[0] | (jitbc_Ins)r->p[1] << 8 |
                    (jitbc_Ins)r->p[2] << 16 | (jitbc_Ins)r->p[3] << 24;
    int o = jitbc_op(ins);
    r->p += 4;
    if (o >= JITBC__MAXOP || jitbc_isruntimeop(o)) bad(r, "unknown opcode");
    if (jitbc_isjump(ins)) {
      int64_t t = (int64_t)i + 1 + 1 + jitbc_j(ins);
      if (t < 1 || t > (int64_t)nbc + 1) bad(r, "jump out of the function");
    }
    p->code[i] = ins;
  }
  p->ncode = (int)nbc;
  need(r, (size_t)p->nuv * 2);
  jitbc_growvec(c, p, uv, p->nuv);
  for (i = 0; i < (uint32_t)p->nuv; i++, r->p += 2)
    p->uv[i] = (uint16_t)(r->p[0] | r->p[1] << 8);
  kgc(r, p, (int)nkgc);
  knum(r, p, (int)nkn);
  checkcode(r, p);
  if (p->hasdbg) debuginfo(r, p, sizedbg);
  if (r->p != end) bad(r, "prototype of the wrong size");
  r->end = save;
  jitbc_growvec(c, c, proto, c->nproto + 1);
  c->proto[c->nproto++] = p;
}


/* Depth of every prototype, checking that all of them are in one tree. */
static int setdepth (jitbc_Proto *p) {
  int d = 0;
  jitbc_Proto *q;
  for (q = p->parent; q != NULL; q = q->parent)
    if (++d > JITBC_MAXDEPTH) return 0;
  p->depth = d;
  return 1;
}


static void collect (Reader *r, jitbc_Proto *p, jitbc_Proto **all, int *n,
                     int max) {
  int i;
  for (i = p->nkgc - 1; i >= 0; i--)
    if (p->kgc[i].type == JITBC_KGC_CHILD) {
      if (!setdepth(p->kgc[i].child)) bad(r, "prototypes nested too deeply");
      collect(r, p->kgc[i].child, all, n, max);
    }
  if (*n >= max) bad(r, "inconsistent prototypes");
  all[(*n)++] = p;
}


void jitbc_read (jitbc_Chunk *c, const char *s, size_t len) {
  Reader r;
  uint32_t flags;
  int total = 0;
  r.c = c;
  r.p = (const unsigned char *)s;
  r.end = r.p + len;
  if (byte(&r) != JITBC_HEAD1 || byte(&r) != JITBC_HEAD2 ||
      byte(&r) != JITBC_HEAD3)
    bad(&r, "not a LuaJIT dump");
  if (byte(&r) != JITBC_VERSION) bad(&r, "another format version");
  flags = u32(&r);
  if ((flags & ~JITBC_F_KNOWN) != 0) bad(&r, "unknown flags");
  if (flags & JITBC_F_BE) bad(&r, "big-endian");
  c->flags = flags;
  if (!(flags & JITBC_F_STRIP)) c->name = bytes(&r, u32(&r));
  for (;;) {
    uint32_t plen = u32(&r);
    if (plen == 0) break;
    need(&r, plen);
    proto(&r, plen);
    total++;
  }
  if (r.p != r.end) bad(&r, "data after the end");
  if (c->nproto != 1) bad(&r, "not one function");
  {  /* the root's children, depth first in dump order, as the writer
        will visit them */
    jitbc_Proto *root = c->proto[0], **all;
    int n = 0;
    all = (jitbc_Proto **)jitbc_alloc(c, sizeof(jitbc_Proto *) * (size_t)total);
    collect(&r, root, all, &n, total);
    if (n != total) bad(&r, "inconsistent prototypes");
    c->proto = all;
    c->nproto = c->szproto = n;
  }
}

#endif
