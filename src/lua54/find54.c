/*
** find54.c -- finds the for loops of a Lua 5.4 prototype and lowers each
** loop body to the IR.
**
** A body is lowered when it is code of moves, loads, upvalue reads and
** writes, field reads, arithmetic and forward jumps that stay inside the
** body (a comparison or TEST followed by its JMP, or a JMP alone: the
** if/elseif/else of the body; the planner decides whether the conditions
** are invariant).  An arithmetic
** instruction is always followed by its MMBIN companion, which names the
** operator and the operands exactly as the VM would hand them to a
** metamethod (x - 1 is ADDI -1 for the VM, but MMBINI says "x - 1"); the
** lowering takes the operation from the companion.
*/
#include <stdio.h>
#include <string.h>

#include "find54.h"
#include "names54.h"
#include "reasons.h"

#if CPM_LUA54

#define TM_ADD		6	/* ltm.h: TM_ADD .. TM_SHR follow IR_ADD .. IR_SHR */
#define TM_SUB		7
#define TM_SHR		17


static int refuse (find54_Loop *lp, int line, const char *why) {
  lp->lowered = 0;
  lp->why.line = line;
  strncpy(lp->why.msg, why, sizeof(lp->why.msg) - 1);
  lp->why.msg[sizeof(lp->why.msg) - 1] = '\0';
  return 0;
}


typedef struct Lower {
  lua_State *L;
  bc_Chunk *c;
  bc_Proto *p;
  const int *lines;	/* absolute line of each pc, or NULL */
  const unsigned char *escapes;	/* slot flags, shared by every loop */
  find54_Loop *lp;
  int *irat;		/* pc -> index of its first IR op; -1 mid-instruction */
  /* the inner loops open at this point of the lowering (IR_LOOP) */
  int nopen;
  int openop[IR_MAXDEPTH + 1];	/* index of its LOOP op */
  int openend[IR_MAXDEPTH + 1];	/* pc of its FORLOOP */
  int openline[IR_MAXDEPTH + 1];
} Lower;


/*
** The slots whose values outlive an error that unwinds the function: every
** upvalue, and every register that a closure of 'p' captures (the error
** closes its upvalue with the value the register holds then).
*/
static unsigned char *escaping (lua_State *L, bc_Chunk *c, bc_Proto *p) {
  size_t nslots = (size_t)FIND54_UPSLOT + (size_t)p->nup;
  unsigned char *e = (unsigned char *)bc_alloc(L, c, nslots);
  int i, j;
  memset(e, 0, FIND54_UPSLOT);
  memset(e + FIND54_UPSLOT, 1, (size_t)p->nup);
  for (i = 0; i < p->np; i++)
    for (j = 0; j < p->p[i]->nup; j++)
      if (p->p[i]->up[j].instack) e[p->p[i]->up[j].idx] = 1;
  return e;
}


static int lineof (const Lower *lw, int pc) {
  return lw->lines ? lw->lines[pc] : 0;
}


static ir_Op *newop (Lower *lw, ir_Code code, int a, int line) {
  find54_Loop *lp = lw->lp;
  ir_Op *op;
  cpm_assert(a >= 0 && a < FIND54_UPSLOT + lw->p->nup);  /* bc_check */
  cpm_assert(a >= FIND54_UPSLOT || a < lw->p->maxstacksize);
  bc_growvec(lw->L, lw->c, lp, ops, lp->nops + 1);
  op = &lp->ops[lp->nops++];
  memset(op, 0, sizeof(*op));
  op->code = code;
  op->a = a;
  op->line = line;
  if (a < FIND54_UPSLOT ? a < lp->base : 1)  /* an enclosing local or an upvalue */
    lp->liveout[a] = 1;
  return op;
}


static ir_Arg newconst (Lower *lw, ir_Const k) {
  find54_Loop *lp = lw->lp;
  bc_growvec(lw->L, lw->c, lp, k, lp->nk + 1);
  lp->k[lp->nk] = k;
  return ir_mkconst(lp->nk++);
}


static ir_Arg kint (Lower *lw, lua_Integer i) {
  ir_Const k;
  k.type = IR_KINT;
  k.u.i = i;
  return newconst(lw, k);
}


static ir_Arg kflt (Lower *lw, lua_Number n) {
  ir_Const k;
  k.type = IR_KFLT;
  k.u.n = n;
  return newconst(lw, k);
}


static ir_Arg ktag (Lower *lw, ir_CType t) {
  ir_Const k;
  k.type = t;
  return newconst(lw, k);
}


/* Constant K[idx] of the prototype as an operand. */
static ir_Arg kconst (Lower *lw, int idx) {
  const bc_Const *bk;
  ir_Const k;
  cpm_assert(idx >= 0 && idx < lw->p->nk);  /* bc_check */
  bk = &lw->p->k[idx];
  switch (bk->tag) {
    case BC_VNIL: return ktag(lw, IR_KNIL);
    case BC_VFALSE: return ktag(lw, IR_KFALSE);
    case BC_VTRUE: return ktag(lw, IR_KTRUE);
    case BC_VNUMINT: return kint(lw, bk->u.i);
    case BC_VNUMFLT: return kflt(lw, bk->u.n);
    default:
      k.type = IR_KSTR;
      k.u.s.s = bk->u.s.s ? bk->u.s.s : "";
      k.u.s.len = bk->u.s.len;
      return newconst(lw, k);
  }
}


