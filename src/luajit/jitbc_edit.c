/*
** jitbc_edit.c -- edits of a prototype that keep it one LuaJIT's parser
** could have made: instructions inserted with every jump, line and
** variable range moved along, upvalues and number constants added.
*/
#include <string.h>

#include "jitbc.h"

#if CPM_LUAJIT

/* Where instruction (index) 'x' goes when 'n' are inserted before 'at'. */
#define moved(x, at, n)	((x) < (at) ? (x) : (x) + (n))

/* The new target of a jump to index 't': a jump to 'at' lands on the
   inserted code, which runs before what was there. */
#define retarget(t, at, n)	((t) <= (at) ? (t) : (t) + (n))


/*
** The VM takes a comparison's or test's branch target from the JMP that
** follows it, and the loop of a generic for from the ITERL after
** ITERC/ITERN; a call or vararg with all its results may leave them above
** the frame, for the next instruction only.
*/
int jitbc_bound (jitbc_Ins ins) {
  int o = jitbc_op(ins);
  if (o <= JITBC_ISF || o == JITBC_ITERC || o == JITBC_ITERN) return 1;
  return (o == JITBC_CALL || o == JITBC_CALLM || o == JITBC_VARG) &&
         jitbc_b(ins) == 0;
}


const char *jitbc_caninsert (const jitbc_Proto *p, int at, int n) {
  int i;
  if (at < 0 || at >= p->ncode) return "no such instruction";
  if (at > 0 && jitbc_bound(p->code[at - 1]))
    return "the instruction is bound to the one before it";
  if ((int64_t)p->ncode + n >= (1 << 26))  /* LJ_MAX_BCINS */
    return "function too large for the guard call";
  for (i = 0; i < p->ncode; i++) {
    jitbc_Ins ins = p->code[i];
    if (jitbc_isjump(ins)) {
      int64_t t = (int64_t)i + 1 + jitbc_j(ins);
      int64_t off = retarget(t, at, n) - moved(i, at, n) - 1;
      if (off < -JITBC_BIASJ || off > JITBC_MAXD - JITBC_BIASJ)
        return "a jump of the function would be out of range";
    }
  }
  return NULL;
}


void jitbc_insert (jitbc_Chunk *c, jitbc_Proto *p, int at,
                   const jitbc_Ins *code, int n) {
  int i, old = p->ncode;
  uint32_t line = (p->hasdbg && at < p->nline) ? p->line[at] : 0;
  /* jumps first, in old coordinates */
  for (i = 0; i < old; i++) {
    jitbc_Ins ins = p->code[i];
    if (jitbc_isjump(ins)) {
      int t = i + 1 + jitbc_j(ins);
      int off = retarget(t, at, n) - moved(i, at, n) - 1;
      p->code[i] = jitbc_setd(ins, (unsigned)(off + JITBC_BIASJ));
    }
  }
  jitbc_growvec(c, p, code, old + n);
  memmove(p->code + at + n, p->code + at, sizeof(jitbc_Ins) * (size_t)(old - at));
  memcpy(p->code + at, code, sizeof(jitbc_Ins) * (size_t)n);
  p->ncode = old + n;
  if (p->hasdbg) {
    jitbc_growvec(c, p, line, old + n);
    memmove(p->line + at + n, p->line + at, sizeof(uint32_t) * (size_t)(old - at));
    for (i = 0; i < n; i++) p->line[at + i] = line;
    p->nline = old + n;
    /* variable ranges are pcs: the header is pc 0, code[at] is pc at+1 */
    for (i = 0; i < p->nvar; i++) {
      jitbc_Var *v = &p->var[i];
      if (v->startpc >= (uint32_t)at + 1) v->startpc += (uint32_t)n;
      if (v->endpc >= (uint32_t)at + 1) v->endpc += (uint32_t)n;
    }
  }
}


