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
** With objlimit (GUARD_OBJ_ITERS_LIMIT, guard.h: the default limit, set
** for loops over numbers, is far too long for loops over cpm.big), when
** the loop's first output v is an input not set by a number constant
** right before the loop, the check is two-tiered:
**      KNUM/ISGT ... JMP ->loop     fewer than objlimit iterations
**      KNUM/ISGE ... JMP ->guard    (ISLE: s < 0) iters_limit or more
**      UGET T, hook; ISEQP nil JMP ->loop
**      UGET C, type  MOV A', v  CALL C, 2, 2
**      ISNES C, "userdata"  JMP ->loop    no userdata
**   guard: UGET T, hook ... (as below)
** (type: an upvalue "(cpm type)" added as the hook's, holding LuaJIT's
** built-in, which a trace compiles inline; "userdata" and "number": string
** constants added to the prototype.  A trace folds such a test away for
** a value whose type it knows; read from the hook table they cost a
** while loop of 2 passes 1.4x instead of 1.15x, bench/neverslower.lua.)
** and the guard computes such a loop from objlimit iterations when v is
** a cpm.big (a number, or another userdata, runs as written).
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
** Before a while loop's first instruction (its test, with the loads of its
** operands) or a repeat loop's LOOP it inserts the same without the count
** check, the counter and two nils as control values (the guard counts:
** guard_while.c), and instead, before the hook's UGET (a short loop does
** not load the hook table), a count check on the test's counter x, bound
** b and step s (plan_While; b and s may be expressions, whose nodes follow
** one another: `n * 2` is n, 2, n * 2):
**      KNIL   L, C+1            the slots from LOOP's A up to the check's
**                               (see deadfrom)
**      MOV/UGET/KNUM  T+1, x; T+2 .., the nodes of b, then of s
**      UGET  C, type  MOV A', v  CALL C, 2, 2      type(v), for x and each
**      ISNES C, "number"  JMP ->loop               leaf of b and s that is
**                                                  not a constant, right
**                                                  after its load (C: the
**                                                  slot above every node;
**                                                  not for an x set by a
**                                                  number constant right
**                                                  before the loop with no
**                                                  jump landing between);
**                                                  the first UGET followed
**                                                  by ISEQP C, nil JMP
**                                                  ->loop (a dump's copy)
**      ADDVV .. POW, UNM  T+2+i, ...                  each other node
**      SUBVV  C, B, T+1         (b - x) / s: about the passes (B, S: the
**      DIVVV  C, C, S           last nodes of b and s; x - b when the
**                               update is x := x - s; no division when s
**                               is one number constant: the limit is
**                               multiplied by it instead)
**      KNUM   C+1, iters_limit - 1.5
**      ISGT   C+1, C  JMP ->loop   too few: the loop, without a C call
** When x is set by a number constant x0 that way and s is one number
** constant, neither x nor the SUBVV: B is compared with
** x0 + (iters_limit - 1.5) s (whileterm), one comparison in a trace.
** (With objlimit, two tiers and a type test of v between, as above.)
** The loop's own jumps to its start (the jump back, and those LuaJIT's
** parser merged with it) are then pointed past the block.
** "(cpm type)" and "(cpm)" are immutable upvalues of the root (set once,
** after loading): a trace takes type for a constant and folds its tests
** (lj_record.c, rec_upvalue_constify; tables it still loads).
**
** A JMP's A is the first slot that is dead on both of its ways (LuaJIT's
** trace recorder restores no slot from A up at an exit there: lj_snap.c,
** snap_usedef), so each JMP names the slots its fall-through still reads.
**
** The count check only does number arithmetic on numbers FORI or type has
** checked, so it raises nothing and calls no metamethod.  Its rounding can
** only move a loop of about iters_limit iterations to one side or the
** other of the limit, and both are right: the guard counts exactly, and a
** loop run as written is the loop (a loop that does not run, or does not
** end, gives a negative distance, an infinity or NaN: either way the same
** result).
*/
#include "rewritejit.h"
#include "reasons.h"
#include "guard.h"