/*
** A conditional jump at 'pc' (the comparison; its JMP follows) or an
** unconditional one (cmp IR_ALWAYS, the JMP at 'pc'): the VM jumps when
** the comparison's outcome equals k (lvm.c, docondjump).  The target pc is
** kept in n1 until the body is lowered (see fixjumps).
*/
static int branch (Lower *lw, int pc, int end, int cmp, ir_Arg b, ir_Arg c) {
  find54_Loop *lp = lw->lp;
  bc_Instr i = lw->p->code[pc];
  int jpc = cmp == IR_ALWAYS ? pc : pc + 1, target, line = lineof(lw, pc);
  ir_Op *op;
  if (jpc >= end || BC_GET_OPCODE(lw->p->code[jpc]) != BC_OP_JMP)
    return refuse(lp, line, cpm_reason(CPM_R_COMPARE));
  target = bc_jumptarget(lw->p->code[jpc], jpc);
  if (lp->kind == IR_WHILE && target == lp->prep)
    target = end;  /* to the test: lcode.c threads jumps to the jump back */
  if (target <= jpc && target >= lp->prep + (lp->kind == IR_FORNUM ||
                                             lp->kind == IR_FORRANGE))
    /* back into the body: the jump back of an inner while or repeat
       loop (or of a loop made with goto) */
    return refuse(lp, lineof(lw, jpc), cpm_reason(CPM_R_NEST_WHILE));
  if (target <= jpc || target > end)  /* backward, or out of the body */
    return refuse(lp, lineof(lw, jpc), cpm_reason(CPM_R_JUMP));
  bc_growvec(lw->L, lw->c, lp, ops, lp->nops + 1);
  op = &lp->ops[lp->nops++];
  memset(op, 0, sizeof(*op));
  op->code = IR_IF;
  op->aop = cmp;
  op->a = cmp == IR_ALWAYS ? 1 : BC_GETARG_k(i);
  op->b = b;
  op->c = c;
  op->n1 = target;
  op->line = line;
  return 1;
}


static void move (Lower *lw, int a, ir_Arg b, int line);
static int lowerbody (Lower *lw, int first, int end);
static int closes (const bc_Proto *p, int pc, int o, int base, int back);


/* An IF whose n1 is a count of ops, not a target pc, until fixjumps. */
static void ifcount (Lower *lw, int cmp, int jump, ir_Arg b, int skip, int line) {
  find54_Loop *lp = lw->lp;
  ir_Op *op;
  bc_growvec(lw->L, lw->c, lp, ops, lp->nops + 1);
  op = &lp->ops[lp->nops++];
  memset(op, 0, sizeof(*op));
  op->code = IR_IF;
  op->aop = cmp;
  op->a = jump;
  op->b = b;
  op->n1 = -1 - skip;
  op->line = line;
}


/* a := not b, as jumps: true unless b is truthy, then false. */
static void notop (Lower *lw, int a, int b, int line) {
  ifcount(lw, IR_TRUTHY, 1, b, 2, line);
  move(lw, a, ktag(lw, IR_KTRUE), line);
  ifcount(lw, IR_ALWAYS, 1, 0, 1, line);
  move(lw, a, ktag(lw, IR_KFALSE), line);
}


/* Turns each IF's target pc into the number of IR ops it skips. */
static int fixjumps (Lower *lw) {
  find54_Loop *lp = lw->lp;
  int j;
  for (j = 0; j < lp->nops; j++) {
    ir_Op *op = &lp->ops[j];
    if (op->code != IR_IF) continue;
    if (op->n1 < 0) {  /* a count already */
      op->n1 = -1 - op->n1;
      continue;
    }
    if (lw->irat[op->n1] < 0)
      return refuse(lp, op->line, "jump into the middle of an instruction");
    op->n1 = lw->irat[op->n1] - (j + 1);
  }
  return 1;
}


static void move (Lower *lw, int a, ir_Arg b, int line) {
  newop(lw, IR_MOVE, a, line)->b = b;
}


/* An arithmetic instruction at 'pc' and its MMBIN companion at pc + 1. */
static int arith (Lower *lw, int pc) {
  bc_Instr i = lw->p->code[pc], mm;
  int line = lineof(lw, pc), ev, flip = 0;
  ir_Arg x, y;
  ir_Op *op;
  if (pc + 1 >= lw->p->ncode)
    return refuse(lw->lp, line, cpm_reason(CPM_R_MMBIN_MISSING));
  mm = lw->p->code[pc + 1];
  ev = BC_GETARG_C(mm);
  if (ev < TM_ADD || ev > TM_SHR)
    return refuse(lw->lp, line, cpm_reason(CPM_R_MMBIN_UNKNOWN));
  x = BC_GETARG_A(mm);
  switch (BC_GET_OPCODE(mm)) {
    case BC_OP_MMBIN: y = BC_GETARG_B(mm); break;
    case BC_OP_MMBINI: y = kint(lw, BC_GETARG_sB(mm)); flip = BC_GETARG_k(mm); break;
    case BC_OP_MMBINK: y = kconst(lw, BC_GETARG_B(mm)); flip = BC_GETARG_k(mm); break;
    default: return refuse(lw->lp, line, cpm_reason(CPM_R_MMBIN_MISSING));
  }
  op = newop(lw, IR_ARITH, BC_GETARG_A(i), line);
  if (BC_GET_OPCODE(i) == BC_OP_ADDI && ev == TM_SUB) {
    /* lcode.c codes x - c as ADDI x -c: on numbers the VM adds -c, and
       -0.0 + 0 is +0.0 where -0.0 - 0 is -0.0 */
    op->aop = IR_ADD;
    op->b = x;
    op->c = kint(lw, BC_GETARG_sC(i));
    return 1;
  }
  op->aop = ev - TM_ADD;
  op->b = flip ? y : x;
  op->c = flip ? x : y;
  return 1;
}