int jitbc_adduv (jitbc_Chunk *c, jitbc_Proto *p, uint16_t desc,
                 const char *name) {
  if (p->nuv >= JITBC_MAXUV) return -1;
  jitbc_growvec(c, p, uv, p->nuv + 1);
  p->uv[p->nuv] = desc;
  if (p->hasdbg) {
    jitbc_growvec(c, p, uvname, p->nuv + 1);
    p->uvname[p->nuv].s = name;
    p->uvname[p->nuv].len = strlen(name);
    p->nuvname = p->nuv + 1;
  }
  return p->nuv++;
}


int jitbc_kstr (jitbc_Chunk *c, jitbc_Proto *p, const char *str) {
  size_t len = strlen(str);
  int i;
  for (i = 0; i < p->nkgc; i++)
    if (p->kgc[i].type == JITBC_KGC_STR && p->kgc[i].data.len == len &&
        memcmp(p->kgc[i].data.s, str, len) == 0)
      return p->nkgc - 1 - i;
  if (p->nkgc >= JITBC_MAXK - 1) return -1;
  jitbc_growvec(c, p, kgc, p->nkgc + 1);
  memmove(&p->kgc[1], &p->kgc[0], (size_t)p->nkgc * sizeof(p->kgc[0]));
  memset(&p->kgc[0], 0, sizeof(p->kgc[0]));
  p->kgc[0].type = JITBC_KGC_STR;
  p->kgc[0].data.s = str;
  p->kgc[0].data.len = len;
  return p->nkgc++;  /* the first in the dump: read last, the highest index */
}


double jitbc_knumval (const jitbc_Proto *p, int k) {
  const jitbc_Knum *kn = &p->kn[k];
  if (!kn->isnum) return (double)(int32_t)kn->lo;
  {
    uint64_t u = (uint64_t)kn->hi << 32 | kn->lo;
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
  }
}


int jitbc_lastwriter (const jitbc_Proto *p, int first, int at, int slot) {
  int i;
  for (i = at - 1; i >= first; i--) {
    jitbc_Ins ins = p->code[i];
    int o = jitbc_op(ins), ma = jitbc_opinfo[o].ma;
    if (o <= JITBC_ISF || jitbc_isjump(ins)) return -1;
    if (ma == JITBC_M_dst && jitbc_a(ins) == slot) return i;
    if ((ma == JITBC_M_base || ma == JITBC_M_rbase) && jitbc_a(ins) <= slot)
      return -1;  /* a call, KNIL, VARG..: may write it */
  }
  return -1;
}


int jitbc_kvalue (const jitbc_Proto *p, int at, double *v) {
  jitbc_Ins ins = p->code[at];
  if (jitbc_op(ins) == JITBC_KSHORT) *v = (double)(int16_t)jitbc_d(ins);
  else if (jitbc_op(ins) == JITBC_KNUM && jitbc_d(ins) < p->nkn)
    *v = jitbc_knumval(p, jitbc_d(ins));
  else return 0;
  return 1;
}


int jitbc_knum (jitbc_Chunk *c, jitbc_Proto *p, double x) {
  jitbc_Knum k;
  int i;
  memset(&k, 0, sizeof(k));
  if (x >= -2147483648.0 && x <= 2147483647.0 && x == (double)(int32_t)x &&
      !(x == 0 && 1 / x < 0)) {  /* LuaJIT narrows these (never -0) */
    k.lo = (uint32_t)(int32_t)x;
  }
  else {
    uint64_t u;
    memcpy(&u, &x, sizeof(u));
    k.isnum = 1;
    k.lo = (uint32_t)u;
    k.hi = (uint32_t)(u >> 32);
  }
  for (i = 0; i < p->nkn; i++)
    if (p->kn[i].isnum == k.isnum && p->kn[i].lo == k.lo && p->kn[i].hi == k.hi)
      return i;
  if (p->nkn >= JITBC_MAXK) return -1;
  jitbc_growvec(c, p, kn, p->nkn + 1);
  p->kn[p->nkn] = k;
  return p->nkn++;
}

#endif
