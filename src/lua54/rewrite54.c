/*
** rewrite54.c -- puts a guard call into a planned Lua 5.4 loop.
**
** Numeric for: the code goes right after the loop's FORPREP, so the VM
** itself checks the control values (with its own errors, on the loop's
** line) and skips a loop that does not run.  For a loop that runs, FORPREP
** leaves in register A+1 the iteration count minus one as an integer (an
** integer loop; 2^63 iterations or more read as negative) or the limit as
** a float (a float loop), see lvm.c forprep in Lua 5.4.0 to 5.4.8.  Two
** comparisons of that number with constants (no metamethod, no error) then
** decide, without calling anything:
**
**      LTI   A+1, 0            negative: 2^63 iterations or more -> guard
**      LEI   A+1, limit - 2    (or LOADI/LOADK T + LE)
**      JMP   -> body           fewer than iters_limit: the loop as written
**      GETUPVAL  T, H          the hook table (an upvalue added by us)
**      TEST  T; JMP -> body    nil: a copy loaded from a dump
**      GETI  T, T, id          this loop's guard
**      TEST  T; JMP -> body    false: the site gave up (guard.h)
**      MOVE  T+1 .. T+3        the control values, as FORPREP left them
**      MOVE/GETUPVAL T+4 ..    the plan's inputs
**      CALL  T, ..             ok, outputs...
**      TEST  T; JMP -> body    not ok: the loop as written
**      MOVE/SETUPVAL ..        the outputs into their variables
**      JMP   -> exit           and past the loop
**
** (T = the old maxstacksize: registers above every register the function
** uses.)  A float loop whose limit lies in [0, limit - 2] thus always runs
** as written; any other float loop asks the guard, which counts exactly.
** The LTI is left out when the start is a constant >= 0 and the step a
** constant > 0 (nonnegstart): an integer count minus one is then below
** 2^63 and a float limit at least the start, so A+1 is never negative
** there; a short call pays one comparison.  (Were that reading of the
** code wrong, a negative A+1 would run the loop as written: the same
** results, only slower.)
** FORLOOP's jump back lands past the block, on the body.
**
** Generic for over cpm.range: the same hook, entry and call, from GETUPVAL
** on, before the TFORPREP, with the iterator, the state and the closing
** value (which the guard requires to be nil) as control values.
**
** While and repeat loops: a distance check (whilecheck, below) instead of
** the count check, then the same, from GETUPVAL on, with the counter and
** two nils as control values (the guard counts: guard_while.c), before
** the loop's first instruction (the while's test, with the loads of its
** operands; the repeat's body).  Jumps from before the loop to its start
** land on the block; the loop's own jump back is pointed past it.
*/
#include "rewrite54.h"
#include "reasons.h"

#if CPM_LUA54

#define MAXCODE		(32 + 3 + 2 * 256 + 8 * PLAN_WMAXNODES)
#define MAXPK		(4 + 2 * PLAN_WMAXNODES)
#define MAXTOGUARD	(3 + 4 * PLAN_WMAXNODES)

#define sC(v)		((v) + BC_OFFSET_sC)	/* a signed immediate field */


/* The guard call, from GETUPVAL on; the jumps to the loop are left for
   the caller to fill (their indices go to 'tojump', -1 terminated). */