#if CPM_LUAJIT

#define MAXCODE		(64 + 2 * FINDJIT_NSLOTS + 16 * PLAN_WMAXNODES)
#define MAXTOLOOP	(13 + 2 * PLAN_WMAXNODES)
#define MAXKNUM		(4 + 2 * PLAN_WMAXNODES)


/* The slot of the calls of type in a while loop's count check: above the
   counter and the nodes of its bound and step (whilecheck). */
static int whilecalls (const plan_Plan *pl, int t) {
  return t + 2 + pl->w.bound.n + pl->w.step.n;
}


/* The function type (an upvalue) and the string constants its results
   are compared with (GC constants of the prototype). */
typedef struct TypeTest {
  int uv, knumber, kuserdata;
  int checknil;		/* the next test first jumps to the loop when the
			   upvalue is nil (a copy made by string.dump and
			   load: its upvalues are nil) */
  int *toloop, *nto;	/* where that jump goes */
} TypeTest;


/* Appends `type(v) ~= K` for v in slot 'v', with the call at slot c (and
   c + 1 + fr): the JMP that follows it jumps when v's type is not the
   string constant 'k'.  (An immutable upvalue and a constant, not the
   hook table's entries: LuaJIT's trace then folds the whole test away
   for a value of known type, bench/neverslower.lua.) */
static void typetest (jitbc_Ins *code, int *n, int c, int fr, int v,
                      TypeTest *tt, int k) {
  code[(*n)++] = jitbc_ad(JITBC_UGET, c, tt->uv);
  if (tt->checknil) {
    tt->checknil = 0;
    code[(*n)++] = jitbc_ad(JITBC_ISEQP, c, JITBC_PRI_NIL);
    tt->toloop[(*tt->nto)++] = *n;
    code[(*n)++] = jitbc_ad(JITBC_JMP, c + 1, 0);  /* c .. read next */
  }
  code[(*n)++] = jitbc_ad(JITBC_MOV, c + 1 + fr, v);
  code[(*n)++] = jitbc_abc(JITBC_CALL, c, 2, 2);
  code[(*n)++] = jitbc_ad(JITBC_ISNES, c, k);
}


/*
** Loads the operand 'slot' (-1: the constant k) of the count check into
** slot r and, when it is not a constant, checks that it is a number with
** a call of type at slot 'c' (see above); jumps to the loop otherwise.
** NULL, or why the loop cannot be rewritten.
*/
static const char *checkleaf (int slot, const ir_Const *k, int t, int r,
                              int c, int fr, TypeTest *tt,
                              jitbc_Ins *code, int *n, int *toloop, int *nto,
                              int *kat, double *kval, int *nk) {
  if (slot < 0) {  /* a constant */
    if (k->type == IR_KFLT) kval[*nk] = k->u.n;
    else if (k->type == IR_KINT) kval[*nk] = (double)k->u.i;
    else return "while loop compared with a constant that is not a number";
    kat[(*nk)++] = *n;
    code[(*n)++] = jitbc_ad(JITBC_KNUM, r, 0);  /* its constant: later */
    return NULL;
  }
  if (slot == FINDJIT_ENVSLOT || slot >= FINDJIT_NSLOTS ||
      (slot < FINDJIT_UPSLOT && slot >= t))
    return "loop value outside the frame and the upvalues";
  code[(*n)++] = slot >= FINDJIT_UPSLOT
      ? jitbc_ad(JITBC_UGET, r, slot - FINDJIT_UPSLOT)
      : jitbc_ad(JITBC_MOV, r, slot);
  typetest(code, n, c, fr, r, tt, tt->knumber);
  toloop[(*nto)++] = *n;
  code[(*n)++] = jitbc_ad(JITBC_JMP, c, 0);  /* T .. c-1: read next */
  return NULL;
}


