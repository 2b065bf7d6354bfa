/*
** plan_branch.c -- loops whose body branches on invariant conditions.
**
** The IR's IF is a forward conditional jump (ir.h), so every path through
** the body is straight-line code.  When every condition depends only on
** values the loop never changes, one path is taken in every iteration:
** the guard evaluates the conditions once at loop entry, takes the ops of
** that path and plans them as an ordinary body (plan.c), keeping one plan
** per path in a cache so that a call site plans once.  Only the taken
** path has to be plannable.
**
** The body may hold inner loops (LOOP ops, a nest: plan_nest.c) with
** IFs around them and inside them.  A path then keeps its LOOP ops, their
** bodies shortened to the ops of the path, and is planned as a nest; the
** conditions, invariant in the whole nest, take the same outcome in every
** iteration of every loop of it, so one path is taken throughout.  A jump
** never leaves the body of the inner loop it is in, nor enters one.
**
** At plan time a forward data-flow pass over the body (points 0..nops,
** joined at jump targets) decides:
**   - which values are invariant at each point: slots the body never
**     writes (not the loop counter), constants, and results of ops whose
**     operands are invariant; a slot written on one path and not on the
**     other is not invariant after the join.  An inner loop's body starts
**     with its counter and every slot the body writes (at any depth) not
**     invariant -- they hold the previous iteration's values -- and so
**     does the point after the loop, where they hold values of an
**     iteration or of none (the loop may run zero times).  An IF on
**     anything else is refused ("branch condition depends on a
**     loop-carried value", "... on the loop counter" for a counter);
**   - the guard's inputs, for the union of the paths: every slot read at
**     a point where some path has not yet written it, and every live
**     output that some path leaves unwritten (the guard passes its entry
**     value through);
**   - the outputs: the live slots that some path writes.
**
** At run time the conditions are evaluated with Lua's own semantics where
** no metamethod and no error can occur: numbers with numbers and strings
** with strings for < and <= (lua_compare / lua_lessthan: exact integer and
** float comparison on Lua 5.4, doubles on LuaJIT, strcoll order for
** strings on Lua 5.4), == between values that no __eq can see (Lua 5.4
** manual 3.4.4; LuaJIT's cdata excluded), truthiness of any value.
** Invariant arithmetic feeding a condition is evaluated on numbers only,
** where it cannot raise.  Anything else: the loop runs as written, which
** does whatever the program does (calls the metamethod, raises).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "count.h"
#include "guard.h"
#include "guard_while.h"
#include "plan.h"
#include "reasons.h"

/* Paths tried at plan time to find one that plans (decision bits). */
#define BRANCH_PROBE_BITS	6
/* Path plans a guard keeps before it starts its cache afresh. */
#define BRANCH_MAXCACHED	64


struct plan_Branch {
  ir_Loop ir;		/* a copy of the loop, constants owned */
  ir_Op *ops;
  ir_Const *k;
  unsigned char *liveout;
  unsigned char *escapes;	/* NULL when the loop's is (every slot may escape) */
  unsigned char *written;	/* slots written by some op (counters of inner
				   loops included) */
  unsigned char *counter;	/* slots that only inner loops write: their
				   counters (dead after them: no output) */
  /* the slots some op names, numbered 0..nused-1: the guard keeps values
     for these only (the bytecode front end's slots span 256 registers) */
  int *used;		/* slot -> its number, or -1 */
  int nused;
};


static int refuse (plan_Refusal *why, int line, const char *msg) {
  why->line = line;
  strncpy(why->msg, msg, sizeof(why->msg) - 1);
  why->msg[sizeof(why->msg) - 1] = '\0';
  return 0;
}


void plan_branch_free (plan_Branch *b) {
  plan_freeconsts(b->k, b->ir.nk);
  free(b->ops); free(b->liveout); free(b->escapes); free(b->written);
  free(b->counter); free(b->used);
  free(b);
}


/* {======================================================
** Planning
** ======================================================= */

static int badarg (const ir_Loop *ir, ir_Arg x) {
  return ir_isconst(x) ? ir_constidx(x) >= ir->nk : x >= ir->nslots;
}


/*
** Does the jump of the IF at 'i' stay in the body of the inner loop it is
** in, and enter none?  Its target is at most the end of that body
** ('end'), and every inner loop that starts between the IF and the target
** ends by the target.  The ops are checked already.
*/
static int jumpinside (const ir_Loop *ir, int i, int end) {
  int t = i + 1 + ir->ops[i].n1, j = i + 1;
  if (t > end) return 0;
  while (j < t) {
    const ir_Op *op = &ir->ops[j];
    if (op->code != IR_LOOP) j++;
    else if (j + 1 + op->n1 > t) return 0;
    else j += 1 + op->n1;
  }
  return 1;
}