static int guardcall (bc_Instr *code, int n, const find54_Loop *lp,
                      const plan_Plan *pl, int t, int hook, int id,
                      int *tojump) {
  int i, nj = 0, base = lp->base;
  code[n++] = BC_CREATE_ABCk(BC_OP_GETUPVAL, t, hook, 0, 0);
  code[n++] = BC_CREATE_ABCk(BC_OP_TEST, t, 0, 0, 0);
  tojump[nj++] = n++;
  code[n++] = BC_CREATE_ABCk(BC_OP_GETI, t, t, id, 0);
  code[n++] = BC_CREATE_ABCk(BC_OP_TEST, t, 0, 0, 0);
  tojump[nj++] = n++;
  if (lp->kind == IR_WHILE || lp->kind == IR_REPEAT) {
    /* the counter (the plan's loop variable), then two nils */
    int x = pl->index;
    code[n++] = x >= FIND54_UPSLOT
        ? BC_CREATE_ABCk(BC_OP_GETUPVAL, t + 1, x - FIND54_UPSLOT, 0, 0)
        : BC_CREATE_ABCk(BC_OP_MOVE, t + 1, x, 0, 0);
    code[n++] = BC_CREATE_ABCk(BC_OP_LOADNIL, t + 2, 1, 0, 0);
  }
  else {
    code[n++] = BC_CREATE_ABCk(BC_OP_MOVE, t + 1, base, 0, 0);
    code[n++] = BC_CREATE_ABCk(BC_OP_MOVE, t + 2, base + 1, 0, 0);
    code[n++] = BC_CREATE_ABCk(BC_OP_MOVE, t + 3,
                               base + (lp->kind == IR_FORRANGE ? 3 : 2), 0, 0);
  }
  for (i = 0; i < pl->nin; i++) {
    int s = pl->in[i];
    code[n++] = s >= FIND54_UPSLOT
        ? BC_CREATE_ABCk(BC_OP_GETUPVAL, t + 4 + i, s - FIND54_UPSLOT, 0, 0)
        : BC_CREATE_ABCk(BC_OP_MOVE, t + 4 + i, s, 0, 0);
  }
  code[n++] = BC_CREATE_ABCk(BC_OP_CALL, t, 4 + pl->nin, 2 + pl->nout, 0);
  code[n++] = BC_CREATE_ABCk(BC_OP_TEST, t, 0, 0, 0);
  tojump[nj++] = n++;
  for (i = 0; i < pl->nout; i++) {
    int s = pl->out[i].slot;
    code[n++] = s >= FIND54_UPSLOT
        ? BC_CREATE_ABCk(BC_OP_SETUPVAL, t + 1 + i, s - FIND54_UPSLOT, 0, 0)
        : BC_CREATE_ABCk(BC_OP_MOVE, s, t + 1 + i, 0, 0);
  }
  tojump[nj] = -1;
  return n;
}


/*
** Whether instruction 'i' loads register 'reg' with a number (LOADI,
** LOADF, or LOADK of a number constant); the number goes to *v.
*/
static int loadednumber (const bc_Proto *p, bc_Instr i, int reg, double *v) {
  int o = BC_GET_OPCODE(i);
  if (BC_GETARG_A(i) != reg) return 0;
  if (o == BC_OP_LOADI || o == BC_OP_LOADF) {
    *v = BC_GETARG_sBx(i);
    return 1;
  }
  if (o == BC_OP_LOADK && BC_GETARG_Bx(i) < p->nk) {
    const bc_Const *k = &p->k[BC_GETARG_Bx(i)];
    if (k->tag == BC_VNUMINT) *v = (double)k->u.i;
    else if (k->tag == BC_VNUMFLT) *v = k->u.n;
    else return 0;
    return 1;
  }
  return 0;
}


/*
** The sign of the constant 'i' (an instruction loading register 'reg'
** with a number) or 0 when 'i' is no such load: 1 above zero, -1 below
** (and NaN), 2 for zero.
*/
static int constsign (const bc_Proto *p, bc_Instr i, int reg) {
  double v;
  if (!loadednumber(p, i, reg, &v)) return 0;
  return v > 0 ? 1 : v == 0 ? 2 : -1;
}


/*
** The number register 'reg' surely holds at 'at', the start of the while
** or repeat loop 'lp' (*v, and 1), or 0: the last instruction before 'at'
** writing the register loads a number (loadednumber), and no jump from
** elsewhere lands after it, up to 'at' (a goto or an if could bring
** another value), but the loop's own jumps back to 'at'.  Only chooses
** the distance check (whilecheck): were it wrong (a hand-made chunk), a
** loop would run as written or ask the guard, both right.
*/
static int numberbefore (const bc_Proto *p, const find54_Loop *lp, int reg,
                         double *v) {
  int at = lp->prep, w = bc_lastwriter(p->code, 0, at, reg), j;
  if (w < 0 || !loadednumber(p, p->code[w], reg, v)) return 0;
  for (j = 0; j < p->ncode; j++) {
    int fl = bc_opinfo[BC_GET_OPCODE(p->code[j])].flags;
    int to = (fl & BC_FJUMP) ? bc_jumptarget(p->code[j], j)
             : (fl & BC_FSKIP) ? j + 2 : -1;
    if ((j < w || j >= at) && to > w && to <= at &&
        !(to == at && j >= at && j <= lp->last))
      return 0;
  }
  return 1;
}


