/*
** plan_while.c -- counted while and repeat loops.
**
** A loop `while x cmp b do body end` (or `repeat body until x cmp b`, or
** with the operands the other way round) is counted when:
**   - one operand of the test, the counter x, is a slot the body changes,
**     and the other, the bound b, is invariant where the test reads it:
**     a constant, a slot the body never writes, or a slot holding an
**     invariant expression (`n * 2`: number arithmetic whose leaves are
**     numeric constants and slots the body never writes, computed on
**     every path: by the ops of a while's test, cond.pre, or the last ops
**     of a repeat's body);
**   - the body writes x exactly once, on every path (not inside an IF's
**     skipped ops, nor in an inner loop's body, which runs 0, 1 or more
**     times a pass), with x := x + s, x := s + x or x := x - s, possibly
**     through copies (t := x; t := t + 1; x := t, as the bytecode of an
**     upvalue counter reads), s an invariant expression as b may be
**     (`i = i + 2*k`: the temporary holding 2*k is written by the body,
**     yet holds the same value on every pass).
** Then the n-th test sees x0 + n s (while: n from 0; repeat: from 1) and
** the number of passes is a function of x0, s and b alone, which the
** guard computes at entry (count_while, count.c) before anything else,
** evaluating b and s (plan_WExpr) with numbers only: an expression that
** could call a metamethod or raise runs the loop as written.
** The body is then planned as the body of the numeric for loop whose
** variable takes x's values x0, x0 + s, ...: x is the plan's index, the
** update writes a fresh slot instead (which the ops after it read for x),
** and x's final value, when live, is one more output (a PA_END atom, or
** pushed by the branch or the nest guard).  A body with inner numeric for
** loops (LOOP ops) is planned as a nest (plan_nest.c), x its outer index.
** The counter is no state of the plan, so
** a modular body need not reduce it and a bitwise one (once the unread
** stepping is dropped) still plans over GF(2).
**
** To make the slots b and s read inputs of the plan even when the body
** no longer reads them, the planned body starts with copies of them into
** slots of its own (dead after the body); the front ends' IR is left as
** it is.  A while's test ops stay the first ops of the planned body: they
** write only dead slots and compute invariants, so running them once
** less (the exit's) changes nothing.  See doc/design.md, "While and
** repeat loops".
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


/* What a slot holds at a point of the body, as far as the test goes: the
   counter's entry value, its one stepped value, an invariant expression
   computed on every path (V_INV), or anything else. */
enum { V_OTHER, V_ENTRY, V_STEPPED, V_INV };

/* A node of an invariant expression met in the scan (a plan_WNode whose
   leaves are still operands of the IR): a leaf (aop -1) is 'leaf'; else
   aop on earlier nodes x and y.  'size' counts the nodes of its tree. */
typedef struct Node {
  int aop;
  ir_Arg leaf;
  int x, y;
  int size;
} Node;

typedef struct Scan {
  const ir_Loop *ir;
  int counter;			/* the counter's slot, or -1 (not known yet) */
  int testat;			/* the op before which the test reads its
				   operands (nops: after the body) */
  unsigned char *written;	/* nslots: the body writes the slot */
  unsigned char *val;		/* nslots: V_* */
  unsigned char *negate;	/* nslots: a V_STEPPED slot holds x - s */
  int *node;			/* nslots: the expression of a V_INV slot,
				   the step s of a V_STEPPED one */
  unsigned char *chain;		/* nops: the op copies or steps the counter */
  Node *pool;
  int npool, maxpool;
  int writes, at, pathline;	/* the counter's writes, the last one, the
				   line of one some path skips (or -1) */
  int innerline;		/* the line of a write of the counter in an
				   inner loop's body (or -1) */
  int prebad;			/* an op of a while's test that computes no
				   invariant */
  int tval[2], tnode[2];	/* the test's operands where it reads them:
				   V_*, and the invariant's node or -1 */
} Scan;


static int newnode (Scan *sc, int aop, ir_Arg leaf, int x, int y) {
  Node *n;
  int size = 1;
  if (x >= 0) size += sc->pool[x].size;
  if (y >= 0 && y != x) size += sc->pool[y].size;
  if (sc->npool >= sc->maxpool || size > PLAN_WMAXNODES) return -1;
  n = &sc->pool[sc->npool];
  n->aop = aop;
  n->leaf = leaf;
  n->x = x;
  n->y = y;
  n->size = size;
  return sc->npool++;
}