/* The instruction of node 'op' of an expression (plan_WExpr), or -1. */
static int jitop (int aop) {
  switch (aop) {
    case IR_ADD: return JITBC_ADDVV;
    case IR_SUB: return JITBC_SUBVV;
    case IR_MUL: return JITBC_MULVV;
    case IR_DIV: return JITBC_DIVVV;
    case IR_MOD: return JITBC_MODVV;
    case IR_POW: return JITBC_POW;
    case IR_UNM: return JITBC_UNM;
    default: return -1;
  }
}


/*
** Appends the comparison of slot v with the number k (loaded into slot
** v1), jumping when v is below k ('below') or at least k (!below); when
** not 'up', the other way round (v above k, or at most k).  NaN: no jump
** when below, a jump otherwise.
*/
static void whilecmp (jitbc_Ins *code, int *n, int v, int v1, double k,
                      int up, int below, int *kat, double *kval, int *nk) {
  kval[*nk] = k;
  kat[(*nk)++] = *n;
  code[(*n)++] = jitbc_ad(JITBC_KNUM, v1, 0);
  if (up)
    code[(*n)++] = below ? jitbc_ad(JITBC_ISGT, v1, v) : jitbc_ad(JITBC_ISGE, v, v1);
  else
    code[(*n)++] = below ? jitbc_ad(JITBC_ISGT, v, v1) : jitbc_ad(JITBC_ISLE, v, v1);
}


/*
** What a while loop's count check compares with 'lim' passes: the slot
** (*v) and the number (*k) and the direction (*up, see whilecmp).  c
** holds the passes, or, when the step is the number constant ks (not 0),
** the distance before its division by ks, compared with lim * ks (one
** division fewer a call; a negative ks turns the comparison); when the
** counter also holds the number *c0 (not NULL), the bound's slot b is
** compared with c0 + lim * e instead (no subtraction: e, the counter's
** change per pass, is ks, or -ks when the update subtracts it).
*/
static void whileterm (int c, int b, double ks, int negate, const double *c0,
                       double lim, int *v, double *k, int *up) {
  double e = negate ? -ks : ks;
  if (c0 != NULL && ks != 0) {
    *v = b;
    *k = *c0 + lim * e;
    *up = e > 0;
  }
  else {
    *v = c;
    *k = ks != 0 ? lim * ks : lim;
    *up = ks >= 0;
  }
}