/*
** Whether the numeric for at 'lp' has a constant start >= 0 and a
** constant step > 0, as Lua's code generator leaves them: the step loaded
** right before the FORPREP, the start the last load of register A before
** that within the limit's code (which uses only registers above A; looked
** for among the 64 instructions before it).
*/
static int nonnegstart (const bc_Proto *p, const find54_Loop *lp) {
  int pc, sg, a = lp->base;
  if (lp->prep < 2 || constsign(p, p->code[lp->prep - 1], a + 2) != 1)
    return 0;
  pc = bc_lastA(p->code, lp->prep > 65 ? lp->prep - 65 : 0, lp->prep - 1, a);
  if (pc < 0) return 0;
  sg = constsign(p, p->code[pc], a);
  return sg == 1 || sg == 2;
}


/*
** The count check of a numeric for: jumps to the body (index -1 in
** 'tojump') when the loop's count minus one is at most 'most', and to the
** guard call ('*tolong') when it reads as negative (not checked when
** 'nonneg': it cannot).  '*toloadk': a LOADK of 'most' to complete, when
** 'most' is too large for LOADI.
*/
static int countcheck (bc_Instr *code, int n, int a, int t, lua_Integer most,
                       int nonneg, int *tolong, int *toshort, int *toloadk) {
  if (!nonneg) {
    code[n++] = BC_CREATE_ABCk(BC_OP_LTI, a + 1, sC(0), 0, 1);
    *tolong = n++;
  }
  if (most <= BC_MAXARG_C - BC_OFFSET_sC)
    code[n++] = BC_CREATE_ABCk(BC_OP_LEI, a + 1, sC((int)most), 0, 1);
  else {
    if (most <= BC_MAXARG_Bx - BC_OFFSET_sBx)
      code[n++] = BC_CREATE_AsBx(BC_OP_LOADI, t, (int)most);
    else {  /* the constant's index is known after bc_caninsert */
      *toloadk = n;
      code[n++] = BC_CREATE_ABx(BC_OP_LOADK, t, 0);
    }
    code[n++] = BC_CREATE_ABCk(BC_OP_LE, a + 1, t, 0, 1);
  }
  *toshort = n++;
  return n;
}


/* {======================================================
** The distance check of a while or repeat loop
** ======================================================= */

/* A LOADK whose constant is added once the insertion is known to work. */
typedef struct PendingK {
  int at;		/* index in the block */
  int reg;
  bc_Const k;
} PendingK;


/*
** The register holding operand 'slot' (>= 0: a slot; -1: the constant
** 'k'), loading it into 'reg' when it is an upvalue or a constant.
*/
static int operandreg (bc_Instr *code, int *n, int slot, const ir_Const *k,
                       int reg, PendingK *pk, int *npk) {
  if (slot >= 0 && slot < FIND54_UPSLOT) return slot;
  if (slot >= FIND54_UPSLOT)
    code[(*n)++] = BC_CREATE_ABCk(BC_OP_GETUPVAL, reg, slot - FIND54_UPSLOT, 0, 0);
  else if (k->type == IR_KINT && k->u.i >= -BC_OFFSET_sBx &&
           k->u.i <= BC_MAXARG_Bx - BC_OFFSET_sBx)
    code[(*n)++] = BC_CREATE_AsBx(BC_OP_LOADI, reg, (int)k->u.i);
  else {
    PendingK *q = &pk[(*npk)++];
    q->at = *n;
    q->reg = reg;
    if (k->type == IR_KINT) { q->k.tag = BC_VNUMINT; q->k.u.i = k->u.i; }
    else if (k->type == IR_KFLT) { q->k.tag = BC_VNUMFLT; q->k.u.n = k->u.n; }
    else q->k.tag = BC_VNIL;  /* (never: the planner takes numbers) */
    code[(*n)++] = BC_CREATE_ABx(BC_OP_LOADK, reg, 0);
  }
  return reg;
}