/* Checks every op's fields and the nesting of the inner loops (the guard
   interprets them before any path is planned). */
static int checkops (const ir_Loop *ir, plan_Refusal *why) {
  int ends[IR_MAXDEPTH + 1], depth = 0, i;
  if (ir->nslots < 0 || ir->nslots > IR_MAXSLOTS || ir->nops < 0 ||
      ir->nops > IR_MAXOPS || ir->nk < 0 || ir->index >= ir->nslots ||
      ir->index < -1)
    return refuse(why, ir->line, cpm_reason(CPM_R_TOO_LARGE));
  ends[0] = ir->nops;
  for (i = 0; i < ir->nops; i++) {
    const ir_Op *op = &ir->ops[i];
    int bad;
    while (depth > 0 && i >= ends[depth]) depth--;
    switch (op->code) {
      case IR_IF:
        bad = op->aop < 0 || op->aop >= IR_NCMP || (op->a != 0 && op->a != 1)
              || op->n1 < 0 || op->n1 > ir->nops - 1 - i
              || (op->aop != IR_ALWAYS && badarg(ir, op->b))
              || (op->aop <= IR_LE && badarg(ir, op->c));
        break;
      case IR_LOOP:
        bad = op->a < 0 || op->a >= ir->nslots || badarg(ir, op->b) ||
              badarg(ir, op->c) || badarg(ir, op->d) || op->n1 < 0 ||
              op->n1 > ends[depth] - i - 1;
        if (!bad && depth + 1 > IR_MAXDEPTH) {
          char msg[160];
          snprintf(msg, sizeof(msg), cpm_reason(CPM_R_NEST_DEPTH),
                   IR_MAXDEPTH + 1);
          return refuse(why, op->line, msg);
        }
        if (!bad) ends[++depth] = i + 1 + op->n1;
        break;
      case IR_MOVE:
        bad = op->a < 0 || op->a >= ir->nslots || badarg(ir, op->b);
        break;
      case IR_ARITH:
        bad = op->a < 0 || op->a >= ir->nslots || badarg(ir, op->b) ||
              badarg(ir, op->c) || op->aop < 0 || op->aop >= IR_UNM;
        break;
      case IR_INDEX:
        bad = op->a < 0 || op->a >= ir->nslots || badarg(ir, op->b) ||
              badarg(ir, op->c);
        break;
      case IR_UNARY:
        bad = op->a < 0 || op->a >= ir->nslots || badarg(ir, op->b) ||
              (op->aop != IR_UNM && op->aop != IR_BNOT);
        break;
      default: bad = 1;
    }
    if (bad) return refuse(why, op->line, cpm_reason(CPM_R_IR_MALFORMED));
  }
  depth = 0;
  for (i = 0; i < ir->nops; i++) {
    const ir_Op *op = &ir->ops[i];
    while (depth > 0 && i >= ends[depth]) depth--;
    if (op->code == IR_LOOP) ends[++depth] = i + 1 + op->n1;
    else if (op->code == IR_IF && !jumpinside(ir, i, ends[depth]))
      return refuse(why, op->line, cpm_reason(CPM_R_IR_MALFORMED));
  }
  return 1;
}


/* Data-flow state at the points of the body: per point, per slot. */
typedef struct Flow {
  int ns;
  unsigned char *reach;	/* nops + 1 */
  unsigned char *mw;	/* (nops + 1) x ns: written on every path so far */
  unsigned char *inv;	/* (nops + 1) x ns: invariant on every path */
  unsigned char *tmw, *tinv;	/* ns: the state after one op */
  unsigned char *input;	/* ns */
} Flow;


static void join (Flow *f, int t, const unsigned char *mw,
                  const unsigned char *inv) {
  size_t o = (size_t)t * (size_t)f->ns;
  int s;
  if (!f->reach[t]) {
    f->reach[t] = 1;
    memcpy(f->mw + o, mw, (size_t)f->ns);
    memcpy(f->inv + o, inv, (size_t)f->ns);
    return;
  }
  for (s = 0; s < f->ns; s++) {
    f->mw[o + s] &= mw[s];
    f->inv[o + s] &= inv[s];
  }
}


/* A read of operand 'x' at a point with state (mw, inv); its invariance. */
static int readop (Flow *f, const unsigned char *mw, const unsigned char *inv,
                   ir_Arg x) {
  if (ir_isconst(x)) return 1;
  if (!mw[x]) f->input[x] = 1;
  return inv[x];
}


/* Is operand 'x' a loop counter (the loop's own or an inner loop's)? */
static int iscounter (const ir_Loop *ir, const plan_Branch *b, ir_Arg x) {
  return !ir_isconst(x) && (x == ir->index || b->counter[x]);
}