/*
** The count check of a while or repeat loop (see above), appended to
** code[*n ..]: its jumps to the loop in toloop[*nto ..], its number
** constants (indices into code of KNUMs, and values) in kat, kval.  The
** counter goes to T+1, then the nodes of the bound and of the step
** (plan_WExpr: `n * 2` is n, 2, n * 2) to T+2 on, each leaf checked to be
** a number (so the arithmetic on them raises nothing and calls no
** metamethod), the calls of type at 'c', above them all.  NULL, or why
** the loop cannot be rewritten.
*/
static const char *whilecheck (const plan_Plan *pl, int t, int fr,
                               double limit, double objlimit, int s0,
                               const double *ctr, TypeTest *tt,
                               jitbc_Ins *code, int *n, int *toloop,
                               int *nto, int *kat, double *kval, int *nk) {
  const plan_While *w = &pl->w;
  const plan_WExpr *e[2];
  int c = whilecalls(pl, t), reg[2], r = t + 2, i, j;
  const plan_WNode *s1 = &w->step.node[0];
  /* a step that is one number constant other than 0: no division */
  double ks = w->step.n != 1 || s1->aop >= 0 || s1->x >= 0 ? 0
              : s1->k.type == IR_KFLT ? s1->k.u.n
              : s1->k.type == IR_KINT ? (double)s1->k.u.i : 0;
  const char *why = NULL;
  const double *c0 = ctr;
  int v, up;
  double k;
  if (ks - ks != 0) ks = 0;  /* an infinity or NaN: divided, as written */
  if (c0 != NULL && (ks == 0 ||
      *c0 + (limit - 1.5) * ks - (*c0 + (limit - 1.5) * ks) != 0 ||
      *c0 + (objlimit - 1.5) * ks - (*c0 + (objlimit - 1.5) * ks) != 0))
    c0 = NULL;  /* (not finite: the general form) */
  if (!w->active || pl->index < 0)
    return "while loop without a counter";
  if (c0 != NULL)
    ;  /* the counter's number is known: the bound is compared with it */
  else if (ctr != NULL)  /* a number surely (numberbefore): no test */
    code[(*n)++] = jitbc_ad(JITBC_MOV, t + 1, pl->index);
  else
    why = checkleaf(pl->index, NULL, t, t + 1, c, fr, tt, code, n, toloop,
                    nto, kat, kval, nk);
  e[0] = &w->bound;
  e[1] = &w->step;
  for (j = 0; j < (ks != 0 ? 1 : 2) && why == NULL; j++) {
    for (i = 0; i < e[j]->n && why == NULL; i++) {
      const plan_WNode *nd = &e[j]->node[i];
      int op = jitop(nd->aop);
      if (nd->aop < 0) {
        if (nd->x >= pl->nin) return "malformed while loop plan";
        why = checkleaf(nd->x >= 0 ? pl->in[nd->x] : -1, &nd->k, t, r + i,
                        c, fr, tt, code, n, toloop, nto, kat, kval, nk);
      }
      else if (op < 0)
        why = "while loop's bound or step has an operator LuaJIT lacks";
      else if (op == JITBC_UNM)
        code[(*n)++] = jitbc_ad(JITBC_UNM, r + i, r + nd->x);
      else
        code[(*n)++] = jitbc_abc((unsigned)op, r + i, r + nd->x, r + nd->y);
    }
    reg[j] = r + e[j]->n - 1;
    r += e[j]->n;
  }
  if (why != NULL) return why;
  if (c0 == NULL) {
    code[(*n)++] = w->negate ? jitbc_abc(JITBC_SUBVV, c, t + 1, reg[0])
                             : jitbc_abc(JITBC_SUBVV, c, reg[0], t + 1);
    if (ks == 0) code[(*n)++] = jitbc_abc(JITBC_DIVVV, c, c, reg[1]);
  }
  if (objlimit > 0) {
    /* below objlimit: the loop; from limit on: the guard; between, the
       guard when s0 holds a userdata (as the numeric for loop's tiers) */
    int skip;
    whileterm(c, reg[0], ks, w->negate, c0, objlimit - 1.5, &v, &k, &up);
    whilecmp(code, n, v, c + 1, k, up, 1, kat, kval, nk);
    toloop[(*nto)++] = *n;
    code[(*n)++] = jitbc_ad(JITBC_JMP, v + 1, 0);  /* v is read next */
    whileterm(c, reg[0], ks, w->negate, c0, limit - 1.5, &v, &k, &up);
    whilecmp(code, n, v, c + 1, k, up, 0, kat, kval, nk);
    skip = *n;
    code[(*n)++] = jitbc_ad(JITBC_JMP, t, 0);  /* to the guard: below */
    typetest(code, n, c, fr, s0, tt, tt->kuserdata);
    toloop[(*nto)++] = *n;
    code[(*n)++] = jitbc_ad(JITBC_JMP, t, 0);  /* no userdata: the loop */
    code[skip] = jitbc_aj(JITBC_JMP, t, *n - skip - 1);
    return NULL;
  }
  whileterm(c, reg[0], ks, w->negate, c0, limit - 1.5, &v, &k, &up);
  whilecmp(code, n, v, c + 1, k, up, 1, kat, kval, nk);
  toloop[(*nto)++] = *n;
  code[(*n)++] = jitbc_ad(JITBC_JMP, t, 0);  /* the guard's code: T set */
  return NULL;
}