/*
** The register holding the value of expression e (plan_WExpr) for the
** distance check: a lone leaf as operandreg; else each leaf made a float
** (ADD with the 0.0 in 'zero') and each node computed into registers reg,
** reg + 1, ..., each ADD or arithmetic followed by a JMP to the guard call
** (toguard), so that an operand that is no number neither raises nor
** calls a metamethod, and in floats an integer division or modulo by zero
** does not raise either (a bitwise operation on a float that is no
** integer goes to the JMP as well).  -1 for an operator whose instruction
** has no such companion (UNM, BNOT: the check is then left out).
*/
static int exprreg (bc_Instr *code, int *n, const plan_Plan *pl,
                    const plan_WExpr *e, int reg, int zero, PendingK *pk,
                    int *npk, int *toguard, int *ng) {
  int i;
  if (e->n == 1)
    return operandreg(code, n, e->node[0].x >= 0 ? pl->in[e->node[0].x] : -1,
                      &e->node[0].k, reg, pk, npk);
  for (i = 0; i < e->n; i++)
    if (e->node[i].aop == IR_UNM || e->node[i].aop == IR_BNOT) return -1;
  for (i = 0; i < e->n; i++) {
    const plan_WNode *w = &e->node[i];
    if (w->aop < 0) {
      int r = operandreg(code, n, w->x >= 0 ? pl->in[w->x] : -1, &w->k,
                         reg + i, pk, npk);
      code[(*n)++] = BC_CREATE_ABCk(BC_OP_ADD, reg + i, r, zero, 0);
    }
    else  /* OP_ADD .. OP_SHR follow IR_ADD .. IR_SHR */
      code[(*n)++] = BC_CREATE_ABCk(BC_OP_ADD + w->aop, reg + i,
                                    reg + w->x, reg + w->y, 0);
    toguard[(*ng)++] = (*n)++;
  }
  return reg + e->n - 1;
}


/*
** The distance check of whilecheck (below) when the counter holds the
** number c0 at the loop (numberbefore), the step is one number constant
** s other than 0 and the bound b one variable: with e the counter's
** change per pass (s, or -s when the update subtracts s) and
** K = c0 + most e, "d < most" is "b - K < 0" (e > 0; "> 0" when e < 0):
**      [GETUPVAL t+1, b]
**      ADDI  t+3, b, -K         (or LOADK t+4, -K.0; ADD t+3, b, t+4)
**      JMP   -> guard           b is no number: not skipped
**      LTI   t+3, 0   (GTI)
**      JMP   -> loop
** three instructions run where whilecheck's general form runs seven, in
** a call of a short loop that is most of its cost (bench/neverslower.lua).
** ADDI (an integer b stays one) only when its constant cannot wrap b
** from a long loop's side to a short one's, else a float.  Returns the
** new size, or 'n' when the form does not apply.
*/
static int boundcheck (bc_Instr *code, int n, const plan_Plan *pl, int t,
                       lua_Integer most, double c0, PendingK *pk, int *npk,
                       int *toloop) {
  const plan_WNode *b = &pl->w.bound.node[0], *s = &pl->w.step.node[0];
  double e, k;
  int rb, toguard;
  if (pl->w.bound.n != 1 || b->aop >= 0 || b->x < 0 || b->x >= pl->nin ||
      pl->w.step.n != 1 || s->aop >= 0 || s->x >= 0)
    return n;
  e = s->k.type == IR_KINT ? (double)s->k.u.i
      : s->k.type == IR_KFLT ? s->k.u.n : 0;
  if (pl->w.negate) e = -e;
  k = c0 + (double)most * e;
  if (e == 0 || e - e != 0 || k - k != 0) return n;  /* 0, inf, NaN */
  rb = operandreg(code, &n, pl->in[b->x], NULL, t + 1, pk, npk);
  if ((e > 0 ? k >= 0 && k <= BC_OFFSET_sC
             : k <= 0 && -k <= BC_OFFSET_sC + 1) && k == (double)(int)k)
    code[n++] = BC_CREATE_ABCk(BC_OP_ADDI, t + 3, rb, sC(-(int)k), 0);
  else {
    PendingK *q = &pk[(*npk)++];
    q->at = n;
    q->reg = t + 4;
    q->k.tag = BC_VNUMFLT;
    q->k.u.n = -k;
    code[n++] = BC_CREATE_ABx(BC_OP_LOADK, t + 4, 0);
    code[n++] = BC_CREATE_ABCk(BC_OP_ADD, t + 3, rb, t + 4, 0);
  }
  toguard = n++;
  code[n++] = BC_CREATE_ABCk(e > 0 ? BC_OP_LTI : BC_OP_GTI, t + 3, sC(0), 0, 1);
  *toloop = n++;
  code[toguard] = BC_CREATE_sJ(BC_OP_JMP, n - toguard - 1);
  return n;
}


