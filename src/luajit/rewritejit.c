/*
** rewritejit.c -- puts a count check and a guard call in front of a
** planned LuaJIT loop.
**
** Before a numeric loop's FORI it inserts, in slots above every slot the
** function uses (T = the old framesize; A = the first argument slot of a
** call at T: T+2 with two-slot frames (FR2), else T+1):
**
**      MOV    T, base .. T+2, base+2   copies of the control values
**      FORI   T, ->loop         no iteration, or not numbers: the loop
**                               itself decides (and raises its own error,
**                               on the same line)
**      SUBVV  T+3, T+1, T       (limit - start) / step, the iterations
**      DIVVV  T+3, T+3, T+2     but one (NaN when step is 0: the loop)
**      KNUM   T+4, iters_limit - 1
**      ISGT   T+4, T+3  JMP ->loop   fewer than iters_limit iterations
**                               (the quotient below iters_limit - 1): the
**                               loop, without a C call
**
** or, when the start and the step are number constants a and s (set by
** KSHORT or KNUM right before the FORI, as LuaJIT's parser writes
** `for i = 1, n`), with K = a + (iters_limit - 1) s, instead of the
** SUBVV .. ISGT:
**      KNUM   T+4, K
**      ISGT   T+4, T+1  JMP ->loop   s > 0: limit below K (or NaN)
**     (ISGT   T+1, T+4  JMP ->loop   s < 0: limit above K)
** one comparison of the limit in a compiled trace, where the quotient
** costs a subtraction, a conversion and a comparison: as much again as
** the whole call of a loop of one or two iterations (bench/neverslower.lua).
** The constants only choose the check: were they wrong (a hand-made
** dump), a loop would run as written or ask the guard, both right.
**      UGET   T, hook           the hook table (an upvalue added by us;
**      ISEQP  T, nil  JMP ->loop      nil after string.dump and load)
**     [TGETB  T, T, 0  CALL T   the environment, when the plan reads a
**      MOV    A+3+i, T          global: hook[0] is a C function returning
**      UGET   T, hook]          its caller's environment]
**      TGETB  T, T, id          this loop's guard, or false: the site
**      ISF    T  JMP ->loop       gave up (guard.h, GUARD_FALLBACKS_TO_STOP)
**      MOV    A .. A+2, base..  the control values as written
**      MOV/UGET A+3 ..          the plan's inputs
**      CALL   T, nout+2, nin+4  ok, outputs... (in T, T+1, ...)
**      ISF    T  JMP ->loop     not ok: the original loop, untouched
**      MOV/USETV ..             ok: the outputs into their variables
**      JMP    ->exit            and past the loop
**
** Before a generic loop's head (JMP or ISNEXT) it inserts the same without
** the count check, and with instead
**      TGETB  T+1, T, 255       cpm.range's iterator (one closure for all)
**      ISNEV  base, T+1  JMP ->loop   another iterator: the loop
** right after the nil test of the hook table.
**
** A JMP's A is the first slot that is dead on both of its ways (LuaJIT's
** trace recorder restores no slot from A up at an exit there: lj_snap.c,
** snap_usedef), so each JMP names the slots its fall-through still reads.
**
** The count check only does number arithmetic on numbers FORI has checked,
** so it raises nothing and calls no metamethod.  Its rounding can only move
** a loop of about iters_limit iterations to one side or the other of the
** limit, and both are right: the guard counts exactly, and a loop run as
** written is the loop.
*/
#include "rewritejit.h"

#if CPM_LUAJIT

#define MAXCODE		(32 + 2 * FINDJIT_NSLOTS)


/*
** The number constant that code index 'at' of 'p' finds in 'slot': the
** value of the last instruction before 'at' writing the slot, when it is
** a KSHORT or KNUM reached by falling through (no jump or branch in
** between).  0 when there is none.
*/
static int kbefore (const jitbc_Proto *p, int at, int slot, double *v) {
  int i;
  for (i = at - 1; i >= 0; i--) {
    jitbc_Ins ins = p->code[i];
    int o = jitbc_op(ins), ma = jitbc_opinfo[o].ma;
    if (o <= JITBC_ISF || jitbc_isjump(ins) || o == JITBC_LOOP) return 0;
    if (ma == JITBC_M_dst && jitbc_a(ins) == slot) {
      if (o == JITBC_KSHORT) *v = (double)(int16_t)jitbc_d(ins);
      else if (o == JITBC_KNUM && jitbc_d(ins) < p->nkn)
        *v = jitbc_knumval(p, jitbc_d(ins));
      else return 0;
      return 1;
    }
    if ((ma == JITBC_M_base || ma == JITBC_M_rbase) && jitbc_a(ins) <= slot)
      return 0;  /* a call, KNIL, VARG..: may write it */
  }
  return 0;
}