/*
** Points the jumps of a while or repeat loop to its start, after 'n'
** instructions were inserted there (at lp->head: the loop is now at
** lp->head + n .. last + n), past the inserted block: the loop goes
** round without asking its guard again.  (Each keeps its old offset.)
*/
static void whilejumps (jitbc_Proto *p, const findjit_Loop *lp, int last,
                        int n) {
  int i, at = lp->head;
  for (i = at + n; i <= last + n && i < p->ncode; i++) {
    jitbc_Ins ins = p->code[i];
    if (jitbc_isjump(ins) && i + 1 + jitbc_j(ins) == at)
      p->code[i] = jitbc_aj(jitbc_op(ins), jitbc_a(ins), (at + n) - i - 1);
  }
}


/*
** The index of the last instruction of loop 'lp' as the code is now: an
** inner loop rewritten before it (a nest: loops are rewritten last first)
** moved it, but not its head; the head's jump (FORI's exit, the JMP or
** ISNEXT to ITERC/ITERN, LOOP's exit), which the editor relocated, tells.
** -1 when the code there is not the loop findjit saw.
*/
static int lastof (const jitbc_Proto *p, const findjit_Loop *lp) {
  int i = lp->head, o, t;
  if (i < 0 || i >= p->ncode) return -1;
  if (lp->kind == IR_WHILE)  /* LOOP after the test: its loads and
                                arithmetic, the comparison and its JMP */
    for (; i < p->ncode && i <= lp->head + FINDJIT_MAXTESTOPS + 2 &&
           jitbc_op(p->code[i]) != JITBC_LOOP; i++)
      ;
  if (i >= p->ncode) return -1;
  o = jitbc_op(p->code[i]);
  t = i + 1 + jitbc_j(p->code[i]);
  switch (lp->kind) {
    case IR_FORNUM: return o == JITBC_FORI && t - 1 > i && t <= p->ncode ? t - 1 : -1;
    case IR_FORRANGE:
      return (o == JITBC_JMP || o == JITBC_ISNEXT) && t > i && t + 1 < p->ncode
             ? t + 1 : -1;
    default: return o == JITBC_LOOP && t - 1 > i && t <= p->ncode ? t - 1 : -1;
  }
}


/*
** The number constant that code index 'at' of 'p' finds in 'slot': the
** value of the last instruction before 'at' writing the slot, when it is
** a KSHORT or KNUM reached by falling through (no jump or branch in
** between).  0 when there is none.
*/
static int kbefore (const jitbc_Proto *p, int at, int slot, double *v) {
  int w = jitbc_lastwriter(p, 0, at, slot);
  return w >= 0 && jitbc_kvalue(p, w, v);
}


/*
** Does 'slot' surely hold a number at 'at', the start of the loop that
** ends at 'last': set by a number constant before it (kbefore) and no
** jump landing in between but the loop's own jumps back to 'at' (a goto
** from elsewhere could bring another value)?
*/
static int numberbefore (const jitbc_Proto *p, int at, int last, int slot,
                         double *v) {
  int w = jitbc_lastwriter(p, 0, at, slot), i;
  if (w < 0 || !jitbc_kvalue(p, w, v)) return 0;
  for (i = 0; i < p->ncode; i++) {
    jitbc_Ins ins = p->code[i];
    int to = i + 1 + jitbc_j(ins);
    if (jitbc_isjump(ins) && to > w && to <= at && !(to == at && i >= at && i <= last))
      return 0;
  }
  return 1;
}