/*
** The check in front of a while or repeat loop's guard call: with its
** counter x, bound b and step s, d = (b + 0.0 - x) / s ((x + 0.0 - b) / s
** when the update subtracts s) estimates the number of passes, and a loop
** with d below limit - 1 runs as written without any call.  Arithmetic on
** anything but numbers must not run a metamethod or raise here, so each
** ADD, SUB, DIV is followed by a JMP to the guard call instead of its
** MMBIN companion: lvm.c (op_arith, op_arithf, op_bitwise in Lua 5.4.0 to
** 5.4.8) skips the next instruction when both operands are numbers (the
** result made, without coercing strings) and otherwise falls through to
** it, where the compiler puts the MMBIN.  The estimate only chooses
** between two ways to the same result (a float, so it cannot wrap: a loop
** that does not run, or not toward its bound, gives a negative d or
** NaN).  A bound or step that is an expression (`n * 2`) is computed
** first, in floats (exprreg), into registers t + 5 on.  Returns the new
** size (unchanged, with *toloop -1, when there is no check: the guard is
** then called on every entry); the JMPs to the guard call (the next instruction) are filled, the one to
** the loop goes to 'toloop'.
*/
static int whilecheck (bc_Instr *code, int n, const plan_Plan *pl, int t,
                       lua_Integer most, const double *c0, PendingK *pk,
                       int *npk, int *toloop) {
  int rx, rb, rs, j, toguard[MAXTOGUARD], ng = 0, n0 = n, npk0 = *npk;
  int nb = pl->w.bound.n > 1 ? pl->w.bound.n : 0;
  if (c0 != NULL) {
    int m = boundcheck(code, n, pl, t, most, *c0, pk, npk, toloop);
    if (m > n) return m;
  }
  rx = operandreg(code, &n, pl->index, NULL, t, pk, npk);
  code[n++] = BC_CREATE_AsBx(BC_OP_LOADF, t + 3, 0);
  rb = exprreg(code, &n, pl, &pl->w.bound, nb ? t + 5 : t + 1, t + 3, pk,
               npk, toguard, &ng);
  rs = exprreg(code, &n, pl, &pl->w.step,
               pl->w.step.n > 1 ? t + 5 + nb : t + 2, t + 3, pk, npk,
               toguard, &ng);
  if (rb < 0 || rs < 0) {  /* no check: the block starts with the call */
    *npk = npk0;
    *toloop = -1;
    return n0;
  }
  code[n++] = BC_CREATE_ABCk(BC_OP_ADD, t + 3, pl->w.negate ? rx : rb, t + 3, 0);
  toguard[ng++] = n++;
  code[n++] = BC_CREATE_ABCk(BC_OP_SUB, t + 3, t + 3, pl->w.negate ? rb : rx, 0);
  toguard[ng++] = n++;
  code[n++] = BC_CREATE_ABCk(BC_OP_DIV, t + 3, t + 3, rs, 0);
  toguard[ng++] = n++;
  if (most >= -BC_OFFSET_sBx && most <= BC_MAXARG_Bx - BC_OFFSET_sBx)
    code[n++] = BC_CREATE_AsBx(BC_OP_LOADI, t + 4, (int)most);
  else {
    PendingK *q = &pk[(*npk)++];
    q->at = n;
    q->reg = t + 4;
    q->k.tag = BC_VNUMINT;
    q->k.u.i = most;
    code[n++] = BC_CREATE_ABx(BC_OP_LOADK, t + 4, 0);
  }
  /* d < limit - 1: the JMP to the loop; else past it, to the guard */
  code[n++] = BC_CREATE_ABCk(BC_OP_LT, t + 3, t + 4, 0, 1);
  *toloop = n++;
  for (j = 0; j < ng; j++)
    code[toguard[j]] = BC_CREATE_sJ(BC_OP_JMP, n - toguard[j] - 1);
  return n;
}