/*
** An inner loop (LOOP op 'i', state (mw, inv) before it): its body starts
** with the counter set, and neither the counter nor any slot the body
** writes invariant (they hold the previous iteration's values); after it
** (the body's end joins there too) the same slots are not invariant
** either, and none of them written when the body ran zero times.
*/
static void flowloop (const ir_Loop *ir, Flow *f, int i,
                      const unsigned char *mw, const unsigned char *inv) {
  const ir_Op *op = &ir->ops[i];
  int end = i + 1 + op->n1, j;
  memcpy(f->tmw, mw, (size_t)f->ns);
  memcpy(f->tinv, inv, (size_t)f->ns);
  f->tinv[op->a] = 0;
  for (j = i + 1; j < end; j++)
    if (ir->ops[j].code != IR_IF) f->tinv[ir->ops[j].a] = 0;
  join(f, end, f->tmw, f->tinv);
  f->tmw[op->a] = 1;
  join(f, i + 1, f->tmw, f->tinv);
}


/*
** Refuses the condition of the IF at 'i' (reason 'r'); inside an inner
** loop, as the nest planner words what an inner loop refuses: "inner loop
** at line N: ..." with the line of the outermost inner loop around it.
*/
static int refusecond (const ir_Loop *ir, int i, cpm_Reason r,
                       plan_Refusal *why) {
  int j = 0;
  while (j < i) {
    const ir_Op *op = &ir->ops[j];
    if (op->code == IR_LOOP && i <= j + op->n1) {
      char msg[160];
      snprintf(msg, sizeof(msg), cpm_reason(CPM_R_NEST_INNER), op->line,
               cpm_reason(r));
      return refuse(why, ir->line, msg);
    }
    j += 1 + (op->code == IR_LOOP ? op->n1 : 0);
  }
  return refuse(why, ir->ops[i].line, cpm_reason(r));
}


static int flow (const ir_Loop *ir, const plan_Branch *b, Flow *f,
                 plan_Refusal *why) {
  int ns = f->ns, i, s;
  f->reach[0] = 1;
  for (s = 0; s < ns; s++) f->inv[s] = !b->written[s] && s != ir->index;
  for (i = 0; i < ir->nops; i++) {
    const ir_Op *op = &ir->ops[i];
    const unsigned char *mw = f->mw + (size_t)i * (size_t)ns;
    const unsigned char *inv = f->inv + (size_t)i * (size_t)ns;
    if (!f->reach[i]) continue;  /* dead code: no path runs it */
    if (op->code == IR_IF) {
      int ok = 1;
      if (op->aop != IR_ALWAYS) ok &= readop(f, mw, inv, op->b);
      if (op->aop <= IR_LE) ok &= readop(f, mw, inv, op->c);
      if (!ok)
        return refusecond(ir, i,
                          (op->aop != IR_ALWAYS && iscounter(ir, b, op->b)) ||
                          (op->aop <= IR_LE && iscounter(ir, b, op->c))
                          ? CPM_R_BRANCH_COUNTER : CPM_R_BRANCH_CARRIED, why);
      join(f, i + 1 + op->n1, mw, inv);
      if (op->aop != IR_ALWAYS) join(f, i + 1, mw, inv);
      continue;
    }
    if (op->code == IR_LOOP) {  /* control values read once, at the op */
      readop(f, mw, inv, op->b);
      readop(f, mw, inv, op->c);
      readop(f, mw, inv, op->d);
      flowloop(ir, f, i, mw, inv);
      continue;
    }
    {
      int v = readop(f, mw, inv, op->b);
      if (op->code == IR_ARITH || op->code == IR_INDEX)
        v &= readop(f, mw, inv, op->c);
      memcpy(f->tmw, mw, (size_t)ns);
      memcpy(f->tinv, inv, (size_t)ns);
      f->tmw[op->a] = 1;
      f->tinv[op->a] = (unsigned char)v;
      join(f, i + 1, f->tmw, f->tinv);
    }
  }
  return 1;
}


/*
** The ops of the path that the decisions choose, into 'out'; returns their
** number.  next(ud) gives the outcome of each conditional IF met, in order.
*/
static int pathops (const plan_Branch *b, int (*next) (void *), void *ud,
                    ir_Op *out) {
  /* the inner loops open at i: their LOOP ops in 'out', their ends in
     the body (jumps stay inside them: checkops) */
  int open[IR_MAXDEPTH + 1], ends[IR_MAXDEPTH + 1], depth = 0;
  int i = 0, n = 0;
  for (;;) {
    const ir_Op *op;
    while (depth > 0 && i >= ends[depth]) {  /* its body: the ops since */
      out[open[depth]].n1 = n - open[depth] - 1;
      depth--;
    }
    if (i >= b->ir.nops) break;
    op = &b->ops[i];
    if (op->code == IR_IF) {
      int jump = op->aop == IR_ALWAYS || next(ud) == op->a;
      i += 1 + (jump ? op->n1 : 0);
      continue;
    }
    if (op->code == IR_LOOP) {
      open[++depth] = n;
      ends[depth] = i + 1 + op->n1;
    }
    out[n++] = *op;
    i++;
  }
  return n;
}