/*
** The count check of a numeric for loop against 'lim' iterations: from
** the limit in t+1 when the start and the step are the constants a and
** 'step' (konst), else from the count in t+3; code[n] then jumps when
** the loop runs fewer times ('below') or at least as many (!below).
*/
static void forcheck (jitbc_Ins *code, int *n, int t, int konst, double a,
                      double step, double lim, int below, int *kat,
                      double *kval, int *nk) {
  kval[*nk] = konst ? a + (lim - 1) * step : lim - 1;
  kat[(*nk)++] = *n;
  code[(*n)++] = jitbc_ad(JITBC_KNUM, t + 4, 0);  /* its constant: later */
  if (!konst)
    code[(*n)++] = below ? jitbc_ad(JITBC_ISGT, t + 4, t + 3)
                         : jitbc_ad(JITBC_ISGE, t + 3, t + 4);
  else if (step > 0)
    code[(*n)++] = below ? jitbc_ad(JITBC_ISGT, t + 4, t + 1)
                         : jitbc_ad(JITBC_ISGE, t + 1, t + 4);
  else
    code[(*n)++] = below ? jitbc_ad(JITBC_ISGT, t + 1, t + 4)
                         : jitbc_ad(JITBC_ISLE, t + 1, t + 4);
}


/*
** Is the loop's head right after the end of a block written here,
**      ISF T  JMP ->head   MOV/USETV ..   JMP ->past the loop
** (a copy of an optimized function made by string.dump and load: its
** checks find no guards, the hook table gone with the closure; a second
** block would grow the code each time such a copy is dumped and loaded
** again, and take the dump of a dump apart from the dump)?  LuaJIT's
** parser writes the same for `if not c then x = y goto past end` right
** before a loop, which then runs as written too.
*/
static int rewritten (const jitbc_Proto *p, const findjit_Loop *lp, int last) {
  int i = lp->head - 1, op;
  if (i < 2 || jitbc_op(p->code[i]) != JITBC_JMP ||
      i + 1 + jitbc_j(p->code[i]) != last + 1)
    return 0;
  for (i--, op = jitbc_op(p->code[i]); i > 1 && (op == JITBC_MOV || op == JITBC_USETV);
       op = jitbc_op(p->code[--i]))
    ;
  return op == JITBC_JMP && i + 1 + jitbc_j(p->code[i]) == lp->head &&
         jitbc_op(p->code[i - 1]) == JITBC_ISF;
}


/*
** The first slot dead at the head of while or repeat loop 'lp' (whose
** last instruction is 'last'): its LOOP's A, when every slot the block
** reads (the counter, the plan's inputs, the bound's and step's leaves)
** lies below it; -1 otherwise (a dump whose LOOP says otherwise).
*/
static int deadfrom (const jitbc_Proto *p, const findjit_Loop *lp, int last,
                     const plan_Plan *pl) {
  int i = lp->head, lo, j;
  for (; i <= last && jitbc_op(p->code[i]) != JITBC_LOOP; i++)
    ;
  if (i > last) return -1;
  lo = jitbc_a(p->code[i]);
  if (pl->index >= 0 && pl->index < FINDJIT_UPSLOT && pl->index >= lo) return -1;
  for (j = 0; j < pl->nin; j++)
    if (pl->in[j] >= lo && pl->in[j] < FINDJIT_UPSLOT) return -1;
  return lo;
}


/* Does the check test the type of the value guard_objslot names (the
   tiers of objlimit): in the frame, not set to a number constant right
   before the loop (`local s = 0`: no test)? */
static int objtest (const jitbc_Proto *p, const findjit_Loop *lp,
                    const plan_Plan *pl, double limit, double objlimit) {
  int s0 = guard_objslot(pl);
  double k0;
  return objlimit > 0 && objlimit < limit && s0 >= 0 && s0 < p->framesize &&
         !kbefore(p, lp->head, s0, &k0);
}


int rewritejit_typetests (const jitbc_Proto *p, const findjit_Loop *lp,
                          const plan_Plan *pl, double limit, double objlimit) {
  return lp->kind == IR_WHILE || lp->kind == IR_REPEAT ||
         (lp->kind == IR_FORNUM && objtest(p, lp, pl, limit, objlimit));
}