/* The node of operand x as an invariant at this point of the scan: a
   numeric constant ('anyk': any constant), a slot the body never writes,
   or a slot holding an invariant expression; -1 when it is none. */
static int invnode (Scan *sc, ir_Arg x, int anyk) {
  if (ir_isconst(x))
    return anyk || isnumk(sc->ir, x) ? newnode(sc, -1, x, -1, -1) : -1;
  if (!sc->written[x]) return newnode(sc, -1, x, -1, -1);
  return sc->val[x] == V_INV ? sc->node[x] : -1;
}


static int valof (const Scan *sc, ir_Arg x) {
  return ir_isconst(x) ? V_OTHER : sc->val[x];
}


/* What op (on every path of the body) leaves in its destination:
   follows the counter's entry value and its one stepped value, and the
   invariant expressions a step or a bound may be. */
static void track (Scan *sc, const ir_Op *op) {
  int v = V_OTHER, nd = -1, neg = 0, nb, nc;
  switch (op->code) {
    case IR_MOVE:
      v = valof(sc, op->b);
      if (v == V_ENTRY || v == V_STEPPED) {
        nd = sc->node[op->b];
        neg = sc->negate[op->b];
      }
      else v = (nd = invnode(sc, op->b, 0)) >= 0 ? V_INV : V_OTHER;
      break;
    case IR_ARITH:
      if (op->n1 != 0) break;  /* a library call (LuaJIT's bit.*) */
      if ((op->aop == IR_ADD || op->aop == IR_SUB) &&
          valof(sc, op->b) == V_ENTRY &&
          (nd = invnode(sc, op->c, 0)) >= 0) {
        v = V_STEPPED;
        neg = (op->aop == IR_SUB);
      }
      else if (op->aop == IR_ADD && valof(sc, op->c) == V_ENTRY &&
               (nd = invnode(sc, op->b, 0)) >= 0)
        v = V_STEPPED;
      else if ((nb = invnode(sc, op->b, 0)) >= 0 &&
               (nc = invnode(sc, op->c, 0)) >= 0 &&
               (nd = newnode(sc, op->aop, 0, nb, nc)) >= 0)
        v = V_INV;
      break;
    case IR_UNARY:
      if (op->n1 == 0 && (nb = invnode(sc, op->b, 0)) >= 0 &&
          (nd = newnode(sc, op->aop, 0, nb, nb)) >= 0)
        v = V_INV;
      break;
    default:  /* a field read: not evaluated before the count */
      break;
  }
  sc->val[op->a] = (unsigned char)v;
  sc->node[op->a] = nd;
  sc->negate[op->a] = (unsigned char)neg;
}


/* One forward pass over the body for counter sc->counter (-1: none,
   to find it); fills the scan's results. */
static void scan (Scan *sc) {
  const ir_Loop *ir = sc->ir;
  const ir_Cond *cd = &ir->cond;
  int i, skipto = 0, inner = 0;
  memset(sc->val, V_OTHER, (size_t)ir->nslots);
  memset(sc->negate, 0, (size_t)ir->nslots);
  memset(sc->chain, 0, (size_t)ir->nops);
  for (i = 0; i < ir->nslots; i++) sc->node[i] = -1;
  sc->npool = 0;
  sc->writes = 0;
  sc->at = sc->pathline = sc->innerline = -1;
  sc->prebad = 0;
  if (sc->counter >= 0) sc->val[sc->counter] = V_ENTRY;
  for (i = 0; i <= ir->nops; i++) {
    const ir_Op *op = &ir->ops[i];
    int inpath = i < skipto;  /* some path skips this op */
    int innest = i < inner;  /* in an inner loop: run 0, 1 or more times */
    if (i == sc->testat) {
      sc->tval[0] = valof(sc, cd->x);
      sc->tval[1] = valof(sc, cd->y);
      sc->tnode[0] = invnode(sc, cd->x, 1);
      sc->tnode[1] = invnode(sc, cd->y, 1);
    }
    if (i == ir->nops) break;
    if (op->code == IR_IF) {
      if (op->n1 > 0 && i + 1 + op->n1 > skipto) skipto = i + 1 + op->n1;
      if (ir->kind == IR_WHILE && i < cd->pre) sc->prebad = 1;
      continue;
    }
    if (op->a == sc->counter) {
      sc->writes++;
      sc->at = i;
      if (innest && sc->innerline < 0) sc->innerline = op->line;
      else if (inpath && sc->pathline < 0) sc->pathline = op->line;
    }
    if (inpath || innest) {
      sc->val[op->a] = V_OTHER;
      sc->node[op->a] = -1;
    }
    else {
      track(sc, op);
      sc->chain[i] = (sc->val[op->a] == V_ENTRY ||
                      sc->val[op->a] == V_STEPPED);
    }
    if (ir->kind == IR_WHILE && i < cd->pre && sc->val[op->a] != V_INV)
      sc->prebad = 1;
    if (op->code == IR_LOOP && op->n1 > 0 && i + 1 + op->n1 > inner)
      inner = i + 1 + op->n1;
  }
}


