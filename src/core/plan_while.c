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
#include <string.h>

#include "plan.h"
#include "reasons.h"


static plan_Plan *refuse (plan_Refusal *why, int line, cpm_Reason r) {
  why->line = line;
  snprintf(why->msg, sizeof(why->msg), "%s", cpm_reason(r));
  return NULL;
}


static int validarg (const ir_Loop *ir, ir_Arg x) {
  return ir_isconst(x) ? ir_constidx(x) < ir->nk : x < ir->nslots;
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
  ir_Const unused;
  unsigned char *buf, *liveout, *escapes = NULL;
  plan_Plan *p;
  size_t ns, size;
  int i, j, counter, bound, writes = 0, at = -1, skipto = 0;
  why->line = ir->line; why->msg[0] = '\0';
  if (ir->nslots < 0 || ir->nslots >= IR_MAXSLOTS || ir->nops < 0 ||
      ir->nops >= IR_MAXOPS || ir->nk < 0 || (cd->cmp != IR_EQ &&
      cd->cmp != IR_LT && cd->cmp != IR_LE) || !validarg(ir, cd->x) ||
      !validarg(ir, cd->y))
    return refuse(why, ir->line, CPM_R_IR_MALFORMED);
  for (i = 0; i < ir->nops; i++) {
    const ir_Op *op = &ir->ops[i];
    if (op->code == IR_LOOP) return refuse(why, op->line, CPM_R_NESTED);
    if (op->code != IR_IF && (op->a < 0 || op->a >= ir->nslots))
      return refuse(why, op->line, CPM_R_IR_MALFORMED);
  }
  /* one scratch userdata (collected whatever raises): the scan's arrays,
     then the body to plan */
  ns = (size_t)ir->nslots + 1;
  size = ns * (sizeof(ir_Arg) + 5) + ((size_t)ir->nops + 1) * sizeof(ir_Op);
  buf = (unsigned char *)cpm_newuserdata(L, size);
  memset(buf, 0, size);
  ops = (ir_Op *)buf;
  sc.step = (ir_Arg *)(buf + ((size_t)ir->nops + 1) * sizeof(ir_Op));
  sc.written = (unsigned char *)(sc.step + ns);
  sc.val = sc.written + ns;
  sc.negate = sc.val + ns;
  liveout = sc.negate + ns;
  if (ir->escapes != NULL) escapes = liveout + ns;
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
    else track(&sc, op);
  }
  if (writes != 1 || sc.val[counter] != V_STEPPED) {
    lua_pop(L, 1);
    return refuse(why, at >= 0 ? ir->ops[at].line : ir->line,
                  writes != 1 ? CPM_R_WHILE_UPDATES : CPM_R_WHILE_STEP);
  }
  /* the body to plan: b copied first, into slot nslots */
  body = *ir;
  body.kind = IR_FORNUM;
  body.index = -1;
  body.nslots = ir->nslots + (ir_isconst(bound) ? 0 : 1);
  j = 0;
  if (!ir_isconst(bound)) {
    ops[0].code = IR_MOVE;
    ops[0].a = ir->nslots;
    ops[0].b = bound;
    ops[0].line = ir->line;
    j = 1;
  }
  if (ir->nops > 0) memcpy(ops + j, ir->ops, (size_t)ir->nops * sizeof(ir_Op));
  if (ir->liveout != NULL) memcpy(liveout, ir->liveout, (size_t)ir->nslots);
  if (escapes != NULL) memcpy(escapes, ir->escapes, (size_t)ir->nslots);
  body.ops = ops;
  body.nops = ir->nops + j;
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
  p->w.counter = inputof(p, ir, counter, &unused);
  p->w.bound = inputof(p, ir, bound, &p->w.bk);
  p->w.step = inputof(p, ir, sc.step[counter], &p->w.sk);
  if (p->w.counter < 0 || p->w.bound == -2 || p->w.step == -2) {
    lua_pop(L, 1);
    return refuse(why, ir->line, CPM_R_IR_MALFORMED);
  }
  return p;
}