const char *rewritejit_loop (jitbc_Chunk *c, jitbc_Proto *p,
                             const findjit_Loop *lp, const plan_Plan *pl,
                             int hook, int id, double limit) {
  jitbc_Ins code[MAXCODE];
  int n = 0, t = p->framesize, i, need, base = lp->base, fr, args, kl;
  int toloop[8], nto = 0, env = -1, knumat = -1;
  double a, step, kval = limit - 1;
  const char *why;
  if (id >= REWRITEJIT_RANGENEXT) return "too many loops in one function";
  if (pl->nin > FINDJIT_NSLOTS || pl->nout > FINDJIT_NSLOTS)
    return "too many loop variables for the guard call";
  fr = (c->flags & JITBC_F_FR2) ? 1 : 0;
  args = t + 1 + fr;
  need = t + 5;
  if (args + 3 + pl->nin > need) need = args + 3 + pl->nin;
  if (t + 1 + pl->nout > need) need = t + 1 + pl->nout;
  if (need > JITBC_MAXSLOTS) return "not enough free registers for the guard call";
  for (i = 0; i < pl->nin; i++) if (pl->in[i] == FINDJIT_ENVSLOT) env = i;
  if (lp->kind == IR_FORNUM) {
    for (i = 0; i < 3; i++) code[n++] = jitbc_ad(JITBC_MOV, t + i, base + i);
    toloop[nto++] = n;
    code[n++] = jitbc_ad(JITBC_FORI, t, 0);
    if (kbefore(p, lp->head, base, &a) && kbefore(p, lp->head, base + 2, &step) &&
        step != 0 && a - a == 0 && step - step == 0 &&
        (a + (limit - 1) * step) - (a + (limit - 1) * step) == 0) {
      /* (x - x == 0: finite) */
      kval = a + (limit - 1) * step;
      knumat = n;
      code[n++] = jitbc_ad(JITBC_KNUM, t + 4, 0);  /* its constant: below */
      code[n++] = step > 0 ? jitbc_ad(JITBC_ISGT, t + 4, t + 1)
                           : jitbc_ad(JITBC_ISGT, t + 1, t + 4);
    }
    else {
      code[n++] = jitbc_abc(JITBC_SUBVV, t + 3, t + 1, t);
      code[n++] = jitbc_abc(JITBC_DIVVV, t + 3, t + 3, t + 2);
      knumat = n;
      code[n++] = jitbc_ad(JITBC_KNUM, t + 4, 0);  /* its constant: below */
      code[n++] = jitbc_ad(JITBC_ISGT, t + 4, t + 3);
    }
    toloop[nto++] = n;
    code[n++] = jitbc_ad(JITBC_JMP, t, 0);
  }
  code[n++] = jitbc_ad(JITBC_UGET, t, hook);
  code[n++] = jitbc_ad(JITBC_ISEQP, t, JITBC_PRI_NIL);
  toloop[nto++] = n;
  code[n++] = jitbc_ad(JITBC_JMP, t + 1, 0);  /* T is read next */
  if (lp->kind == IR_FORRANGE) {  /* not cpm.range's iterator: the loop */
    code[n++] = jitbc_abc(JITBC_TGETB, t + 1, t, REWRITEJIT_RANGENEXT);
    code[n++] = jitbc_ad(JITBC_ISNEV, base, t + 1);
    toloop[nto++] = n;
    code[n++] = jitbc_ad(JITBC_JMP, t + 1, 0);
  }
  if (env >= 0) {
    code[n++] = jitbc_abc(JITBC_TGETB, t, t, REWRITEJIT_ENVFN);
    code[n++] = jitbc_abc(JITBC_CALL, t, 2, 1);
    code[n++] = jitbc_ad(JITBC_MOV, args + 3 + env, t);
    code[n++] = jitbc_ad(JITBC_UGET, t, hook);
  }
  code[n++] = jitbc_abc(JITBC_TGETB, t, t, id);
  code[n++] = jitbc_ad(JITBC_ISF, 0, t);
  toloop[nto++] = n;
  code[n++] = jitbc_ad(JITBC_JMP, t + 1, 0);  /* T is read next */
  for (i = 0; i < 3; i++) code[n++] = jitbc_ad(JITBC_MOV, args + i, base + i);
  for (i = 0; i < pl->nin; i++) {
    int s = pl->in[i];
    if (s == FINDJIT_ENVSLOT) continue;
    code[n++] = s >= FINDJIT_UPSLOT
        ? jitbc_ad(JITBC_UGET, args + 3 + i, s - FINDJIT_UPSLOT)
        : jitbc_ad(JITBC_MOV, args + 3 + i, s);
  }
  code[n++] = jitbc_abc(JITBC_CALL, t, 2 + pl->nout, 4 + pl->nin);
  code[n++] = jitbc_ad(JITBC_ISF, 0, t);
  toloop[nto++] = n;
  code[n++] = jitbc_ad(JITBC_JMP, t + 1 + pl->nout, 0);  /* outputs: read next */
  for (i = 0; i < pl->nout; i++) {
    int s = pl->out[i].slot;
    if (s == FINDJIT_ENVSLOT) return "the loop writes its environment";
    code[n++] = s >= FINDJIT_UPSLOT
        ? jitbc_ad(JITBC_USETV, s - FINDJIT_UPSLOT, t + 1 + i)
        : jitbc_ad(JITBC_MOV, s, t + 1 + i);
  }
  /* after insertion the block is at head .. head+n, the loop at
     head+n+1 .. last+n+1, and its exit at last+n+2 (n counting the last
     JMP) */
  code[n] = jitbc_aj(JITBC_JMP, t, lp->last - lp->head + 1);
  n++;
  for (i = 0; i < nto; i++) {
    jitbc_Ins ins = code[toloop[i]];
    code[toloop[i]] = jitbc_setd(ins, (unsigned)(n - toloop[i] - 1 + JITBC_BIASJ));
  }
  why = jitbc_caninsert(p, lp->head, n);
  if (why != NULL) return why;
  if (knumat >= 0) {
    kl = jitbc_knum(c, p, kval);
    if (kl < 0) return "too many constants for the guard call";
    code[knumat] = jitbc_ad(JITBC_KNUM, t + 4, kl);
  }
  jitbc_insert(c, p, lp->head, code, n);
  p->framesize = (unsigned char)(need > p->framesize ? need : p->framesize);
  return NULL;
}

#endif