/* Plans the path of 'ops'; pushes the plan or nothing (see plan_make). */
static plan_Plan *planpath (lua_State *L, const plan_Branch *b,
                            const ir_Op *ops, int nops, plan_Refusal *why) {
  ir_Loop path = b->ir;
  path.ops = ops;
  path.nops = nops;
  return plan_make(L, &path, why);
}


typedef struct Bits { unsigned v; } Bits;

static int nextbit (void *ud) {
  Bits *bits = (Bits *)ud;
  int r = (int)(bits->v & 1);
  bits->v >>= 1;
  return r;
}


/* Is some path plannable?  Tries the paths of the first decisions; the
   reason given is that of the first path. */
static int someplan (lua_State *L, const plan_Branch *b, plan_Refusal *why) {
  ir_Op *ops = (ir_Op *)cpm_newbuffer(L, sizeof(ir_Op) *
                                      ((size_t)b->ir.nops + 1));
  unsigned v;
  plan_Refusal other;
  for (v = 0; v < (1u << BRANCH_PROBE_BITS); v++) {
    Bits bits;
    int n;
    bits.v = v;
    n = pathops(b, nextbit, &bits, ops);
    if (planpath(L, b, ops, n, v == 0 ? why : &other) != NULL) {
      lua_pop(L, 2);
      return 1;
    }
  }
  lua_pop(L, 1);
  return 0;
}


static void *xalloc (lua_State *L, size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (p == NULL) luaL_error(L, "cpm: not enough memory to plan the loop");
  return p;
}


/* Copies the loop into the branch data 'b' (owned by the plan's box). */
static void copyloop (lua_State *L, plan_Branch *b, const ir_Loop *ir) {
  int i;
  b->ir = *ir;
  b->ir.nk = 0;
  b->ops = (ir_Op *)xalloc(L, (size_t)ir->nops + 1, sizeof(ir_Op));
  memcpy(b->ops, ir->ops, (size_t)ir->nops * sizeof(ir_Op));
  b->ir.ops = b->ops;
  b->liveout = (unsigned char *)xalloc(L, (size_t)ir->nslots + 1, 1);
  if (ir->liveout) memcpy(b->liveout, ir->liveout, (size_t)ir->nslots);
  b->ir.liveout = b->liveout;
  /* every array of the loop is the front end's, freed after planning: the
     branch data keeps its own copies */
  if (ir->escapes != NULL) {
    b->escapes = (unsigned char *)xalloc(L, (size_t)ir->nslots + 1, 1);
    memcpy(b->escapes, ir->escapes, (size_t)ir->nslots);
  }
  b->ir.escapes = b->escapes;
  b->ir.names = NULL;  /* the front end's, and a path's ops are renumbered */
  plan_copyconsts(L, ir, &b->k, &b->ir.nk);
  b->ir.k = b->k;
  b->written = (unsigned char *)xalloc(L, (size_t)ir->nslots + 1, 1);
  b->counter = (unsigned char *)xalloc(L, (size_t)ir->nslots + 1, 1);
  b->used = (int *)xalloc(L, (size_t)ir->nslots + 1, sizeof(int));
  for (i = 0; i < ir->nslots; i++) b->used[i] = -1;
  for (i = 0; i < ir->nops; i++) {
    const ir_Op *op = &ir->ops[i];
    ir_Arg args[4];
    int j;
    args[0] = op->code == IR_IF ? -1 : op->a;
    args[1] = op->code == IR_IF && op->aop == IR_ALWAYS ? -1 : op->b;
    args[2] = op->code == IR_ARITH || op->code == IR_INDEX ||
              op->code == IR_LOOP ||
              (op->code == IR_IF && op->aop <= IR_LE) ? op->c : -1;
    args[3] = op->code == IR_LOOP ? op->d : -1;
    if (op->code != IR_IF) b->written[op->a] = 1;
    for (j = 0; j < 4; j++)
      if (args[j] >= 0 && b->used[args[j]] < 0) b->used[args[j]] = b->nused++;
  }
  for (i = 0; i < ir->nops; i++)  /* counters no other op writes */
    if (ir->ops[i].code == IR_LOOP) b->counter[ir->ops[i].a] = 1;
  for (i = 0; i < ir->nops; i++)
    if (ir->ops[i].code != IR_IF && ir->ops[i].code != IR_LOOP)
      b->counter[ir->ops[i].a] = 0;
}