/* The reason an instruction cannot be part of an affine body. */
static const char *forbidden (int o) {
  switch (o) {
    case BC_OP_CALL: case BC_OP_TAILCALL: case BC_OP_SELF:
      return cpm_reason(CPM_R_CALL);
    case BC_OP_SETTABUP: case BC_OP_SETTABLE: case BC_OP_SETI:
    case BC_OP_SETFIELD: case BC_OP_SETLIST:
      return cpm_reason(CPM_R_TABLE_WRITE);
    case BC_OP_NEWTABLE: return cpm_reason(CPM_R_TABLE_CONS);
    case BC_OP_LFALSESKIP:
      return cpm_reason(CPM_R_COMPARE);
    case BC_OP_CONCAT: return cpm_reason(CPM_R_CONCAT);
    case BC_OP_LEN: return cpm_reason(CPM_R_LENGTH);
    case BC_OP_CLOSURE: return cpm_reason(CPM_R_FUNCTION);
    case BC_OP_VARARG: return cpm_reason(CPM_R_VARARG);
    case BC_OP_TFORPREP: return cpm_reason(CPM_R_NESTED);
    case BC_OP_RETURN: case BC_OP_RETURN0: case BC_OP_RETURN1:
      return cpm_reason(CPM_R_RETURN);
    case BC_OP_CLOSE: case BC_OP_TBC: return cpm_reason(CPM_R_TBC);
    default: return cpm_reason(CPM_R_INSTRUCTION);
  }
}


/*
** A numeric for inside the body, FORPREP at 'pc': an IR_LOOP over its
** control registers A, A+1, A+2 with its variable in A+3 (lvm.c, forprep),
** whose body ends at its FORLOOP (closed in lower).  Its own shape is
** checked as the outer loop's: FORPREP jumps to the instruction after a
** FORLOOP of the same base that jumps back to pc + 1, inside the body.
*/
static int innerloop (Lower *lw, int pc, int end) {
  bc_Proto *p = lw->p;
  bc_Instr i = p->code[pc];
  int a = BC_GETARG_A(i), last = bc_jumptarget(i, pc) - 1, line = lineof(lw, pc);
  ir_Op *op;
  if (last <= pc || last >= end || a + 3 >= p->maxstacksize ||
      (lw->nopen > 0 && last >= lw->openend[lw->nopen - 1]) ||
      !closes(p, last, BC_OP_FORLOOP, a, pc + 1))
    return refuse(lw->lp, line, FIND54_MSG_SHAPE);
  if (lw->nopen >= IR_MAXDEPTH) {
    char msg[80];
    snprintf(msg, sizeof(msg), cpm_reason(CPM_R_NEST_DEPTH), IR_MAXDEPTH + 1);
    return refuse(lw->lp, line, msg);
  }
  op = newop(lw, IR_LOOP, a + 3, line);
  op->b = a;
  op->c = a + 1;
  op->d = a + 2;
  lw->openop[lw->nopen] = lw->lp->nops - 1;
  lw->openend[lw->nopen] = last;
  lw->openline[lw->nopen] = line;
  lw->nopen++;
  return 1;
}


/*
** A refusal inside an inner loop is the outer loop's, at its own line,
** naming the inner loop (the outermost one open).
*/
static int innerrefusal (Lower *lw) {
  find54_Loop *lp = lw->lp;
  char msg[sizeof(lp->why.msg)];
  if (lw->nopen == 0) return 0;
  snprintf(msg, sizeof(msg), cpm_reason(CPM_R_NEST_INNER), lw->openline[0],
           lp->why.msg);
  memcpy(lp->why.msg, msg, sizeof(msg));
  lp->why.line = lp->line;
  return 0;
}


/* Lowers the body [first, end) of loop 'lp'. */
static int lower (Lower *lw, int first, int end) {
  int ok = lowerbody(lw, first, end);
  if (!ok) innerrefusal(lw);
  return ok;
}