/* }====================================================== */


/*
** Does the loop start right after the end of a block written here before
** it (a while or repeat loop, or a generic for: a numeric for loop's block
** comes after its FORPREP, where find54 takes no loop again),
**      TEST T; JMP ->start   MOVE/SETUPVAL ..   JMP ->past the loop
** as in a copy of an optimized function made by string.dump and load?  Its
** checks find no guards, the hook table gone with the closure; a second
** block would grow the code each time such a copy is dumped and loaded
** again.  lcode.c writes the same for `if c then x = y goto past end`
** right before such a loop, which then runs as written too.
*/
static int rewritten (const bc_Proto *p, const find54_Loop *lp) {
  int i = lp->prep - 1, op;
  if (i < 2 || BC_GET_OPCODE(p->code[i]) != BC_OP_JMP ||
      bc_jumptarget(p->code[i], i) != lp->last + 1)
    return 0;
  for (i--, op = BC_GET_OPCODE(p->code[i]); i > 1 && (op == BC_OP_MOVE || op == BC_OP_SETUPVAL);
       op = BC_GET_OPCODE(p->code[--i]))
    ;
  return op == BC_OP_JMP && bc_jumptarget(p->code[i], i) == lp->prep &&
         BC_GET_OPCODE(p->code[i - 1]) == BC_OP_TEST;
}