plan_Plan *plan_branch_make (lua_State *L, const ir_Loop *ir,
                             plan_Refusal *why) {
  plan_Plan *p;
  plan_Branch *b;
  Flow f;
  unsigned char *buf;
  size_t ns, np;
  int s, box;
  why->line = ir->line; why->msg[0] = '\0';
  if (!checkops(ir, why)) return NULL;
  p = plan_newbox(L);
  box = lua_gettop(L);
  p->kind = ir->kind; p->line = ir->line;
  p->nslots = ir->nslots; p->index = ir->index;
  p->modatom = -1;  /* (no ring of its own: each path's plan has one) */
  p->branch = b = (plan_Branch *)xalloc(L, 1, sizeof(plan_Branch));
  copyloop(L, b, ir);
  ns = (size_t)ir->nslots + 1;
  np = (size_t)ir->nops + 1;
  buf = (unsigned char *)cpm_newbuffer(L, np + 2 * np * ns + 3 * ns);
  memset(buf, 0, np + 2 * np * ns + 3 * ns);
  f.ns = (int)ns;
  f.reach = buf;
  f.mw = buf + np;
  f.inv = f.mw + np * ns;
  f.tmw = f.inv + np * ns;
  f.tinv = f.tmw + ns;
  f.input = f.tinv + ns;
  if (!flow(&b->ir, b, &f, why)) {
    lua_settop(L, box - 1);
    return NULL;
  }
  /* outputs: live slots some path writes; unwritten on some path: input */
  p->out = (plan_Out *)xalloc(L, ns, sizeof(plan_Out));
  for (s = 0; s < ir->nslots; s++) {
    if (!b->written[s] || b->counter[s] || s == ir->index ||
        !b->liveout[s])
      continue;
    p->out[p->nout].slot = s;
    p->out[p->nout].state = -1;
    p->out[p->nout].atom = -1;
    p->nout++;
    if (!f.mw[(size_t)ir->nops * ns + (size_t)s]) f.input[s] = 1;
  }
  p->in = (int *)xalloc(L, ns, sizeof(int));
  p->slot_in = (int *)xalloc(L, ns, sizeof(int));
  for (s = 0; s < ir->nslots; s++) {
    p->slot_in[s] = -1;
    if (f.input[s] && s != ir->index) {
      p->slot_in[s] = p->nin;
      p->in[p->nin++] = s;
    }
  }
  lua_pop(L, 1);  /* the flow state */
  if (!someplan(L, b, why)) {
    lua_settop(L, box - 1);
    return NULL;
  }
  return p;
}

/* }====================================================== */


/* {======================================================
** The guard of a branch plan
** ======================================================= */

/* Upvalues of the guard closure. */
#define UP_CFG		1
#define UP_PLAN		2
#define UP_LIMIT	3
#define UP_STRICT	4
#define UP_WHERE	5
#define UP_CACHE	6	/* decisions (string) -> path entry */
#define UP_NCACHED	7
#define UP_PREPARED	8	/* control values as Lua 5.4's FORPREP left them */
#define UP_RECORD	9	/* the site's record (guard.h), shared by its
				   path guards */
#define UP_ONFALLBACK	10	/* the user's on_fallback, or nil */
#define UP_N		UP_ONFALLBACK

/* Why the loop runs as written, without a plan. */
#define WHY_CONDITION	"a branch condition needs a metamethod or may raise"
#define WHY_ARGS	"the guard call lacks arguments"


/* Values of the slots during the evaluation of the conditions. */
typedef struct Eval {
  lua_State *L;
  const plan_Branch *b;
  int vbase;		/* stack index of the value of used slot 0 */
  unsigned char *known;	/* nused */
  char *dec;		/* the outcomes of the conditional IFs, '0'/'1' */
  int ndec;
} Eval;


/* Pushes the value of operand 'x'; returns 0 (pushing nothing) when it is
   not known. */
static int pushval (Eval *e, ir_Arg x) {
  if (ir_isconst(x)) plan_pushconst(e->L, &e->b->k[ir_constidx(x)]);
  else if (e->known[e->b->used[x]])
    lua_pushvalue(e->L, e->vbase + e->b->used[x]);
  else return 0;
  return 1;
}


/*
** x aop y on the two numbers on top of the stack (one for unary ops),
** replaced by the result; returns 0 (popping them) where the operation
** could raise or is not the VM's (guard_numarith).
*/
static int numarith (lua_State *L, int aop, int unary) {
  int n = unary ? 1 : 2, top = lua_gettop(L);
  if (!guard_numarith(L, aop, top - n + 1, top)) {
    lua_pop(L, n);
    return 0;
  }
  lua_replace(L, top - n + 1);
  if (!unary) lua_pop(L, 1);
  return 1;
}


/* A value no __eq can see when compared with anything else (LuaJIT's
   cdata compare with numbers and nil by metamethods). */