/* Lowers the body [first, end) of loop 'lp' (lower). */
static int lowerbody (Lower *lw, int first, int end) {
  bc_Proto *p = lw->p;
  int pc, q;
  lw->irat = (int *)bc_alloc(lw->L, lw->c, sizeof(int) * ((size_t)end + 1));
  for (q = 0; q <= end; q++) lw->irat[q] = -1;
  lw->nopen = 0;
  for (pc = first; pc < end; pc++) {
    bc_Instr i = p->code[pc];
    int o = BC_GET_OPCODE(i), a = BC_GETARG_A(i), line = lineof(lw, pc), r;
    ir_Op *op;
    lw->irat[pc] = lw->lp->nops;
    if (lw->nopen > 0 && pc == lw->openend[lw->nopen - 1]) {
      /* the inner loop's FORLOOP: its body ends here */
      lw->nopen--;
      op = &lw->lp->ops[lw->openop[lw->nopen]];
      op->n1 = lw->lp->nops - (lw->openop[lw->nopen] + 1);
      continue;
    }
    switch (o) {
      case BC_OP_FORPREP:
        if (!innerloop(lw, pc, end)) return 0;
        break;
      case BC_OP_EQ: case BC_OP_LT: case BC_OP_LE:
        if (!branch(lw, pc, end, o == BC_OP_EQ ? IR_EQ : o == BC_OP_LT ? IR_LT
                    : IR_LE, a, BC_GETARG_B(i))) return 0;
        pc++;  /* the JMP */
        break;
      case BC_OP_EQK:
        if (!branch(lw, pc, end, IR_EQ, a, kconst(lw, BC_GETARG_B(i)))) return 0;
        pc++;
        break;
      case BC_OP_EQI: case BC_OP_LTI: case BC_OP_LEI:
        if (!branch(lw, pc, end, o == BC_OP_EQI ? IR_EQ : o == BC_OP_LTI ? IR_LT
                    : IR_LE, a, kint(lw, BC_GETARG_sB(i)))) return 0;
        pc++;
        break;
      case BC_OP_GTI: case BC_OP_GEI:  /* x > k is k < x */
        if (!branch(lw, pc, end, o == BC_OP_GTI ? IR_LT : IR_LE,
                    kint(lw, BC_GETARG_sB(i)), a)) return 0;
        pc++;
        break;
      case BC_OP_TEST:
        if (!branch(lw, pc, end, IR_TRUTHY, a, 0)) return 0;
        pc++;
        break;
      case BC_OP_JMP:
        if (!branch(lw, pc, end, IR_ALWAYS, 0, 0)) return 0;
        break;
      case BC_OP_NOT: notop(lw, a, BC_GETARG_B(i), line); break;
      case BC_OP_TESTSET: {
        /* lvm.c: when the truth of R[B] is k, R[A] := R[B] and the JMP is
           taken; else past both: an IF past a copy and a jump */
        int target;
        if (!branch(lw, pc, end, IR_TRUTHY, BC_GETARG_B(i), 0)) return 0;
        op = &lw->lp->ops[lw->lp->nops - 1];
        op->a = !BC_GETARG_k(i);
        target = op->n1;
        op->n1 = -1 - 2;  /* a count: the copy and the jump */
        move(lw, a, BC_GETARG_B(i), line);
        bc_growvec(lw->L, lw->c, lw->lp, ops, lw->lp->nops + 1);
        op = &lw->lp->ops[lw->lp->nops++];
        memset(op, 0, sizeof(*op));
        op->code = IR_IF;
        op->aop = IR_ALWAYS;
        op->a = 1;
        op->n1 = target;
        op->line = line;
        pc++;  /* the JMP */
        break;
      }
      case BC_OP_MOVE: move(lw, a, BC_GETARG_B(i), line); break;
      case BC_OP_LOADI: move(lw, a, kint(lw, BC_GETARG_sBx(i)), line); break;
      case BC_OP_LOADF:
        move(lw, a, kflt(lw, (lua_Number)BC_GETARG_sBx(i)), line);
        break;
      case BC_OP_LOADK: move(lw, a, kconst(lw, BC_GETARG_Bx(i)), line); break;
      case BC_OP_LOADKX:
        if (pc + 1 >= end) return refuse(lw->lp, line, cpm_reason(CPM_R_LOADKX));
        move(lw, a, kconst(lw, BC_GETARG_Ax(p->code[++pc])), line);
        break;
      case BC_OP_LOADFALSE: move(lw, a, ktag(lw, IR_KFALSE), line); break;
      case BC_OP_LOADTRUE: move(lw, a, ktag(lw, IR_KTRUE), line); break;
      case BC_OP_LOADNIL:
        for (r = a; r <= a + BC_GETARG_B(i); r++) move(lw, r, ktag(lw, IR_KNIL), line);
        break;
      case BC_OP_GETUPVAL: move(lw, a, FIND54_UPSLOT + BC_GETARG_B(i), line); break;
      case BC_OP_SETUPVAL: move(lw, FIND54_UPSLOT + BC_GETARG_B(i), a, line); break;
      case BC_OP_GETTABUP:
        op = newop(lw, IR_INDEX, a, line);
        op->b = FIND54_UPSLOT + BC_GETARG_B(i);
        op->c = kconst(lw, BC_GETARG_C(i));
        break;
      case BC_OP_GETTABLE:
        op = newop(lw, IR_INDEX, a, line);
        op->b = BC_GETARG_B(i);
        op->c = BC_GETARG_C(i);
        break;
      case BC_OP_GETI:
        op = newop(lw, IR_INDEX, a, line);
        op->b = BC_GETARG_B(i);
        op->c = kint(lw, BC_GETARG_C(i));
        break;
      case BC_OP_GETFIELD:
        op = newop(lw, IR_INDEX, a, line);
        op->b = BC_GETARG_B(i);
        op->c = kconst(lw, BC_GETARG_C(i));
        break;
      case BC_OP_UNM: case BC_OP_BNOT:
        op = newop(lw, IR_UNARY, a, line);
        op->aop = o == BC_OP_UNM ? IR_UNM : IR_BNOT;
        op->b = BC_GETARG_B(i);
        break;
      case BC_OP_SETTABUP: {  /* _ENV.name = v: a global write names it */
        const bc_Str *up = a < p->nup ? &p->up[a].name : NULL;
        const bc_Const *k = BC_GETARG_B(i) < p->nk ? &p->k[BC_GETARG_B(i)] : NULL;
        char msg[sizeof(lw->lp->why.msg)];
        if (up == NULL || up->s == NULL || strcmp(up->s, "_ENV") != 0 ||
            k == NULL || (k->tag != BC_VSHRSTR && k->tag != BC_VLNGSTR) ||
            k->u.s.s == NULL || k->u.s.len > 64)
          return refuse(lw->lp, line, forbidden(o));
        snprintf(msg, sizeof(msg), cpm_reason(CPM_R_GLOBAL_WRITE), k->u.s.s);
        return refuse(lw->lp, line, msg);
      }
      default:
        if (bc_opinfo[o].flags & BC_FMM) {
          if (!arith(lw, pc)) return 0;
          pc++;  /* the companion */
          break;
        }
        return refuse(lw->lp, line, forbidden(o));
    }
  }
  lw->irat[end] = lw->lp->nops;
  if (lw->nopen > 0)  /* cannot be: every FORLOOP is before 'end' */
    return refuse(lw->lp, lw->lp->line, FIND54_MSG_SHAPE);
  return fixjumps(lw);
}