/* The leaf slots of the expression at node 'root' into leaves[*nleaf..]
   (each once); marks its nodes in mark[] (1). */
static void leavesof (const Scan *sc, int root, unsigned char *mark,
                      ir_Arg *leaves, int *nleaf) {
  int i, j;
  memset(mark, 0, (size_t)sc->npool);
  mark[root] = 1;
  for (i = root; i >= 0; i--) {  /* operands precede the nodes they feed */
    const Node *n = &sc->pool[i];
    if (!mark[i]) continue;
    if (n->aop >= 0) {
      mark[n->x] = 1;
      mark[n->y] = 1;
    }
    else if (!ir_isconst(n->leaf)) {
      for (j = 0; j < *nleaf && leaves[j] != n->leaf; j++)
        ;
      if (j == *nleaf) leaves[(*nleaf)++] = n->leaf;
    }
  }
}


/* The expression at node 'root' as the guard evaluates it (the leaves
   inputs of plan p, or constants); 0 when a leaf slot is not an input
   (it must be). */
static int toexpr (const Scan *sc, int root, const plan_Plan *p,
                   int *map, unsigned char *mark, plan_WExpr *e) {
  int i;
  memset(mark, 0, (size_t)sc->npool);
  mark[root] = 1;
  for (i = root; i >= 0; i--)
    if (mark[i] && sc->pool[i].aop >= 0)
      mark[sc->pool[i].x] = mark[sc->pool[i].y] = 1;
  e->n = 0;
  for (i = 0; i <= root; i++) {
    const Node *n = &sc->pool[i];
    plan_WNode *w;
    if (!mark[i]) continue;
    if (e->n >= PLAN_WMAXNODES) return 0;  /* (size: never) */
    w = &e->node[e->n];
    memset(w, 0, sizeof(*w));
    w->aop = n->aop;
    w->x = w->y = -1;
    if (n->aop >= 0) {
      w->x = map[n->x];
      w->y = map[n->y];
    }
    else if (ir_isconst(n->leaf)) {
      w->k = sc->ir->k[ir_constidx(n->leaf)];
      if (w->k.type == IR_KSTR) w->k.type = IR_KNIL;  /* not a number */
    }
    else if ((w->x = p->slot_in[n->leaf]) < 0)
      return 0;
    map[i] = e->n++;
  }
  return 1;
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
    ir_Arg b = op->b, c = op->c, d = op->code == IR_LOOP ? op->d : b;
    if (i == w || dropped[i] == 2) continue;
    if (i > at) {  /* reads of the counter there read the stepped value */
      if (b == counter) b = ir->nslots;
      if (c == counter) c = ir->nslots;
      if (d == counter) d = ir->nslots;
    }
    if (b == a || c == a || d == a) return 1;
  }
  return 0;
}