static int plaintype (int t) {
  return t == LUA_TNIL || t == LUA_TBOOLEAN || t == LUA_TNUMBER ||
         t == LUA_TSTRING || t == LUA_TLIGHTUSERDATA || t == LUA_TFUNCTION ||
         t == LUA_TTHREAD || t == LUA_TTABLE;
}


/* The outcome of condition 'op' on the two values on top of the stack
   (popped), or -1 when evaluating it could call a metamethod or raise. */
static int compare (lua_State *L, int cmp) {
  int tx = lua_type(L, -2), ty = lua_type(L, -1), r = -1;
  switch (cmp) {
    case IR_EQ:
      if (plaintype(tx) && plaintype(ty) &&
          !(tx == LUA_TTABLE && ty == LUA_TTABLE))
        r = lua_rawequal(L, -2, -1);
      break;
    case IR_LT: case IR_LE:
      if ((tx == LUA_TNUMBER && ty == LUA_TNUMBER) ||
          (tx == LUA_TSTRING && ty == LUA_TSTRING)) {
#if CPM_LUA54
        r = lua_compare(L, -2, -1, cmp == IR_LT ? LUA_OPLT : LUA_OPLE);
#else
        r = cmp == IR_LT ? lua_lessthan(L, -2, -1)
                         : !lua_lessthan(L, -1, -2);
        if (tx == LUA_TNUMBER && cmp == IR_LE)  /* NaN: not (y < x) lies */
          r = lua_tonumber(L, -2) <= lua_tonumber(L, -1);
#endif
      }
      break;
  }
  lua_pop(L, 2);
  return r;
}


/* The outcome of the conditional IF 'op', or -1. */
static int condition (Eval *e, const ir_Op *op) {
  lua_State *L = e->L;
  int r;
  if (!pushval(e, op->b)) return -1;
  if (op->aop == IR_TRUTHY) {
    r = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return r;
  }
  if (!pushval(e, op->c)) {
    lua_pop(L, 1);
    return -1;
  }
  return compare(L, op->aop);
}


/* The value of op 'op' (not IF) into its slot, when computable. */
static void execute (Eval *e, const ir_Op *op) {
  lua_State *L = e->L;
  int ok = 0;
  switch (op->code) {
    case IR_MOVE: ok = pushval(e, op->b); break;
    case IR_ARITH:
      if (pushval(e, op->b)) {
        if (pushval(e, op->c)) ok = numarith(L, op->aop, 0);
        else lua_pop(L, 1);
      }
      break;
    case IR_UNARY:
      if (pushval(e, op->b)) ok = numarith(L, op->aop, 1);
      break;
    case IR_INDEX:  /* a plain field read: no __index can be involved */
      if (pushval(e, op->b)) {
        if (lua_type(L, -1) == LUA_TTABLE && pushval(e, op->c)) {
          lua_rawget(L, -2);
          if (lua_isnil(L, -1) && lua_getmetatable(L, -2))
            lua_pop(L, 3);
          else {
            lua_remove(L, -2);
            ok = 1;
          }
        }
        else lua_pop(L, 1);
      }
      break;
    default: break;
  }
  if (ok) lua_replace(L, e->vbase + e->b->used[op->a]);
  e->known[e->b->used[op->a]] = (unsigned char)ok;
}


/*
** Evaluates the conditions of the path taken with the guard's arguments
** (stack 1..3+nin); fills e->dec.  Returns 0 when some condition cannot be
** evaluated without a metamethod or an error.  Stack: unchanged.
*/
static int choose (Eval *e, const plan_Plan *p) {
  lua_State *L = e->L;
  const plan_Branch *b = e->b;
  int i, s;
  luaL_checkstack(L, b->nused + 8, "too many loop variables");
  e->vbase = lua_gettop(L) + 1;
  lua_settop(L, e->vbase - 1 + b->nused);
  memset(e->known, 0, (size_t)b->nused);
  for (i = 0; i < p->nin; i++) {  /* values the body never writes */
    int u;
    s = p->in[i];
    u = b->used[s];
    if (u < 0 || b->written[s]) continue;
    e->known[u] = 1;
    lua_pushvalue(L, 4 + i);
    lua_replace(L, e->vbase + u);
  }
  e->ndec = 0;
  i = 0;
  while (i < b->ir.nops) {
    const ir_Op *op = &b->ops[i];
    if (op->code == IR_IF) {
      int jump = 1;
      if (op->aop != IR_ALWAYS) {
        int r = condition(e, op);
        if (r < 0) {
          lua_settop(L, e->vbase - 1);
          return 0;
        }
        e->dec[e->ndec++] = (char)('0' + r);
        jump = r == op->a;
      }
      i += 1 + (jump ? op->n1 : 0);
    }
    else {
      execute(e, op);
      i++;
    }
  }
  lua_settop(L, e->vbase - 1);
  return 1;
}