/*
** Clears liveout[r] for each enclosing local r the function provably never
** reads after the loop, so the guard need not compute its final value
** (Fibonacci returning a alone ends as mpz_fib_ui does).  A forward scan
** of the straight-line code from the loop's exit 'pc': a register read
** there before it is written is live, one written first is dead, and at a
** RETURN, RETURN0 or RETURN1 every register still undecided is dead.  The
** scan gives up, keeping every undecided register live, at anything else:
** a jump or conditional skip, a call or an instruction that may call a
** metamethod, an open register range (to the stack top), a closure.  A
** register that some closure of the function captures stays live.
*/
static void deadafter (Lower *lw, find54_Loop *lp, int pc) {
  bc_Proto *p = lw->p;
  unsigned char st[256];  /* 0: undecided, 1: live, 2: dead */
  int base = lp->base, r, j;
  if (base <= 0) return;
  memset(st, 0, sizeof st);
  for (j = 0; j < p->ncode; j++)  /* registers captured by closures */
    if (BC_GET_OPCODE(p->code[j]) == BC_OP_CLOSURE) {
      int u, bx = BC_GETARG_Bx(p->code[j]);
      const bc_Proto *f = bx < p->np ? p->p[bx] : NULL;
      if (f == NULL) return;
      for (u = 0; u < f->nup; u++)
        if (f->up[u].instack) st[f->up[u].idx] = 1;
    }
  for (; pc < p->ncode; pc++) {
    bc_Instr i = p->code[pc];
    int o = BC_GET_OPCODE(i), nrd, nwr, end;
    const bc_OpInfo *info = &bc_opinfo[o];
    bc_RegSpan rd[3], wr[1];
    if (info->flags & (BC_FJUMP | BC_FSKIP | BC_FPAIR | BC_FEXTRA | BC_FCALL)
        && o != BC_OP_RETURN)
      return;  /* undecided registers stay live */
    if (o == BC_OP_CLOSURE || o == BC_OP_TAILCALL || o == BC_OP_VARARG
        || info->name == NULL)
      return;
    end = o == BC_OP_RETURN || o == BC_OP_RETURN0 || o == BC_OP_RETURN1;
    bc_opregs(i, rd, &nrd, wr, &nwr);
    for (j = 0; j < nrd; j++) {
      if (rd[j].totop) return;
      for (r = rd[j].first; r <= rd[j].last && r < base; r++)
        if (st[r] == 0) st[r] = 1;
    }
    if (end) break;
    for (j = 0; j < nwr; j++) {
      if (wr[j].totop) return;
      for (r = wr[j].first; r <= wr[j].last && r < base; r++)
        if (st[r] == 0) st[r] = 2;
    }
  }
  if (pc >= p->ncode) return;  /* no return reached */
  for (r = 0; r < base; r++)
    if (st[r] != 1) lp->liveout[r] = 0;
}


/* Is the instruction at 'pc' opcode 'o' of base register 'base' (and,
   when 'back' >= 0, a jump back to 'back')? */
static int closes (const bc_Proto *p, int pc, int o, int base, int back) {
  bc_Instr i;
  if (pc < 0 || pc >= p->ncode) return 0;
  i = p->code[pc];
  return BC_GET_OPCODE(i) == o && BC_GETARG_A(i) == base &&
         (back < 0 || bc_jumptarget(i, pc) == back);
}