const char *rewrite54_loop (lua_State *L, bc_Chunk *c, bc_Proto *p,
                            const find54_Loop *lp, const plan_Plan *pl,
                            int hook, int id, lua_Integer limit) {
  bc_Instr code[MAXCODE];
  int tojump[4], n = 0, t = p->maxstacksize, i, need, at, tolong = -1,
      toshort = -1, toloadk = -1, loop, exit, npk = 0;
  PendingK pk[MAXPK];
  /* the largest count minus one that runs as written (guard.c: fewer than
     max(limit, 1) iterations) */
  lua_Integer most = (limit < 1 ? 1 : limit) - 2;
  int fornum = (lp->kind == IR_FORNUM);
  int wloop = (lp->kind == IR_WHILE || lp->kind == IR_REPEAT);
  const char *why;
  if (id > BC_MAXARG_C) return "too many loops in one function";
  if (p->nk >= BC_MAXARG_Bx) return "too many constants for the guard call";
  if (!fornum && lp->last >= 0 && lp->last < p->ncode && rewritten(p, lp))
    return cpm_reason(CPM_R_REWRITTEN);
  /* bc_check and find54 put every slot inside the frame or the upvalue
     list; checked again here, where a wrong one would become code */
  for (i = 0; i < pl->nin + pl->nout; i++) {
    int s = i < pl->nin ? pl->in[i] : pl->out[i - pl->nin].slot;
    if (s < 0 || (s < FIND54_UPSLOT ? s >= p->maxstacksize
                                    : s - FIND54_UPSLOT >= p->nup))
      return "loop value outside the frame and the upvalues";
  }
  if (lp->base < 0 || (!wloop && lp->base + (fornum ? 2 : 3) >= p->maxstacksize) ||
      hook < 0 || hook >= p->nup)
    return "loop registers outside the frame";
  if (wloop && (pl->index < 0 || (pl->index < FIND54_UPSLOT
                                   ? pl->index >= p->maxstacksize
                                   : pl->index - FIND54_UPSLOT >= p->nup)))
    return "loop value outside the frame and the upvalues";
  if (wloop && (lp->last < lp->prep || lp->last >= p->ncode ||
                BC_GET_OPCODE(p->code[lp->last]) != BC_OP_JMP))
    return FIND54_MSG_SHAPE;
  need = t + 4 + pl->nin;
  if (t + 1 + pl->nout > need) need = t + 1 + pl->nout;
  if (wloop && need < t + 5 + pl->w.bound.n + pl->w.step.n)
    need = t + 5 + pl->w.bound.n + pl->w.step.n;  /* the distance check's */
  if (need > BC_MAXSTACK) return "not enough free registers for the guard call";
  if (wloop && p->nk + MAXPK >= BC_MAXARG_Bx)
    return "too many constants for the guard call";
  if (fornum)
    n = countcheck(code, n, lp->base, t, most, nonnegstart(p, lp), &tolong,
                  &toshort, &toloadk);
  if (wloop) {
    double c0;
    int known = pl->index < FIND54_UPSLOT &&
                numberbefore(p, lp, pl->index, &c0);
    n = whilecheck(code, n, pl, t, most + 1, known ? &c0 : NULL, pk, &npk,
                   &toshort);
  }
  if (tolong >= 0) code[tolong] = BC_CREATE_sJ(BC_OP_JMP, n - tolong - 1);
  n = guardcall(code, n, lp, pl, t, hook, id, tojump);
  n++;  /* the JMP past the loop */
  /* After insertion before 'at' the block is at at .. at+n-1; what it
     jumps to ("loop": the body, or the TFORPREP, or the while's test, or
     the repeat's body) at at+n; the loop's exit (after FORLOOP/TFORLOOP,
     or the jump back of a while or repeat) at last+n+1. */
  at = fornum ? lp->prep + 1 : lp->prep;
  loop = at + n;
  exit = lp->last + n + 1;
  for (i = 0; tojump[i] >= 0; i++)
    code[tojump[i]] = BC_CREATE_sJ(BC_OP_JMP, loop - (at + tojump[i]) - 1);
  if (toshort >= 0)
    code[toshort] = BC_CREATE_sJ(BC_OP_JMP, loop - (at + toshort) - 1);
  code[n - 1] = BC_CREATE_sJ(BC_OP_JMP, exit - (at + n - 1) - 1);
  /* FORLOOP jumps back to prep + 1: onto the body, past the block */
  /* a while or repeat: the code before the loop may jump to its start
     (after an if), so jumps there land on the block; the loop's own jump
     back is then pointed past it, below */
  why = bc_caninsert(p, at, n, fornum ? BC_LANDAFTER : BC_LANDBEFORE);
  if (why != NULL) return why;
  if (toloadk >= 0) {
    bc_Const k;
    k.tag = BC_VNUMINT;
    k.u.i = most;
    code[toloadk] = BC_CREATE_ABx(BC_OP_LOADK, t, bc_addconst(L, c, p, &k));
  }
  for (i = 0; i < npk; i++)
    code[pk[i].at] = BC_CREATE_ABx(BC_OP_LOADK, pk[i].reg,
                                   bc_addconst(L, c, p, &pk[i].k));
  bc_needstack(L, p, need);
  bc_insert(L, c, p, at, code, n, lp->line,
            fornum ? BC_LANDAFTER : BC_LANDBEFORE);
  if (wloop) {  /* the loop's own jumps to its start: past the block (the
                  jump back, and those lcode.c threaded to it) */
    for (i = loop; i <= lp->last + n; i++)
      if (BC_GET_OPCODE(p->code[i]) == BC_OP_JMP &&
          bc_jumptarget(p->code[i], i) == at)
        p->code[i] = BC_CREATE_sJ(BC_OP_JMP, loop - i - 1);
  }
  return NULL;
}

#endif