typedef struct Dec { const char *d; } Dec;

static int nextdec (void *ud) {
  Dec *dec = (Dec *)ud;
  return *dec->d++ == '1';
}


/*
** Pushes the cache entry of the path of decisions 'dec': a table
** { guard, map } (map: userdata of ints, the path plan's inputs as
** argument positions of ours, then for each of our outputs its position
** among the path guard's results, or -1: passed through), or the reason
** why the path cannot be planned.
*/
static void pushentry (lua_State *L, const plan_Plan *p, const char *dec,
                       size_t ndec) {
  const plan_Branch *b = p->branch;
  plan_Plan *pp;
  plan_Refusal why;
  ir_Op *ops;
  Dec d;
  int n, i, j, *map;
  lua_pushlstring(L, dec, ndec);
  lua_rawget(L, lua_upvalueindex(UP_CACHE));
  if (!lua_isnil(L, -1)) return;
  lua_pop(L, 1);
  ops = (ir_Op *)cpm_newbuffer(L, sizeof(ir_Op) * ((size_t)b->ir.nops + 1));
  d.d = dec;
  n = pathops(b, nextdec, &d, ops);
  pp = planpath(L, b, ops, n, &why);
  lua_remove(L, -1 - (pp != NULL));  /* the ops */
  if (pp == NULL) {
    lua_pushfstring(L, "the branch taken: %s", why.msg);
  }
  else {
    /* a userdata, not a buffer: the entry keeps it, lua_touserdata finds it */
    map = (int *)cpm_newuserdata(L, sizeof(int) *
                                 ((size_t)pp->nin + (size_t)p->nout + 1));
    for (i = 0; i < pp->nin; i++) {
      map[i] = p->slot_in[pp->in[i]];
      if (map[i] < 0) luaL_error(L, "cpm: branch plan lacks an input");
    }
    for (j = 0; j < p->nout; j++) {
      map[pp->nin + j] = -1;
      for (i = 0; i < pp->nout; i++)
        if (pp->out[i].slot == p->out[j].slot) map[pp->nin + j] = i;
      if (map[pp->nin + j] < 0 && p->slot_in[p->out[j].slot] < 0 &&
          !(p->w.active && p->out[j].slot == p->index))
        luaL_error(L, "cpm: branch plan lacks a passed-through output");
    }
    lua_createtable(L, 3, 0);
    lua_insert(L, -3);  /* entry, plan, map */
    lua_rawseti(L, -3, 2);
    {
      guard_Site site;
      site.iters_limit = lua_tointeger(L, lua_upvalueindex(UP_LIMIT));
      site.strict = lua_toboolean(L, lua_upvalueindex(UP_STRICT));
      site.prepared = lua_toboolean(L, lua_upvalueindex(UP_PREPARED));
      site.hooks = 0;
      site.id = 0;
      site.where = lua_tostring(L, lua_upvalueindex(UP_WHERE));
      site.stats = 0;
      site.record = lua_upvalueindex(UP_RECORD);
      site.onfallback = lua_upvalueindex(UP_ONFALLBACK);
      guard_pushsite(L, lua_upvalueindex(UP_CFG), -1, &site);
    }
    lua_rawseti(L, -3, 1);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, 3);  /* keeps the path plan's nin */
    lua_pop(L, 1);
  }
  /* into the cache, started afresh when full */
  if (lua_tointeger(L, lua_upvalueindex(UP_NCACHED)) >= BRANCH_MAXCACHED) {
    lua_newtable(L);
    lua_replace(L, lua_upvalueindex(UP_CACHE));
    lua_pushinteger(L, 0);
    lua_replace(L, lua_upvalueindex(UP_NCACHED));
  }
  lua_pushlstring(L, dec, ndec);
  lua_pushvalue(L, -2);
  lua_rawset(L, lua_upvalueindex(UP_CACHE));
  lua_pushinteger(L, lua_tointeger(L, lua_upvalueindex(UP_NCACHED)) + 1);
  lua_replace(L, lua_upvalueindex(UP_NCACHED));
}


/* Counts the numeric loop of the call (control values at 1..3) into 'c';
   returns 0 when it cannot. */
static int countloop (lua_State *L, const plan_Plan *p, count_Loop *c) {
  memset(c, 0, sizeof(*c));
  if (p->kind != IR_FORNUM && !p->w.active) return 0;
  return (!p->w.active && lua_toboolean(L, lua_upvalueindex(UP_PREPARED))
              ? count_fornumprep(L, 1, c) : count_fornum(L, 1, c)) == COUNT_OK;
}


/* Runs as written: false and the reason, or raises it under strict.  A
   loop shorter than the guard's limit runs as written without a reason
   (nor an error), as the guard of a loop without branches decides before
   anything else. */