/* Sets up loop 'lp' found at 'prep' and lowers its body. */
static void takeloop (Lower *lw, find54_Loop *lp, int prep) {
  bc_Proto *p = lw->p;
  bc_Instr i = p->code[prep];
  int nslots = FIND54_UPSLOT + p->nup, first = prep + 1, end;
  memset(lp, 0, sizeof(*lp));
  lw->lp = lp;
  lp->prep = prep;
  lp->base = BC_GETARG_A(i);
  lp->line = lineof(lw, prep);
  lp->liveout = (unsigned char *)bc_alloc(lw->L, lw->c, (size_t)nslots);
  memset(lp->liveout, 0, (size_t)nslots);
  lp->lowered = 1;
  /* bc_check put every target inside the code; the shape is ours to
     check: an edited or crafted chunk may jump anywhere else */
  if (BC_GET_OPCODE(i) == BC_OP_FORPREP) {
    lp->kind = IR_FORNUM;
    lp->last = bc_jumptarget(i, prep) - 1;  /* the exit follows FORLOOP */
    end = lp->last;
    lp->ir.index = lp->base + 3;
    if (!closes(p, lp->last, BC_OP_FORLOOP, lp->base, first))
      refuse(lp, lp->line, FIND54_MSG_SHAPE);
  }
  else {  /* TFORPREP: jumps to TFORCALL, followed by TFORLOOP */
    int call = bc_jumptarget(i, prep);
    lp->kind = IR_FORRANGE;
    lp->last = call + 1;
    end = call;
    lp->ir.index = lp->base + 4;
    if (!closes(p, call, BC_OP_TFORCALL, lp->base, -1) ||
        !closes(p, call + 1, BC_OP_TFORLOOP, lp->base, first))
      refuse(lp, lp->line, FIND54_MSG_SHAPE);
    else if (BC_GETARG_C(p->code[call]) != 1)
      refuse(lp, lp->line, cpm_reason(CPM_R_FORVARS));
  }
  if (lp->lowered && lp->ir.index >= p->maxstacksize)
    refuse(lp, lp->line, FIND54_MSG_SHAPE);
  if (lp->lowered && end - first > IR_MAXBODY)
    refuse(lp, lp->line, cpm_reason(CPM_R_TOO_LARGE));
  if (lp->lowered) lower(lw, first, end);
  if (lp->lowered)  /* for the planner's reasons */
    lp->ir.names = names54_ops(lw->L, lw->c, p, lp, lw->irat, first, end);
  if (lp->lowered) deadafter(lw, lp, lp->last + 1);
  lp->ir.kind = lp->kind;
  lp->ir.line = lp->line;
  lp->ir.nslots = nslots;
  lp->ir.ops = lp->ops;
  lp->ir.nops = lp->nops;
  lp->ir.k = lp->k;
  lp->ir.nk = lp->nk;
  lp->ir.liveout = lp->liveout;
  lp->ir.escapes = lw->escapes;
}


/* {======================================================
** while and repeat loops
** ======================================================= */

/* Is 'o' a comparison that the IR's exit test can hold? */
static int iscompare (int o) {
  switch (o) {
    case BC_OP_EQ: case BC_OP_LT: case BC_OP_LE: case BC_OP_EQK:
    case BC_OP_EQI: case BC_OP_LTI: case BC_OP_LEI: case BC_OP_GTI:
    case BC_OP_GEI:
      return 1;
    default:
      return 0;
  }
}


/* Most instructions of a while loop's test before its comparison. */
#define MAXTESTOPS	(3 + 4 * PLAN_WMAXNODES)


/* Is the instruction at 'pc' a load that a condition's operand may come
   from (a constant or an upvalue into a register)? */
static int isload (const bc_Proto *p, int pc) {
  switch (BC_GET_OPCODE(p->code[pc])) {
    case BC_OP_LOADI: case BC_OP_LOADF: case BC_OP_LOADK: case BC_OP_GETUPVAL:
      return 1;
    default:
      return 0;
  }
}


/* Is the instruction at 'pc' one that a while test's operand may be
   computed with (`while i < n * 2`): a load, a move, arithmetic or its
   MMBIN companion? */
static int istestop (const bc_Proto *p, int pc) {
  int o = BC_GET_OPCODE(p->code[pc]);
  return isload(p, pc) || o == BC_OP_MOVE || o == BC_OP_UNM ||
         o == BC_OP_BNOT || o == BC_OP_MMBIN || o == BC_OP_MMBINI ||
         o == BC_OP_MMBINK || (bc_opinfo[o].flags & BC_FMM);
}


/* Is the instruction after 'cmp' a JMP out of the loop whose jump back
   is at 'back' (to right after it: a while test's exit)? */
static int exits (const bc_Proto *p, int cmp, int back) {
  return cmp + 1 < back && BC_GET_OPCODE(p->code[cmp + 1]) == BC_OP_JMP &&
         bc_jumptarget(p->code[cmp + 1], cmp + 1) == back + 1;
}


static int ismmbin (int o) {
  return o == BC_OP_MMBIN || o == BC_OP_MMBINI || o == BC_OP_MMBINK;
}


/*
** Register r as the comparison at 'cmp' reads it: the constant or upvalue
** that a load among the instructions [from, cmp) put there last, or r
** (also when an instruction other than a load wrote it last: the test's
** ops then compute it).
*/
static ir_Arg condreg (Lower *lw, int from, int cmp, int r) {
  int pc = bc_lastA(lw->p->code, from, cmp, r);
  bc_Instr i;
  if (pc < 0) return r;
  i = lw->p->code[pc];
  switch (BC_GET_OPCODE(i)) {
    case BC_OP_LOADI: return kint(lw, BC_GETARG_sBx(i));
    case BC_OP_LOADF: return kflt(lw, (lua_Number)BC_GETARG_sBx(i));
    case BC_OP_LOADK: return kconst(lw, BC_GETARG_Bx(i));
    case BC_OP_GETUPVAL: return FIND54_UPSLOT + BC_GETARG_B(i);
    default: return r;
  }
}


