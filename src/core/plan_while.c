/*
** plan_while.c -- counted while and repeat loops.
**
** A loop `while x cmp b do body end` (or `repeat body until x cmp b`, or
** with the operands the other way round) is counted when:
**   - one operand of the test, the counter x, is a slot the body writes,
**     and the other, the bound b, is a constant or a slot it never writes;
**   - the body writes x exactly once, on every path (not inside an IF's
**     skipped ops), with x := x + s, x := s + x or x := x - s, possibly
**     through copies (t := x; t := t + 1; x := t, as the bytecode of an
**     upvalue counter reads), s a numeric constant or a slot the body never
**     writes.
** Then the n-th test sees x0 + n s (while: n from 0; repeat: from 1) and
** the number of passes is a function of x0, s and b alone, which the
** guard computes at entry (count_while, count.c) before anything else.
** The body, counter update included, is planned as the body of a numeric
** for loop that never reads its variable: the counter is one more carried
** value, and its final value one more result.
**
** To make b an input of the plan even when the body never reads it, the
** planned body starts with a copy of b into a slot of its own (dead after
** the body); the front ends' IR is left as it is.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "reasons.h"


static plan_Plan *refuse (plan_Refusal *why, int line, cpm_Reason r) {
  why->line = line;
  snprintf(why->msg, sizeof(why->msg), "%s", cpm_reason(r));
  return NULL;
}


static int validarg (const ir_Loop *ir, ir_Arg x) {
  return ir_isconst(x) ? x >= -ir->nk : x < ir->nslots;
}


static int isnumk (const ir_Loop *ir, ir_Arg x) {
  return ir_isconst(x) && (ir->k[ir_constidx(x)].type == IR_KINT ||
                           ir->k[ir_constidx(x)].type == IR_KFLT);
}


/* What a slot holds at a point of the body, as far as the counter goes. */
enum { V_OTHER, V_ENTRY, V_STEPPED };

typedef struct Scan {
  const ir_Loop *ir;
  unsigned char *written;	/* nslots: the body writes the slot */
  unsigned char *val;		/* nslots: V_* */
  unsigned char *negate;	/* nslots: a V_STEPPED slot holds x - s */
  ir_Arg *step;			/* nslots: the s of a V_STEPPED slot */
  unsigned char *chain;		/* nops: the op copies or steps the counter */
} Scan;


/* Is x an invariant step operand: a numeric constant or a slot the body
   never writes? */
static int invariant (const Scan *sc, ir_Arg x) {
  if (ir_isconst(x)) return isnumk(sc->ir, x);
  return !sc->written[x];
}


/* The counter's update, through the straight-line part of the body:
   follows the counter's entry value and its one stepped value. */
static void track (Scan *sc, const ir_Op *op) {
  unsigned char v = V_OTHER;
  if (op->code == IR_MOVE && !ir_isconst(op->b)) {
    v = sc->val[op->b];
    sc->step[op->a] = sc->step[op->b];
    sc->negate[op->a] = sc->negate[op->b];
  }
  else if (op->code == IR_ARITH &&
           (op->aop == IR_ADD || op->aop == IR_SUB)) {
    int b = ir_isconst(op->b) ? V_OTHER : sc->val[op->b];
    int c = ir_isconst(op->c) ? V_OTHER : sc->val[op->c];
    if (b == V_ENTRY && invariant(sc, op->c)) {
      v = V_STEPPED;
      sc->step[op->a] = op->c;
      sc->negate[op->a] = (op->aop == IR_SUB);
    }
    else if (op->aop == IR_ADD && c == V_ENTRY && invariant(sc, op->b)) {
      v = V_STEPPED;
      sc->step[op->a] = op->b;
      sc->negate[op->a] = 0;
    }
  }
  sc->val[op->a] = v;
}


static int hasif (const ir_Loop *ir) {
  int i;
  for (i = 0; i < ir->nops; i++)
    if (ir->ops[i].code == IR_IF) return 1;
  return 0;
}


/* Does an op of the body other than 'w' and those dropped read slot 'a',
   as the planned body reads it (the counter renamed after its update
   'at')? */
static int readlater (const ir_Loop *ir, const unsigned char *dropped,
                      int w, int a, int counter, int at) {
  int i;
  for (i = 0; i < ir->nops; i++) {
    const ir_Op *op = &ir->ops[i];
    ir_Arg b = op->b, c = op->c;  /* (d: LOOP only, refused) */
    if (i == w || dropped[i] == 2) continue;
    if (i > at) {  /* reads of the counter there read the stepped value */
      if (b == counter) b = ir->nslots;
      if (c == counter) c = ir->nslots;
    }
    if (b == a || c == a) return 1;
  }
  return 0;
}