static int runaswritten (lua_State *L, const plan_Plan *p, const char *why) {
  lua_Integer limit = lua_tointeger(L, lua_upvalueindex(UP_LIMIT));
  count_Loop c;
  int counted = countloop(L, p, &c);
  if (counted && count_below(&c, limit < 1 ? 1 : (uint64_t)limit)) {
    guard_count(L, lua_upvalueindex(UP_RECORD), GUARD_BELOW_LIMIT, NULL);
    lua_pushboolean(L, 0);
    lua_pushstring(L, why);
    return 2;
  }
  guard_count(L, lua_upvalueindex(UP_RECORD), GUARD_FELL_BACK, why);
  if (lua_toboolean(L, lua_upvalueindex(UP_STRICT))) {
    lua_pushfstring(L, "cpm: %s: %s",
                    lua_tostring(L, lua_upvalueindex(UP_WHERE)), why);
    return lua_error(L);
  }
  guard_onfallback(L, lua_upvalueindex(UP_ONFALLBACK),
                   lua_tostring(L, lua_upvalueindex(UP_WHERE)), why,
                   counted ? &c : NULL);
  lua_pushboolean(L, 0);
  lua_pushstring(L, why);
  return 2;
}


static int branch_call (lua_State *L) {
  const plan_Plan *p = plan_test(L, lua_upvalueindex(UP_PLAN));
  const plan_Branch *b;
  Eval e;
  unsigned char known[IR_MAXSLOTS + 1];
  char dec[IR_MAXOPS + 1];
  int nargs, entry, top, nres, i, npin;
  const int *map;
  const plan_Plan *pp;
  if ((lua_gethookmask(L) & LUA_MASKLINE) || p == NULL) {  /* see guard_call */
    lua_pushboolean(L, 0);
    return 1;
  }
  b = p->branch;
  nargs = 3 + p->nin;
  if (lua_gettop(L) < nargs) return runaswritten(L, p, WHY_ARGS);
  lua_settop(L, nargs);
  if (p->w.active) {  /* while, repeat: counted into control values */
    const char *why = guard_while_control(L, p, 4);
    if (why != NULL) return runaswritten(L, p, why);
  }
  e.L = L; e.b = b; e.known = known; e.dec = dec;
  if (!choose(&e, p)) return runaswritten(L, p, WHY_CONDITION);
  pushentry(L, p, dec, (size_t)e.ndec);
  entry = lua_gettop(L);
  if (lua_type(L, entry) == LUA_TSTRING)
    return runaswritten(L, p, lua_tostring(L, entry));
  lua_rawgeti(L, entry, 3);
  pp = plan_test(L, -1);
  lua_pop(L, 1);
  if (pp == NULL) {  /* the path's plan finalized (see guard_call) */
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_rawgeti(L, entry, 2);
  map = (const int *)lua_touserdata(L, -1);
  lua_pop(L, 1);  /* the entry anchors it */
  npin = pp->nin;
  luaL_checkstack(L, npin + p->nout + 8, "too many loop variables");
  top = lua_gettop(L);
  lua_rawgeti(L, entry, 1);
  for (i = 1; i <= 3; i++) lua_pushvalue(L, i);
  for (i = 0; i < npin; i++) lua_pushvalue(L, 4 + map[i]);
  lua_call(L, 3 + npin, LUA_MULTRET);
  nres = lua_gettop(L) - top;
  if (nres < 1 || !lua_toboolean(L, top + 1)) return nres;
  lua_pushboolean(L, 1);
  for (i = 0; i < p->nout; i++) {
    int r = map[npin + i];
    if (r >= 0) lua_pushvalue(L, top + 2 + r);
    else if (p->w.active && p->out[i].slot == p->index) {
      count_Loop c;  /* a while loop's counter: its final value */
      if (count_fornum(L, 1, &c) != COUNT_OK)
        return luaL_error(L, "cpm: while loop counted twice differently");
      guard_while_pushend(L, &c);
    }
    else lua_pushvalue(L, 4 + p->slot_in[p->out[i].slot]);
  }
  return 1 + p->nout;
}


void plan_branch_guard (lua_State *L, int cfg, int plan,
                        const guard_Site *s) {
  luaL_checkstack(L, UP_N, NULL);
  lua_pushvalue(L, cfg);
  lua_pushvalue(L, plan);
  lua_pushinteger(L, s->iters_limit);
  lua_pushboolean(L, s->strict);
  lua_pushstring(L, s->where);
  lua_newtable(L);
  lua_pushinteger(L, 0);
  lua_pushboolean(L, s->prepared);
  lua_pushvalue(L, s->record);
  if (s->onfallback) lua_pushvalue(L, s->onfallback);
  else lua_pushnil(L);
  lua_pushcclosure(L, branch_call, UP_N);
}

/* }====================================================== */