/*
** The exit test of the comparison at 'cmp' (its JMP follows), whose
** operands may come from the loads [from, cmp): the VM jumps when the
** outcome equals k, which leaves a while loop and goes on with a repeat
** loop.
*/
static void condof (Lower *lw, int from, int cmp, int repeat, ir_Cond *cd) {
  bc_Instr i = lw->p->code[cmp];
  int o = BC_GET_OPCODE(i), a = BC_GETARG_A(i);
  ir_Arg ra = condreg(lw, from, cmp, a);
  cd->exit = repeat ? !BC_GETARG_k(i) : BC_GETARG_k(i);
  switch (o) {
    case BC_OP_EQ: case BC_OP_LT: case BC_OP_LE:
      cd->cmp = o == BC_OP_EQ ? IR_EQ : o == BC_OP_LT ? IR_LT : IR_LE;
      cd->x = ra;
      cd->y = condreg(lw, from, cmp, BC_GETARG_B(i));
      break;
    case BC_OP_EQK:
      cd->cmp = IR_EQ;
      cd->x = ra;
      cd->y = kconst(lw, BC_GETARG_B(i));
      break;
    case BC_OP_EQI: case BC_OP_LTI: case BC_OP_LEI:
      cd->cmp = o == BC_OP_EQI ? IR_EQ : o == BC_OP_LTI ? IR_LT : IR_LE;
      cd->x = ra;
      cd->y = kint(lw, BC_GETARG_sB(i));
      break;
    default:  /* GTI, GEI: x > k is k < x */
      cd->cmp = o == BC_OP_GTI ? IR_LT : IR_LE;
      cd->x = kint(lw, BC_GETARG_sB(i));
      cd->y = ra;
      break;
  }
}


/* The number of registers that locals occupy at 'pc' (lparser.c gives
   each active local the next register; compile-time constants have
   none and no locvar entry either). */
static int activeat (const bc_Proto *p, int pc) {
  int j, n = 0;
  for (j = 0; j < p->nlocvar; j++)
    if (p->locvar[j].startpc <= pc && pc < p->locvar[j].endpc) n++;
  return n;
}


/*
** A loop closed by the backward JMP at 'back'.  lparser.c compiles
**   while c do b end     as   L: [loads] cmp; JMP exit; b; JMP L; exit:
**   repeat b until c     as   L: b; [loads] cmp; JMP L; exit:
** (whilestat, repeatstat, with the comparison's own jump as cond's exit
** jump); [loads] fetch an operand of the comparison that is a constant or
** an upvalue into a free register.  Anything else closed by a backward
** JMP (while true, goto, a test, several comparisons) is refused.
*/
static void takewhile (Lower *lw, find54_Loop *lp, int back) {
  bc_Proto *p = lw->p;
  int nslots = FIND54_UPSLOT + p->nup, top = back - 1, first, end, cmp, pc;
  int pre = 0;
  memset(lp, 0, sizeof(*lp));
  lw->lp = lp;
  lp->prep = bc_jumptarget(p->code[back], back);
  lp->last = back;
  lp->line = lineof(lw, lp->prep);
  lp->liveout = (unsigned char *)bc_alloc(lw->L, lw->c, (size_t)nslots);
  memset(lp->liveout, 0, (size_t)nslots);
  lp->lowered = 1;
  lp->ir.index = -1;
  lp->base = activeat(p, lp->prep);
  if (top >= lp->prep && (iscompare(BC_GET_OPCODE(p->code[top])) ||
                          BC_GET_OPCODE(p->code[top]) == BC_OP_TEST)) {
    lp->kind = IR_REPEAT;
    lp->line = lineof(lw, top);
    cmp = top;
    first = lp->prep;
    end = cmp;
    if (!iscompare(BC_GET_OPCODE(p->code[top])))
      refuse(lp, lp->line, cpm_reason(CPM_R_WHILE_COND));
  }
  else {
    lp->kind = IR_WHILE;
    for (cmp = lp->prep; cmp < back && cmp < lp->prep + MAXTESTOPS &&
         istestop(p, cmp); cmp++) {
      if (BC_GETARG_A(p->code[cmp]) < lp->base &&
          !ismmbin(BC_GET_OPCODE(p->code[cmp])))
        break;
      if (!isload(p, cmp)) pre = 1;
    }
    first = cmp + 2;
    end = back;
    if (!exits(p, cmp, back)) {
      /* a comparison that exits a bit further: a test computing what its
         ops cannot (`i <= #t`, a call) */
      for (pc = cmp; pc + 1 < back && pc < lp->prep + MAXTESTOPS; pc++)
        if (iscompare(BC_GET_OPCODE(p->code[pc])) && exits(p, pc, back))
          break;
      refuse(lp, lp->line, cpm_reason(pc + 1 < back && pc < lp->prep + MAXTESTOPS
                                      ? CPM_R_WHILE_COND : CPM_R_WHILE_NOCOND));
    }
    else if (!iscompare(BC_GET_OPCODE(p->code[cmp])))
      refuse(lp, lp->line, cpm_reason(CPM_R_WHILE_COND));
  }
  if (lp->lowered && p->nlocvar == 0)
    refuse(lp, lp->line, cpm_reason(CPM_R_WHILE_STRIPPED));
  for (pc = lp->kind == IR_WHILE ? lp->prep : cmp; lp->lowered && pc < cmp; pc++)
    if (BC_GETARG_A(p->code[pc]) < lp->base &&
        !ismmbin(BC_GET_OPCODE(p->code[pc])))  /* a write into a local */
      refuse(lp, lp->line, cpm_reason(CPM_R_WHILE_COND));
  if (lp->lowered && lp->base > p->maxstacksize)
    refuse(lp, lp->line, FIND54_MSG_SHAPE);
  if (lp->lowered && end - first > IR_MAXBODY)
    refuse(lp, lp->line, cpm_reason(CPM_R_TOO_LARGE));
  if (lp->lowered) {
    /* the loads of a repeat's test belong to its body (they run on every
       pass); those of a while's test run once more, at the exit, into
       registers no local holds */
    condof(lw, lp->kind == IR_WHILE ? lp->prep
               : (cmp - 1 >= first && isload(p, cmp - 1)
                  ? (cmp - 2 >= first && isload(p, cmp - 2) ? cmp - 2 : cmp - 1)
                  : cmp), cmp, lp->kind == IR_REPEAT, &lp->ir.cond);
    /* a while's test that computes an operand (`i < n * 2`): its ops are
       the body's first (ir.h, ir_Cond.pre) */
    if (pre && lower(lw, lp->prep, cmp)) lp->ir.cond.pre = lp->nops;
    if (lp->lowered) lower(lw, first, end);
  }
  if (lp->lowered) deadafter(lw, lp, lp->last + 1);
  lp->ir.kind = lp->kind;
  lp->ir.line = lp->line;
  lp->ir.nslots = nslots;
  lp->ir.ops = lp->ops;
  lp->ir.nops = lp->nops;
  lp->ir.k = lp->k;
  lp->ir.nk = lp->nk;
  lp->ir.liveout = lp->liveout;
  lp->ir.escapes = lw->escapes;
}