plan_Plan *plan_while_make (lua_State *L, const ir_Loop *ir,
                            plan_Refusal *why) {
  const ir_Cond *cd = &ir->cond;
  Scan sc;
  ir_Loop body;
  ir_Op *ops;
  unsigned char *buf, *liveout, *escapes = NULL, *mark;
  const char **names;
  ir_Arg leaves[2 * PLAN_WMAXNODES];
  plan_Plan *p;
  size_t ns, nb, size;
  int i, j, counter, left, nleaf = 0, tslot, bnode, snode, *map;
  why->line = ir->line; why->msg[0] = '\0';
  if (ir->nslots < 0 || ir->nslots >= IR_MAXSLOTS || ir->nops < 0 ||
      ir->nops >= IR_MAXOPS || ir->nk < 0 || (cd->cmp != IR_EQ &&
      cd->cmp != IR_LT && cd->cmp != IR_LE) || !validarg(ir, cd->x) ||
      !validarg(ir, cd->y) || cd->pre < 0 || cd->pre > ir->nops ||
      (ir->kind != IR_WHILE && cd->pre != 0))
    return refuse(why, ir->line, CPM_R_IR_MALFORMED);
  for (i = 0; i < ir->nops; i++) {  /* (plan_make validates the rest) */
    const ir_Op *op = &ir->ops[i];
    if (op->code == IR_IF || op->code == IR_LOOP
        ? op->n1 < 0 || op->n1 > ir->nops - i - 1 : 0)
      return refuse(why, op->line, CPM_R_IR_MALFORMED);
    if (op->code != IR_IF &&
        (op->a < 0 || op->a >= ir->nslots || !validarg(ir, op->b) ||
         ((op->code == IR_ARITH || op->code == IR_INDEX ||
           op->code == IR_LOOP) && !validarg(ir, op->c)) ||
         (op->code == IR_LOOP && !validarg(ir, op->d))))
      return refuse(why, op->line, CPM_R_IR_MALFORMED);
  }
  /* one scratch userdata (collected whatever raises): the body to plan
     (names, ops), the scan's arrays */
  ns = (size_t)ir->nslots + 1 + 2 * PLAN_WMAXNODES;  /* + the copies */
  nb = (size_t)ir->nops + 1 + 2 * PLAN_WMAXNODES;    /* ops of the body */
  sc.maxpool = 5 * ir->nops + 8;  /* track: at most 5 nodes an op */
  size = 3 * nb * sizeof(const char *) + nb * sizeof(ir_Op) +
         ns * sizeof(int) + (size_t)sc.maxpool * (sizeof(Node) +
         sizeof(int) + 1) + 5 * ns + (size_t)ir->nops + 1;
  buf = (unsigned char *)cpm_newbuffer(L, size);
  memset(buf, 0, size);
  names = (const char **)buf;  /* the body's op names (ir.h), remapped */
  ops = (ir_Op *)(buf + 3 * nb * sizeof(const char *));
  sc.node = (int *)(ops + nb);
  map = sc.node + ns;
  sc.pool = (Node *)(map + sc.maxpool);
  mark = (unsigned char *)(sc.pool + sc.maxpool);
  sc.written = mark + sc.maxpool;
  sc.val = sc.written + ns;
  sc.negate = sc.val + ns;
  liveout = sc.negate + ns;
  if (ir->escapes != NULL) escapes = liveout + ns;
  sc.chain = liveout + 2 * ns;
  sc.ir = ir;
  sc.testat = ir->kind == IR_WHILE ? cd->pre : ir->nops;
  for (i = 0; i < ir->nops; i++)
    if (ir->ops[i].code != IR_IF) sc.written[ir->ops[i].a] = 1;
  /* the counter: the operand of the test that the body changes (neither
     constant, nor unwritten, nor an invariant expression there) */
  sc.counter = -1;
  scan(&sc);
  if (sc.prebad) {  /* (the test's ops run once more than the body) */
    lua_pop(L, 1);
    return refuse(why, ir->line, CPM_R_WHILE_COND);
  }
  {
    int cx = !ir_isconst(cd->x) && sc.written[cd->x] && sc.tnode[0] < 0;
    int cy = !ir_isconst(cd->y) && sc.written[cd->y] && sc.tnode[1] < 0;
    if (!cx && !cy) {
      lua_pop(L, 1);
      return refuse(why, ir->line, CPM_R_WHILE_NOCOUNTER);
    }
    if (cx && cy) {
      lua_pop(L, 1);
      return refuse(why, ir->line, CPM_R_WHILE_BOUND);
    }
    left = cx;
    counter = cx ? cd->x : cd->y;
  }
  /* its one update, on every path, by an invariant step; the test sees
     its entry value (while) or its stepped one (repeat) */
  sc.counter = counter;
  scan(&sc);
  if (sc.innerline >= 0) {
    lua_pop(L, 1);
    return refuse(why, sc.innerline, CPM_R_WHILE_INNER);
  }
  if (sc.pathline >= 0) {
    lua_pop(L, 1);
    return refuse(why, sc.pathline, CPM_R_WHILE_PATHS);
  }
  if (sc.writes != 1 || sc.val[counter] != V_STEPPED ||
      sc.tval[!left] != (ir->kind == IR_WHILE ? V_ENTRY : V_STEPPED)) {
    lua_pop(L, 1);
    return refuse(why, sc.at >= 0 ? ir->ops[sc.at].line : ir->line,
                  sc.writes != 1 ? CPM_R_WHILE_UPDATES : CPM_R_WHILE_STEP);
  }
  snode = sc.node[counter];
  bnode = sc.tnode[left];
  if (bnode < 0 || snode < 0) {  /* (the first scan found b invariant) */
    lua_pop(L, 1);
    return refuse(why, ir->line, CPM_R_WHILE_BOUND);
  }
  /* the body to plan: the slots b and s read copied first (into slots
     nslots + 1 on, so that they are inputs); the counter is the loop
     variable, its update writes slot nslots instead, which later ops read
     for it */
  leavesof(&sc, bnode, mark, leaves, &nleaf);
  leavesof(&sc, snode, mark, leaves, &nleaf);
  tslot = ir->nslots;
  body = *ir;
  body.kind = IR_FORNUM;
  body.index = counter;
  body.nslots = ir->nslots + 1 + nleaf;
  for (j = 0; j < nleaf; j++) {
    ops[j].code = IR_MOVE;
    ops[j].a = ir->nslots + 1 + j;
    ops[j].b = leaves[j];
    ops[j].line = ir->line;
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
        int a = i == sc.at ? tslot : ir->ops[i].a;
        if (sc.chain[i] != 1 ||
            readlater(ir, sc.chain, i, a, counter, sc.at) ||
            (a != tslot && (ir->liveout == NULL || ir->liveout[a])))
          continue;
        sc.chain[i] = 2;
        changed = 1;
      }
    }
  }
  for (i = 0; i < ir->nops; i++) {
    ir_Op op = ir->ops[i];
    if (i == sc.at) op.a = tslot;
    else if (i > sc.at) {
      if (op.b == counter) op.b = tslot;
      if (op.c == counter) op.c = tslot;
      if (op.code == IR_LOOP && op.d == counter) op.d = tslot;
    }
    if (sc.chain[i] == 2) continue;  /* dropped, above */
    if (ir->names != NULL) {
      names[3 * j] = op.a == tslot ? NULL : ir->names[3 * i];
      names[3 * j + 1] = ir->names[3 * i + 1];
      names[3 * j + 2] = ir->names[3 * i + 2];
    }
    ops[j++] = op;
  }
  if (ir->liveout != NULL) memcpy(liveout, ir->liveout, (size_t)ir->nslots);
  liveout[counter] = 0;  /* its final value: the PA_END atom */
  if (escapes != NULL) memcpy(escapes, ir->escapes, (size_t)ir->nslots);
  body.ops = ops;
  body.nops = j;
  body.names = ir->names != NULL ? names : NULL;
  body.liveout = liveout;
  body.escapes = escapes;
  p = plan_make(L, &body, why);
  if (p == NULL) {
    lua_pop(L, 1);
    return NULL;
  }
  p->kind = ir->kind;
  p->w.active = 1;
  p->w.repeat = (ir->kind == IR_REPEAT);
  p->w.cmp = cd->cmp;
  p->w.left = left;
  p->w.exit = cd->exit != 0;
  p->w.negate = sc.negate[counter];
  p->w.endatom = -1;
  if (!toexpr(&sc, bnode, p, map, mark, &p->w.bound) ||
      !toexpr(&sc, snode, p, map, mark, &p->w.step) || p->index != counter) {
    lua_pop(L, 2);
    return refuse(why, ir->line, CPM_R_IR_MALFORMED);
  }
  lua_remove(L, -2);  /* the scratch */
  if (ir->liveout != NULL && ir->liveout[counter]) {  /* an output too */
    plan_Out *o = &p->out[p->nout++];  /* (room: nslots + 1 entries) */
    o->slot = counter;
    o->state = -1;
    o->atom = -1;
    o->mayneg0 = 0;
    if (p->nest != NULL) p->w.endlast = 1;  /* the nest guard pushes it */
    else if (p->branch == NULL) {  /* a branch plan's guard pushes it */
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
