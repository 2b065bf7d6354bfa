/*
** names54.c -- the names of a loop's slots at each of its ops, for the
** reasons of the planner (ir_text.c).
**
** Lua 5.4's debug info lists each local variable with the pc range where
** it is active, in order of declaration; at a given pc the active ones
** occupy registers 0, 1, 2, ... in that order (the rule of lfunc.c's
** luaF_getlocalname, Lua 5.4 reference manual 4.7 on debug.getlocal).
** A register that no active variable holds is a temporary: no name.
*/
#include <string.h>

#include "names54.h"

#if CPM_LUA54

/* The variable in register 'reg' at 'pc', or NULL. */
static const char *localname (const bc_Proto *p, int reg, int pc) {
  int i;
  for (i = 0; i < p->nlocvar && p->locvar[i].startpc <= pc; i++)
    if (pc < p->locvar[i].endpc && reg-- == 0) return p->locvar[i].name.s;
  return NULL;
}


/* The name of slot 'x' (a register or FIND54_UPSLOT + upvalue) at 'pc'. */
static const char *slotname (const bc_Proto *p, int x, int pc) {
  if (x < 0) return NULL;  /* a constant */
  if (x >= FIND54_UPSLOT) {
    x -= FIND54_UPSLOT;
    return x < p->nup ? p->up[x].name.s : NULL;
  }
  return localname(p, x, pc);
}


const char **names54_ops (lua_State *L, bc_Chunk *c, const bc_Proto *p,
                          const find54_Loop *lp, const int *irat,
                          int first, int end) {
  const char **names;
  int pc, j, hasnames = p->nlocvar > 0;
  for (j = 0; j < p->nup && !hasnames; j++) hasnames = p->up[j].name.s != NULL;
  if (!hasnames || lp->nops == 0) return NULL;
  names = (const char **)bc_alloc(L, c, sizeof(char *) * 3 * (size_t)lp->nops);
  memset(names, 0, sizeof(char *) * 3 * (size_t)lp->nops);
  for (pc = first; pc < end; pc++) {
    int from = irat[pc], to, q;
    if (from < 0) continue;
    for (q = pc + 1; q < end && irat[q] < 0; q++) {}
    to = irat[q] < 0 ? lp->nops : irat[q];
    for (j = from; j < to && j < lp->nops; j++) {
      const ir_Op *op = &lp->ops[j];
      if (op->code == IR_IF || op->code == IR_LOOP) continue;
      /* a variable is active from the instruction after the one that
         gives it its first value */
      names[3 * j] = slotname(p, op->a, pc + 1);
      names[3 * j + 1] = slotname(p, op->b, pc);
      if (op->code == IR_ARITH || op->code == IR_INDEX)
        names[3 * j + 2] = slotname(p, op->c, pc);
    }
  }
  return names;
}

#endif