/* Is the instruction at 'pc' a JMP backward (the end of a while or repeat
   loop, or a goto)? */
static int isback (const bc_Proto *p, int pc) {
  bc_Instr i = p->code[pc];
  return BC_GET_OPCODE(i) == BC_OP_JMP && bc_jumptarget(i, pc) <= pc;
}


/*
** Is the backward JMP at 'pc' the jump back of a while loop, the one its
** test's exit jump lands right after (L: [loads] cmp; JMP pc+1; ...;
** JMP L)?  A goto after the loop to its start (`::top:: while ... end
** ... goto top`) jumps there too, later.
*/
static int closeswhile (const bc_Proto *p, int pc) {
  int t = bc_jumptarget(p->code[pc], pc), cmp;
  for (cmp = t; cmp < pc && cmp < t + MAXTESTOPS && istestop(p, cmp); cmp++)
    ;
  return iscompare(BC_GET_OPCODE(p->code[cmp])) && exits(p, cmp, pc);
}

/*
** The jumps back that close a loop: of those to the same target, a
** while loop's own jump back, else the last (lcode.c threads a jump to the
** jump back of a while loop, as at the end of an if/else in its body, to
** the loop's start: that is no loop of its own; nor is a goto after the
** loop to its start).  'last' gets, for each target, the pc of that one.
*/
static int closing (const bc_Proto *p, const int *last, int pc) {
  return isback(p, pc) && last[bc_jumptarget(p->code[pc], pc)] == pc;
}

/* }====================================================== */


/* Where loop 'lp' gets its guard call (rewrite54.c): loops are rewritten
   from the last of these to the first. */
static int insertpc (const find54_Loop *lp) {
  return lp->kind == IR_FORNUM ? lp->prep + 1 : lp->prep;
}


int find54_loops (lua_State *L, bc_Chunk *c, bc_Proto *p,
                  find54_Loop **loops) {
  Lower lw;
  int pc, n = 0, *lines, *last;
  find54_Loop *all;
  *loops = NULL;
  if (p->ncode <= 0) return 0;
  last = (int *)bc_alloc(L, c, sizeof(int) * (size_t)p->ncode);
  for (pc = 0; pc < p->ncode; pc++) last[pc] = -1;
  for (pc = 0; pc < p->ncode; pc++)
    if (isback(p, pc)) last[bc_jumptarget(p->code[pc], pc)] = pc;
  for (pc = 0; pc < p->ncode; pc++)
    if (isback(p, pc) && closeswhile(p, pc)) last[bc_jumptarget(p->code[pc], pc)] = pc;
  for (pc = 0; pc < p->ncode; pc++) {
    int o = BC_GET_OPCODE(p->code[pc]);
    n += (o == BC_OP_FORPREP || o == BC_OP_TFORPREP || closing(p, last, pc));
  }
  if (n == 0) return 0;
  lines = (int *)bc_alloc(L, c, sizeof(int) * ((size_t)p->ncode + 1));
  lw.L = L; lw.c = c; lw.p = p;
  lw.lines = bc_getlines(L, p, lines) ? lines : NULL;
  lw.escapes = escaping(L, c, p);
  all = (find54_Loop *)bc_alloc(L, c, sizeof(find54_Loop) * (size_t)n);
  n = 0;
  for (pc = 0; pc < p->ncode; pc++) {
    int o = BC_GET_OPCODE(p->code[pc]);
    if (o == BC_OP_FORPREP || o == BC_OP_TFORPREP) takeloop(&lw, &all[n++], pc);
    else if (closing(p, last, pc)) takewhile(&lw, &all[n++], pc);
  }
  {  /* by insertion point (insertion sort: loops are few) */
    int i, j;
    for (i = 1; i < n; i++) {
      find54_Loop t = all[i];
      for (j = i; j > 0 && insertpc(&all[j - 1]) > insertpc(&t); j--)
        all[j] = all[j - 1];
      all[j] = t;
    }
  }
  *loops = all;
  return n;
}

#endif
