/*
** rewrite54.c -- puts a guard call in front of a planned Lua 5.4 loop.
**
** Before the loop's FORPREP (or TFORPREP) it inserts, in registers above
** every register the function uses (T = the old maxstacksize):
**
**      GETUPVAL  T, H          the hook table (an upvalue added by us)
**      GETI      T, T, id      this loop's guard
**      MOVE      T+1 .. T+3    the control values
**      MOVE/GETUPVAL T+4 ..    the plan's inputs
**      CALL      T, ..         ok, outputs...
**      TEST      T, 0          ok?
**      JMP       -> loop       no: the original loop, untouched
**      MOVE/SETUPVAL ..        yes: the outputs into their variables
**      JMP       -> exit       and past the loop
**
** For a generic for the control values are the iterator, the state and
** the closing value (the guard requires it to be nil).
*/
#include "rewrite54.h"

#if CPM_LUA54

#define MAXCODE		(4 + 3 + 2 * 256 + 4)


const char *rewrite54_loop (lua_State *L, bc_Chunk *c, bc_Proto *p,
                            const find54_Loop *lp, const plan_Plan *pl,
                            int hook, int id) {
  bc_Instr code[MAXCODE];
  int n = 0, t = p->maxstacksize, i, need, tojump, base = lp->base;
  const char *why;
  if (id > BC_MAXARG_C) return "too many loops in one function";
  /* bc_check and find54 put every slot inside the frame or the upvalue
     list; checked again here, where a wrong one would become code */
  for (i = 0; i < pl->nin + pl->nout; i++) {
    int s = i < pl->nin ? pl->in[i] : pl->out[i - pl->nin].slot;
    if (s < 0 || (s < FIND54_UPSLOT ? s >= p->maxstacksize
                                    : s - FIND54_UPSLOT >= p->nup))
      return "loop value outside the frame and the upvalues";
  }
  if (base < 0 || base + (lp->kind == IR_FORRANGE ? 3 : 2) >= p->maxstacksize ||
      hook < 0 || hook >= p->nup)
    return "loop registers outside the frame";
  need = t + 4 + pl->nin;
  if (t + 1 + pl->nout > need) need = t + 1 + pl->nout;
  if (need > BC_MAXSTACK) return "not enough free registers for the guard call";
  code[n++] = BC_CREATE_ABCk(BC_OP_GETUPVAL, t, hook, 0, 0);
  code[n++] = BC_CREATE_ABCk(BC_OP_GETI, t, t, id, 0);
  code[n++] = BC_CREATE_ABCk(BC_OP_MOVE, t + 1, base, 0, 0);
  code[n++] = BC_CREATE_ABCk(BC_OP_MOVE, t + 2, base + 1, 0, 0);
  code[n++] = BC_CREATE_ABCk(BC_OP_MOVE, t + 3,
                             base + (lp->kind == IR_FORRANGE ? 3 : 2), 0, 0);
  for (i = 0; i < pl->nin; i++) {
    int s = pl->in[i];
    code[n++] = s >= FIND54_UPSLOT
        ? BC_CREATE_ABCk(BC_OP_GETUPVAL, t + 4 + i, s - FIND54_UPSLOT, 0, 0)
        : BC_CREATE_ABCk(BC_OP_MOVE, t + 4 + i, s, 0, 0);
  }
  code[n++] = BC_CREATE_ABCk(BC_OP_CALL, t, 4 + pl->nin, 2 + pl->nout, 0);
  code[n++] = BC_CREATE_ABCk(BC_OP_TEST, t, 0, 0, 0);
  tojump = n++;  /* JMP to the original loop: filled below */
  for (i = 0; i < pl->nout; i++) {
    int s = pl->out[i].slot;
    code[n++] = s >= FIND54_UPSLOT
        ? BC_CREATE_ABCk(BC_OP_SETUPVAL, t + 1 + i, s - FIND54_UPSLOT, 0, 0)
        : BC_CREATE_ABCk(BC_OP_MOVE, s, t + 1 + i, 0, 0);
  }
  /* after insertion the block is at prep .. prep+n-1, the loop at prep+n
     .. last+n, and its exit at last+n+1 */
  n++;
  code[tojump] = BC_CREATE_sJ(BC_OP_JMP, n - tojump - 1);
  code[n - 1] = BC_CREATE_sJ(BC_OP_JMP, lp->last - lp->prep + 1);
  why = bc_caninsert(p, lp->prep, n, BC_LANDBEFORE);
  if (why != NULL) return why;
  bc_needstack(L, p, need);
  bc_insert(L, c, p, lp->prep, code, n, lp->line, BC_LANDBEFORE);
  return NULL;
}

#endif