const char *rewritejit_loop (jitbc_Chunk *c, jitbc_Proto *p,
                             const findjit_Loop *lp, const plan_Plan *pl,
                             int hook, int tyuv, int id, double limit,
                             double objlimit) {
  jitbc_Ins code[MAXCODE];
  int n = 0, t = p->framesize, i, need, base = lp->base, fr, args, kl;
  int toloop[MAXTOLOOP], nto = 0, env = -1, kat[MAXKNUM], nk = 0;
  int wloop = (lp->kind == IR_WHILE || lp->kind == IR_REPEAT);
  int last = lastof(p, lp);
  double kval[MAXKNUM];
  double a = 0, step = 0;
  int s0 = guard_objslot(pl);
  int obj = objtest(p, lp, pl, limit, objlimit);
  TypeTest tt;
  const char *why;
  if (id >= REWRITEJIT_RANGENEXT) return "too many loops in one function";
  tt.uv = tyuv;
  tt.knumber = tt.kuserdata = -1;
  tt.checknil = 0;
  tt.toloop = toloop;
  tt.nto = &nto;
  if (wloop || obj) {
    tt.knumber = jitbc_kstr(c, p, "number");
    tt.kuserdata = jitbc_kstr(c, p, "userdata");
    if (tt.knumber < 0 || tt.kuserdata < 0)
      return "too many constants for the guard call";
  }
  if (last < 0) return "loop not where it was found";
  if (rewritten(p, lp, last))
    return cpm_reason(CPM_R_REWRITTEN);
  if (pl->nin > FINDJIT_NSLOTS || pl->nout > FINDJIT_NSLOTS)
    return "too many loop variables for the guard call";
  fr = (c->flags & JITBC_F_FR2) ? 1 : 0;
  args = t + 1 + fr;
  need = t + 5;
  if (args + 3 + pl->nin > need) need = args + 3 + pl->nin;
  if (t + 1 + pl->nout > need) need = t + 1 + pl->nout;
  if (wloop && need < whilecalls(pl, t) + 3)
    need = whilecalls(pl, t) + 3;  /* the calls of type */
  if (obj && !wloop && need < t + 8 + fr) need = t + 8 + fr;  /* the call of type */
  if (need > JITBC_MAXSLOTS) return "not enough free registers for the guard call";
  for (i = 0; i < pl->nin; i++) if (pl->in[i] == FINDJIT_ENVSLOT) env = i;
  if (lp->kind == IR_FORNUM) {
    int konst, skip;
    for (i = 0; i < 3; i++) code[n++] = jitbc_ad(JITBC_MOV, t + i, base + i);
    toloop[nto++] = n;
    code[n++] = jitbc_ad(JITBC_FORI, t, 0);
    /* (x - x == 0: finite) */
    konst = kbefore(p, lp->head, base, &a) && kbefore(p, lp->head, base + 2, &step) &&
            step != 0 && a - a == 0 && step - step == 0 &&
            (a + (limit - 1) * step) - (a + (limit - 1) * step) == 0 &&
            (a + (objlimit - 1) * step) - (a + (objlimit - 1) * step) == 0;
    if (!konst) {
      code[n++] = jitbc_abc(JITBC_SUBVV, t + 3, t + 1, t);
      code[n++] = jitbc_abc(JITBC_DIVVV, t + 3, t + 3, t + 2);
    }
    if (obj) {
      /* below objlimit: the loop; from limit on: the guard; between, the
         guard when the first output holds a userdata (type(v), as the
         while check's; the guard runs the loop as written for one that is
         no cpm.big) */
      int tc = t + 5;
      forcheck(code, &n, t, konst, a, step, objlimit, 1, kat, kval, &nk);
      toloop[nto++] = n;
      code[n++] = jitbc_ad(JITBC_JMP, konst ? t + 2 : t + 4, 0);  /* t+1 or t+3: read next */
      forcheck(code, &n, t, konst, a, step, limit, 0, kat, kval, &nk);
      skip = n;
      code[n++] = jitbc_ad(JITBC_JMP, t, 0);  /* to the guard: below */
      code[n++] = jitbc_ad(JITBC_UGET, t, hook);
      code[n++] = jitbc_ad(JITBC_ISEQP, t, JITBC_PRI_NIL);
      toloop[nto++] = n;
      code[n++] = jitbc_ad(JITBC_JMP, t + 1, 0);  /* T is read next */
      typetest(code, &n, tc, fr, s0, &tt, tt.kuserdata);
      toloop[nto++] = n;
      code[n++] = jitbc_ad(JITBC_JMP, t, 0);  /* no userdata: the loop */
      code[skip] = jitbc_aj(JITBC_JMP, t, n - skip - 1);
    }
    else {
      forcheck(code, &n, t, konst, a, step, limit, 1, kat, kval, &nk);
      toloop[nto++] = n;
      code[n++] = jitbc_ad(JITBC_JMP, t, 0);
    }
  }
  if (wloop) {
    /* LuaJIT's trace recorder takes the slots below one that code writes
       as written before it (the parser's register discipline): a slot
       between the live ones and those the check writes may still hold,
       for the recorder, the frame of a call made before the loop, which
       a snapshot then restores as a frame (a crash).  LOOP's A is the
       first slot dead at the loop (the parser's nactvar): those up to
       the check's calls of type are set to nil (from T in a dump whose
       LOOP says otherwise).  Then the check, before the hook table: a
       short loop does not load it (the check's first call of type tests
       its upvalue for nil instead: tt.checknil). */
    int lo = deadfrom(p, lp, last, pl);
    double c0;
    int known = pl->index >= 0 && pl->index < t &&
                numberbefore(p, lp->head, last, pl->index, &c0);
    code[n++] = jitbc_ad(JITBC_KNIL, lo >= 0 && lo < t ? lo : t,
                         whilecalls(pl, t) + 1);
    tt.checknil = 1;
    why = whilecheck(pl, t, fr, limit, obj ? objlimit : 0, s0,
                     known ? &c0 : NULL, &tt, code, &n, toloop, &nto, kat,
                     kval, &nk);
    if (why != NULL) return why;
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
  code[n++] = jitbc_ad(JITBC_ISF, 0, t);  /* gave up: false */
  toloop[nto++] = n;
  code[n++] = jitbc_ad(JITBC_JMP, t + 1, 0);  /* T is read next */
  if (wloop) {  /* the counter (the plan's loop variable), then two nils */
    code[n++] = pl->index >= FINDJIT_UPSLOT
        ? jitbc_ad(JITBC_UGET, args, pl->index - FINDJIT_UPSLOT)
        : jitbc_ad(JITBC_MOV, args, pl->index);
    code[n++] = jitbc_ad(JITBC_KNIL, args + 1, args + 2);
  }
  else
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
  code[n] = jitbc_aj(JITBC_JMP, t, last - lp->head + 1);
  n++;
  for (i = 0; i < nto; i++) {
    jitbc_Ins ins = code[toloop[i]];
    code[toloop[i]] = jitbc_setd(ins, (unsigned)(n - toloop[i] - 1 + JITBC_BIASJ));
  }
  why = jitbc_caninsert(p, lp->head, n);
  if (why != NULL) return why;
  for (i = 0; i < nk; i++) {
    kl = jitbc_knum(c, p, kval[i]);
    if (kl < 0) return "too many constants for the guard call";
    code[kat[i]] = jitbc_setd(code[kat[i]], (unsigned)kl);
  }
  jitbc_insert(c, p, lp->head, code, n);
  if (wloop) whilejumps(p, lp, last, n);
  p->framesize = (unsigned char)(need > p->framesize ? need : p->framesize);
  return NULL;
}

#endif
