/*
** namesjit.c -- the names of a loop's slots at each of its ops, for the
** reasons of the planner (ir_text.c).
**
** LuaJIT's varinfo lists each variable with the pc range where it is
** active, in order of declaration; at a pc the active ones hold slots 0, 1,
** 2, ... in that order (lj_debug.c's variable lookup, doc/luajit-bytecode.md).
** Its pcs count the function header as pc 0, one more than the index of
** an instruction in the dump.  Internal variables (the loop's control
** slots) have one-byte names below JITBC_VARNAME_MAX: no name.
*/
#include <string.h>

#include "namesjit.h"

#if CPM_LUAJIT

const char *namesjit_local (const jitbc_Proto *p, int reg, int i) {
  uint32_t pc = (uint32_t)i + 1;
  int v;
  for (v = 0; v < p->nvar && p->var[v].startpc <= pc; v++)
    if (pc < p->var[v].endpc && reg-- == 0)
      return (p->var[v].name.len == 1 &&
              (unsigned char)p->var[v].name.s[0] < JITBC_VARNAME_MAX)
             ? NULL : p->var[v].name.s;
  return NULL;
}


static const char *slotname (const jitbc_Proto *p, int x, int i) {
  if (x < 0) return NULL;  /* a constant */
  if (x == FINDJIT_ENVSLOT) return "_ENV";  /* globals: read by name */
  if (x >= FINDJIT_UPSLOT) {
    x -= FINDJIT_UPSLOT;
    return x < p->nuvname ? p->uvname[x].s : NULL;
  }
  return namesjit_local(p, x, i);
}


const char **namesjit_ops (jitbc_Chunk *c, const jitbc_Proto *p,
                           const findjit_Loop *lp, const int *irat,
                           int first, int end) {
  const char **names;
  int i, j;
  if ((p->nvar == 0 && p->nuvname == 0) || lp->nops == 0) return NULL;
  names = (const char **)jitbc_alloc(c, sizeof(char *) * 3 * (size_t)lp->nops);
  memset(names, 0, sizeof(char *) * 3 * (size_t)lp->nops);
  for (i = first; i < end; i++) {
    int from = irat[i], to, q;
    if (from < 0) continue;
    for (q = i + 1; q < end && irat[q] < 0; q++) {}
    to = irat[q] < 0 ? lp->nops : irat[q];
    for (j = from; j < to && j < lp->nops; j++) {
      const ir_Op *op = &lp->ops[j];
      if (op->code == IR_IF || op->code == IR_LOOP) continue;
      names[3 * j] = slotname(p, op->a, i + 1);
      names[3 * j + 1] = slotname(p, op->b, i);
      if (op->code == IR_ARITH || op->code == IR_INDEX)
        names[3 * j + 2] = slotname(p, op->c, i);
    }
  }
  return names;
}

#endif