/* The input number of operand x in plan p, or -1 for a constant (its
   value then in *k); -2 when a slot is not an input (it must be). */
static int inputof (const plan_Plan *p, const ir_Loop *ir, ir_Arg x,
                    ir_Const *k) {
  if (ir_isconst(x)) {
    *k = ir->k[ir_constidx(x)];
    if (k->type == IR_KSTR) k->type = IR_KNIL;  /* never kept: not a number */
    return -1;
  }
  return p->slot_in[x] >= 0 ? p->slot_in[x] : -2;
}


plan_Plan *plan_while_make (lua_State *L, const ir_Loop *ir,
                            plan_Refusal *why) {
  const ir_Cond *cd = &ir->cond;
  Scan sc;
  ir_Loop body;
  ir_Op *ops;
  unsigned char *buf, *liveout, *escapes = NULL;
  plan_Plan *p;
  size_t ns, size;
  int i, j, counter, bound, writes = 0, at = -1, skipto = 0, tslot;
  why->line = ir->line; why->msg[0] = '\0';
  if (ir->nslots < 0 || ir->nslots >= IR_MAXSLOTS || ir->nops < 0 ||
      ir->nops >= IR_MAXOPS || ir->nk < 0 || (cd->cmp != IR_EQ &&
      cd->cmp != IR_LT && cd->cmp != IR_LE) || !validarg(ir, cd->x) ||
      !validarg(ir, cd->y))
    return refuse(why, ir->line, CPM_R_IR_MALFORMED);
  for (i = 0; i < ir->nops; i++) {  /* (plan_make validates the rest) */
    const ir_Op *op = &ir->ops[i];
    if (op->code == IR_LOOP) return refuse(why, op->line, CPM_R_NESTED);
    if (op->code == IR_IF ? op->n1 < 0 || op->n1 > ir->nops
        : (op->a < 0 || op->a >= ir->nslots || !validarg(ir, op->b) ||
           ((op->code == IR_ARITH || op->code == IR_INDEX) &&
            !validarg(ir, op->c))))
      return refuse(why, op->line, CPM_R_IR_MALFORMED);
  }
  /* one scratch userdata (collected whatever raises): the scan's arrays,
     then the body to plan */
  ns = (size_t)ir->nslots + 3;
  size = ns * (sizeof(ir_Arg) + 5) + ((size_t)ir->nops + 3) * sizeof(ir_Op)
         + (size_t)ir->nops + 1;
  buf = (unsigned char *)cpm_newuserdata(L, size);
  memset(buf, 0, size);
  ops = (ir_Op *)buf;
  sc.step = (ir_Arg *)(buf + ((size_t)ir->nops + 3) * sizeof(ir_Op));
  sc.written = (unsigned char *)(sc.step + ns);
  sc.val = sc.written + ns;
  sc.negate = sc.val + ns;
  liveout = sc.negate + ns;
  if (ir->escapes != NULL) escapes = liveout + ns;
  sc.chain = liveout + 2 * ns;
  sc.ir = ir;
  for (i = 0; i < ir->nops; i++)
    if (ir->ops[i].code != IR_IF) sc.written[ir->ops[i].a] = 1;
  /* the counter: the operand the body writes */
  {
    int wx = !ir_isconst(cd->x) && sc.written[cd->x];
    int wy = !ir_isconst(cd->y) && sc.written[cd->y];
    if (!wx && !wy) {
      lua_pop(L, 1);
      return refuse(why, ir->line, CPM_R_WHILE_NOCOUNTER);
    }
    if (wx && wy) {
      lua_pop(L, 1);
      return refuse(why, ir->line, CPM_R_WHILE_BOUND);
    }
    counter = wx ? cd->x : cd->y;
    bound = wx ? cd->y : cd->x;
  }
  /* its one update, on every path, by an invariant step */
  sc.val[counter] = V_ENTRY;
  for (i = 0; i < ir->nops; i++) {
    const ir_Op *op = &ir->ops[i];
    int inpath = i < skipto;  /* some path skips this op */
    if (op->code == IR_IF) {
      if (op->n1 > 0 && i + 1 + op->n1 > skipto) skipto = i + 1 + op->n1;
      continue;
    }
    if (op->a == counter) {
      writes++;
      at = i;
      if (inpath) {
        lua_pop(L, 1);
        return refuse(why, op->line, CPM_R_WHILE_PATHS);
      }
    }
    if (inpath) sc.val[op->a] = V_OTHER;
    else {
      track(&sc, op);
      sc.chain[i] = (sc.val[op->a] != V_OTHER);
    }
  }
  if (writes != 1 || sc.val[counter] != V_STEPPED) {
    lua_pop(L, 1);
    return refuse(why, at >= 0 ? ir->ops[at].line : ir->line,
                  writes != 1 ? CPM_R_WHILE_UPDATES : CPM_R_WHILE_STEP);
  }
  /* the body to plan: b and s copied first (into slots nslots + 1 and
     + 2, so that they are inputs); the counter is the loop variable, its
     update writes slot nslots instead, which later ops read for it */
  tslot = ir->nslots;
  body = *ir;
  body.kind = IR_FORNUM;
  body.index = counter;
  body.nslots = ir->nslots + 3;
  j = 0;
  if (!ir_isconst(bound)) {
    ops[j].code = IR_MOVE;
    ops[j].a = ir->nslots + 1;
    ops[j].b = bound;
    ops[j].line = ir->line;
    j++;
  }
  if (!ir_isconst(sc.step[counter])) {
    ops[j].code = IR_MOVE;
    ops[j].a = ir->nslots + 2;
    ops[j].b = sc.step[counter];
    ops[j].line = ir->line;
    j++;
  }
  /* the counter's own stepping and copies, when nothing reads their
     results, are dropped (they never raise: the guard checked that x and
     s are numbers), so that a bitwise body with a counter still plans
     over GF(2); a body with IFs keeps them (its skips count ops) */
  if (!hasif(ir)) {
    int changed = 1;
    while (changed) {
      changed = 0;
      for (i = 0; i < ir->nops; i++) {
        int a = i == at ? tslot : ir->ops[i].a;
        if (sc.chain[i] != 1 || readlater(ir, sc.chain, i, a, counter, at) ||
            (a != tslot && (ir->liveout == NULL || ir->liveout[a])))
          continue;
        sc.chain[i] = 2;
        changed = 1;
      }
    }
  }
  for (i = 0; i < ir->nops; i++) {
    ir_Op op = ir->ops[i];
    if (i == at) op.a = tslot;
    else if (i > at) {
      if (op.b == counter) op.b = tslot;
      if (op.c == counter) op.c = tslot;
    }
    if (sc.chain[i] == 2) continue;  /* dropped, below */
    ops[j++] = op;
  }
  if (ir->liveout != NULL) memcpy(liveout, ir->liveout, (size_t)ir->nslots);
  liveout[counter] = 0;  /* its final value: the PA_END atom */
  if (escapes != NULL) memcpy(escapes, ir->escapes, (size_t)ir->nslots);
  body.ops = ops;
  body.nops = j;
  body.liveout = liveout;
  body.escapes = escapes;
  p = plan_make(L, &body, why);
  if (p == NULL) {
    lua_pop(L, 1);
    return NULL;
  }
  lua_remove(L, -2);  /* the scratch */
  p->kind = ir->kind;
  p->w.active = 1;
  p->w.repeat = (ir->kind == IR_REPEAT);
  p->w.cmp = cd->cmp;
  p->w.left = (counter == cd->x);
  p->w.exit = cd->exit != 0;
  p->w.negate = sc.negate[counter];
  p->w.endatom = -1;
  p->w.bound = inputof(p, ir, bound, &p->w.bk);
  p->w.step = inputof(p, ir, sc.step[counter], &p->w.sk);
  if (p->w.bound == -2 || p->w.step == -2 || p->index != counter) {
    lua_pop(L, 1);
    return refuse(why, ir->line, CPM_R_IR_MALFORMED);
  }
  if (ir->liveout != NULL && ir->liveout[counter]) {  /* an output too */
    plan_Out *o = &p->out[p->nout++];  /* (room: nslots + 1 entries) */
    o->slot = counter;
    o->state = -1;
    o->atom = -1;
    o->mayneg0 = 0;
    if (p->branch == NULL) {  /* a branch plan's guard pushes it itself */
      plan_Atom *a = (plan_Atom *)realloc(p->atoms, ((size_t)p->natoms + 1) *
                                                    sizeof(plan_Atom));
      if (a == NULL) cpm_nomem(L);
      p->atoms = a;
      memset(&a[p->natoms], 0, sizeof(a[0]));
      a[p->natoms].kind = PA_END;
      o->atom = p->w.endatom = p->natoms++;
    }
  }
  return p;
}
