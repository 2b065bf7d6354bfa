/*
** findjit.c -- finds the for, while and repeat loops of a LuaJIT
** prototype and lowers each loop body to the IR.
**
** LuaJIT's parser (lj_parse.c, parse_for_num and parse_for_iter) compiles
**     for v = e1, e2, e3 do body end
** into the control values in registers base..base+2, then
**     FORI base, ->exit     body     FORL base, ->body     exit:
** where the body sees v in base+3 (the visible copy FORI and FORL write);
** and
**     for v in explist do body end
** into the iterator, state and control in base..base+2, then
**     JMP base+3, ->call    body     call: ITERC base+3, 2, 3
**     ITERL base+3, ->body  exit:
** (ISNEXT and ITERN instead when the iterator looks like next/pairs); the
** body sees v in base+3, and ITERC's B - 1 is the number of variables.
** While and repeat loops (see whileend) are found by their LOOP and the
** JMP back before the exit LOOP points to; their test becomes the IR's
** exit test (ir_Cond) and the rest their body.
** A body is lowered when it is code of moves, constants, upvalue reads
** and writes, field and global reads, arithmetic and forward jumps that
** stay inside the body (a comparison or test and the JMP it takes, or a
** JMP alone: the IR's IF, see plan_branch.c); every
** number is a double, so every numeric constant is a float of the IR.
** The refusals name the first instruction that is not, with the same
** sentences as the other front ends.
*/
#include <stdio.h>
#include <string.h>

#include "findjit.h"
#include "namesjit.h"
#include "reasons.h"

#if CPM_LUAJIT

static int refuse (findjit_Loop *lp, int line, const char *why) {
  lp->lowered = 0;
  lp->why.line = line;
  strncpy(lp->why.msg, why, sizeof(lp->why.msg) - 1);
  lp->why.msg[sizeof(lp->why.msg) - 1] = '\0';
  return 0;
}


typedef struct Lower {
  jitbc_Chunk *c;
  jitbc_Proto *p;
  const unsigned char *escapes;	/* slot flags, shared by every loop */
  findjit_Loop *lp;
  int *irat;		/* instruction -> index of its first IR op, or -1 */
  int backto;		/* a while loop's start (a jump there goes round the
			   loop: the body's end), or -1 */
  /* the inner numeric for loops open at this point of the lowering
     (IR_LOOP, innermost last) */
  int nopen;
  int openop[IR_MAXDEPTH + 1];	/* index of its LOOP op */
  int openend[IR_MAXDEPTH + 1];	/* code index of its FORL */
  int openline[IR_MAXDEPTH + 1];
} Lower;


/*
** The slots whose values outlive an error that unwinds the function: every
** upvalue, and every slot that a child prototype captures (an upvalue
** descriptor with JITBC_UV_LOCAL names a slot of this function).
*/
static unsigned char *escaping (jitbc_Chunk *c, const jitbc_Proto *p) {
  unsigned char *e = (unsigned char *)jitbc_alloc(c, FINDJIT_NSLOTS);
  int i, j;
  memset(e, 0, FINDJIT_UPSLOT);
  memset(e + FINDJIT_UPSLOT, 1, FINDJIT_NSLOTS - FINDJIT_UPSLOT);
  for (i = 0; i < p->nkgc; i++) {
    const jitbc_Proto *q = p->kgc[i].child;
    if (p->kgc[i].type != JITBC_KGC_CHILD || q == NULL) continue;
    for (j = 0; j < q->nuv; j++)
      if (q->uv[j] & JITBC_UV_LOCAL) e[q->uv[j] & 0xff] = 1;
  }
  return e;
}


static int lineof (const Lower *lw, int i) {
  const jitbc_Proto *p = lw->p;
  return p->hasdbg && i < p->nline ? (int)(p->firstline + p->line[i]) : 0;
}


static ir_Op *newop (Lower *lw, ir_Code code, int a, int line) {
  findjit_Loop *lp = lw->lp;
  ir_Op *op;
  jitbc_growvec(lw->c, lp, ops, lp->nops + 1);
  op = &lp->ops[lp->nops++];
  memset(op, 0, sizeof(*op));
  op->code = code;
  op->a = a;
  op->line = line;
  if (a < FINDJIT_UPSLOT ? a < lp->base : 1)  /* an enclosing local or an upvalue */
    lp->liveout[a] = 1;
  return op;
}


static ir_Arg newconst (Lower *lw, ir_Const k) {
  findjit_Loop *lp = lw->lp;
  jitbc_growvec(lw->c, lp, k, lp->nk + 1);
  lp->k[lp->nk] = k;
  return ir_mkconst(lp->nk++);
}


static ir_Arg kflt (Lower *lw, double n) {
  ir_Const k;
  k.type = IR_KFLT;
  k.u.n = n;
  return newconst(lw, k);
}


/* A primitive: 0 nil, 1 false, 2 true. */
static ir_Arg kpri (Lower *lw, int pri) {
  ir_Const k;
  k.type = pri == JITBC_PRI_NIL ? IR_KNIL : pri == JITBC_PRI_FALSE ? IR_KFALSE
         : IR_KTRUE;
  return newconst(lw, k);
}


/* String constant D (kgc index ~D) into *out; 0 when it is not a string. */
static int kstr (Lower *lw, int d, ir_Arg *out) {
  const jitbc_Proto *p = lw->p;
  int idx = p->nkgc - 1 - d;
  ir_Const k;
  if (idx < 0 || idx >= p->nkgc || p->kgc[idx].type != JITBC_KGC_STR) return 0;
  k.type = IR_KSTR;
  k.u.s.s = p->kgc[idx].data.s ? p->kgc[idx].data.s : "";
  k.u.s.len = p->kgc[idx].data.len;
  *out = newconst(lw, k);
  return 1;
}


static int knum (Lower *lw, int d, ir_Arg *out) {
  if (d >= lw->p->nkn) return 0;
  *out = kflt(lw, jitbc_knumval(lw->p, d));
  return 1;
}


static void move (Lower *lw, int a, ir_Arg b, int line) {
  newop(lw, IR_MOVE, a, line)->b = b;
}


static void arith (Lower *lw, int aop, int a, ir_Arg b, ir_Arg c, int line) {
  ir_Op *op = newop(lw, IR_ARITH, a, line);
  op->aop = aop;
  op->b = b;
  op->c = c;
}


static void fieldread (Lower *lw, int a, ir_Arg b, ir_Arg c, int line) {
  ir_Op *op = newop(lw, IR_INDEX, a, line);
  op->b = b;
  op->c = c;
}


static const char *forbidden (const jitbc_Proto *p, int i);


/*
** The IR's IF for a jump whose JMP is at 'jpc': taken when the condition
** 'cmp' on b, c has the outcome 'jump' (lj_vm: a comparison or test
** executes its following JMP when it holds).  The target instruction is
** kept in n1 until fixjumps.
*/
static int branch (Lower *lw, int jpc, int end, int cmp, int jump, ir_Arg b,
                   ir_Arg c, int line) {
  findjit_Loop *lp = lw->lp;
  const jitbc_Proto *p = lw->p;
  ir_Op *op;
  int target;
  if (jpc >= end || jitbc_op(p->code[jpc]) != JITBC_JMP)
    return refuse(lp, line, cpm_reason(CPM_R_COMPARE));
  /* (an unconditional JMP is its own jpc: always before 'end') */
  target = jpc + 1 + jitbc_j(p->code[jpc]);
  if (target == lw->backto) target = end;  /* LuaJIT's parser merges jumps
                                              to the jump back with it */
  if (target <= jpc && target > lp->head)  /* back into the body: the jump
                                              back of an inner while or
                                              repeat loop (or a goto's) */
    return refuse(lp, lineof(lw, jpc), cpm_reason(CPM_R_NEST_WHILE));
  if (target <= jpc || target > end ||  /* backward, or out of the body */
      (lw->nopen > 0 && target > lw->openend[lw->nopen - 1]))  /* or of an
                                                               inner loop's */
    return refuse(lp, lineof(lw, jpc), cpm_reason(CPM_R_JUMP));
  jitbc_growvec(lw->c, lp, ops, lp->nops + 1);
  op = &lp->ops[lp->nops++];
  memset(op, 0, sizeof(*op));
  op->code = IR_IF;
  op->aop = cmp;
  op->a = jump;
  op->b = b;
  op->c = c;
  op->n1 = target;
  op->line = line;
  return 1;
}


/* Turns each IF's target instruction into the number of IR ops it skips
   (an IF whose n1 is already a count is marked by a negative target). */
static int fixjumps (Lower *lw) {
  findjit_Loop *lp = lw->lp;
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


/* An IF that skips 'skip' ops (a count already: see fixjumps). */
static void ifcount (Lower *lw, int cmp, int jump, ir_Arg b, int skip, int line) {
  findjit_Loop *lp = lw->lp;
  ir_Op *op;
  jitbc_growvec(lw->c, lp, ops, lp->nops + 1);
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
  move(lw, a, kpri(lw, JITBC_PRI_TRUE), line);
  ifcount(lw, IR_ALWAYS, 1, 0, 1, line);
  move(lw, a, kpri(lw, JITBC_PRI_FALSE), line);
}


/* Lowers the comparison or test at 'i' and its JMP. */
static int condjump (Lower *lw, int i, int end) {
  const jitbc_Proto *p = lw->p;
  jitbc_Ins ins = p->code[i];
  int o = jitbc_op(ins), a = jitbc_a(ins), d = jitbc_d(ins), line = lineof(lw, i);
  ir_Arg k;
  if (d >= JITBC_MAXSLOTS && (o <= JITBC_ISNEV || o >= JITBC_ISTC))
    return refuse(lw->lp, line, cpm_reason(CPM_R_INSTRUCTION));
  switch (o) {
    case JITBC_ISLT: case JITBC_ISGE:
      return branch(lw, i + 1, end, IR_LT, o == JITBC_ISLT, a, d, line);
    case JITBC_ISLE: case JITBC_ISGT:
      return branch(lw, i + 1, end, IR_LE, o == JITBC_ISLE, a, d, line);
    case JITBC_ISEQV: case JITBC_ISNEV:
      return branch(lw, i + 1, end, IR_EQ, o == JITBC_ISEQV, a, d, line);
    case JITBC_ISEQS: case JITBC_ISNES:
      if (!kstr(lw, d, &k)) break;
      return branch(lw, i + 1, end, IR_EQ, o == JITBC_ISEQS, a, k, line);
    case JITBC_ISEQN: case JITBC_ISNEN:
      if (!knum(lw, d, &k)) break;
      return branch(lw, i + 1, end, IR_EQ, o == JITBC_ISEQN, a, k, line);
    case JITBC_ISEQP: case JITBC_ISNEP:
      if (d > JITBC_PRI_TRUE) break;
      return branch(lw, i + 1, end, IR_EQ, o == JITBC_ISEQP, a, kpri(lw, d), line);
    case JITBC_IST: case JITBC_ISF:
      return branch(lw, i + 1, end, IR_TRUTHY, o == JITBC_IST, d, 0, line);
    case JITBC_ISTC: case JITBC_ISFC: {
      /* A := D and jump when D is true (ISTC) / false (ISFC): when it is
         not, past the copy and the jump; else copy, then jump */
      ir_Op *op;
      int target;
      if (!branch(lw, i + 1, end, IR_TRUTHY, o == JITBC_ISFC, d, 0, line))
        return 0;
      op = &lw->lp->ops[lw->lp->nops - 1];
      target = op->n1;
      op->n1 = -1 - 2;  /* a count: the copy and the jump */
      move(lw, a, d, line);
      jitbc_growvec(lw->c, lw->lp, ops, lw->lp->nops + 1);
      op = &lw->lp->ops[lw->lp->nops++];
      memset(op, 0, sizeof(*op));
      op->code = IR_IF;
      op->aop = IR_ALWAYS;
      op->a = 1;
      op->n1 = target;
      op->line = line;
      return 1;
    }
    default: return refuse(lw->lp, line, forbidden(p, i));
  }
  return refuse(lw->lp, line, cpm_reason(CPM_R_INSTRUCTION));
}


/* The reason an instruction cannot be part of an affine body. */
static const char *forbidden (const jitbc_Proto *p, int i) {
  jitbc_Ins ins = p->code[i];
  switch (jitbc_op(ins)) {
    case JITBC_CALL: case JITBC_CALLM: case JITBC_CALLT: case JITBC_CALLMT:
      return cpm_reason(CPM_R_CALL);
    case JITBC_GSET: case JITBC_TSETV: case JITBC_TSETS: case JITBC_TSETB:
    case JITBC_TSETM: case JITBC_TSETR:
      return cpm_reason(CPM_R_TABLE_WRITE);
    case JITBC_TNEW: case JITBC_TDUP: return cpm_reason(CPM_R_TABLE_CONS);
    case JITBC_JMP: {  /* the jump into a generic for's ITERC/ITERN */
      int t = i + 1 + jitbc_j(ins);
      if (t >= 0 && t < p->ncode &&
          (jitbc_op(p->code[t]) == JITBC_ITERC || jitbc_op(p->code[t]) == JITBC_ITERN))
        return cpm_reason(CPM_R_NESTED);
      return cpm_reason(CPM_R_JUMP);
    }
    case JITBC_UCLO: return cpm_reason(CPM_R_JUMP);
    case JITBC_CAT: return cpm_reason(CPM_R_CONCAT);
    case JITBC_LEN: return cpm_reason(CPM_R_LENGTH);
    case JITBC_FNEW: return cpm_reason(CPM_R_FUNCTION);
    case JITBC_VARG: return cpm_reason(CPM_R_VARARG);
    case JITBC_ISNEXT: case JITBC_ITERC: case JITBC_ITERN:
      return cpm_reason(CPM_R_NESTED);
    case JITBC_RET: case JITBC_RETM: case JITBC_RET0: case JITBC_RET1:
      return cpm_reason(CPM_R_RETURN);
    case JITBC_KCDATA: return cpm_reason(CPM_R_NUMERAL);
    default:
      if (jitbc_op(ins) <= JITBC_ISF) return cpm_reason(CPM_R_COMPARE);
      return cpm_reason(CPM_R_INSTRUCTION);
  }
}


/* {======================================================
** Nested numeric for loops (IR_LOOP, plan_nest.c)
** ======================================================= */

/*
** A numeric for inside the body, FORI at 'i': an IR_LOOP over its control
** slots A, A+1, A+2 with its variable in A+3 (the copy FORI and FORL
** write), whose body ends at its FORL (closed in lowerbody).  Its shape
** is checked as the outer loop's (loopend): FORI jumps right past a FORL
** of the same base that jumps back right after FORI, inside the body and
** inside every inner loop open around it.
*/
static int innerloop (Lower *lw, int i, int end) {
  const jitbc_Proto *p = lw->p;
  int a = jitbc_a(p->code[i]), last = i + jitbc_j(p->code[i]), line = lineof(lw, i);
  ir_Op *op;
  if (last <= i || last >= end || a + 3 >= JITBC_MAXSLOTS ||
      (lw->nopen > 0 && last >= lw->openend[lw->nopen - 1]) ||
      jitbc_op(p->code[last]) != JITBC_FORL || jitbc_a(p->code[last]) != a ||
      last + 1 + jitbc_j(p->code[last]) != i + 1)
    return refuse(lw->lp, line, cpm_reason(CPM_R_JUMP));
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


/* A refusal inside an inner loop is the outer loop's, at its own line,
   naming the inner loop (the outermost one open). */
static void innerrefusal (Lower *lw) {
  findjit_Loop *lp = lw->lp;
  char msg[sizeof(lp->why.msg)];
  if (lw->nopen == 0) return;
  snprintf(msg, sizeof(msg), cpm_reason(CPM_R_NEST_INNER), lw->openline[0],
           lp->why.msg);
  memcpy(lp->why.msg, msg, sizeof(msg));
  lp->why.line = lp->line;
}

/* }====================================================== */


/* {======================================================
** Calls of the bit library: bit.name(args) with one result, the function
** read by TGETS right before (GGET bit, or bit in a local or an upvalue),
** or copied from a local or an upvalue named as the function (calledfn),
** lowered to 32-bit ops on values held zero-extended (guard_gf2.c): a
** shift by a constant count c & 31 is followed by a mask to 32 bits, a
** rotation is two shifts and an xor (their bits are disjoint), arshift
** fills the top bits with copies of bit 31.  The first op names the
** function (ir.h, n1 and n2): the guard computes the loop only when, at
** entry, it is the library's own.
** ======================================================= */

static const char *const bitnames[] = { NULL,
#define IR_FN_NAME(name, str)	str,
  IR_FNS(IR_FN_NAME)
#undef IR_FN_NAME
};


/* LuaJIT's conversion of a number to a bit operand (lj_num2bit). */
static int32_t num2bit (double x) {
  union { double d; uint64_t u; } o;
  o.d = x + 6755399441055744.0;
  return (int32_t)(uint32_t)o.u;
}


/* The IR_FN_* named by the 'len' bytes at 's', or IR_FN_NONE. */
static int fnnamed (const char *s, size_t len) {
  int j;
  for (j = IR_FN_NONE + 1; s != NULL && j < IR_NFN; j++)
    if (len == strlen(bitnames[j]) && memcmp(s, bitnames[j], len) == 0)
      return j;
  return IR_FN_NONE;
}


/*
** Is 'slot' (a register, or FINDJIT_UPSLOT + an upvalue) written anywhere
** in the loop being lowered, from its head to its last instruction?  A
** range of slots from a base (calls, KNIL, inner loops) counts as writing
** every slot from the base up.
*/
static int writtenin (const Lower *lw, int slot) {
  const jitbc_Proto *p = lw->p;
  int i;
  for (i = lw->lp->head; i <= lw->lp->last && i < p->ncode; i++) {
    jitbc_Ins ins = p->code[i];
    int ma = jitbc_opinfo[jitbc_op(ins)].ma, a = jitbc_a(ins);
    if (slot >= FINDJIT_UPSLOT ? ma == JITBC_M_uv && a == slot - FINDJIT_UPSLOT
        : (ma == JITBC_M_dst && a == slot) ||
          ((ma == JITBC_M_base || ma == JITBC_M_rbase) && a <= slot))
      return 1;
  }
  return 0;
}


/*
** The function that instruction 'w' puts in a call's slot, IR_FN_NONE when
** not one of the library's.  A field read by TGETS names it by the key
** (bit.bxor); a copy of a local (MOV) or an upvalue (UGET) by the
** variable's name in the debug info (`local bxor = bit.bxor`, hoisted out
** of the loop: LuaJIT's idiom); a stripped dump has no names.  Either is a
** guess the guard checks: '*fslot' gets the slot whose value at entry is
** the one called, the local or the upvalue itself for a copy, which must
** then not be written in the loop.
*/
static int calledfn (const Lower *lw, int w, int *fslot) {
  const jitbc_Proto *p = lw->p;
  jitbc_Ins ins = p->code[w];
  int d = jitbc_d(ins), fn = IR_FN_NONE, src = -1;
  if (jitbc_op(ins) == JITBC_TGETS) {
    int idx = p->nkgc - 1 - jitbc_c(ins);
    if (idx >= 0 && idx < p->nkgc && p->kgc[idx].type == JITBC_KGC_STR)
      fn = fnnamed(p->kgc[idx].data.s, p->kgc[idx].data.len);
    return fn;
  }
  if (jitbc_op(ins) == JITBC_MOV && d < JITBC_MAXSLOTS) {
    const char *s = namesjit_local(p, d, w);
    int fetch = jitbc_lastwriter(p, lw->lp->head, w, d);
    fn = s != NULL ? fnnamed(s, strlen(s)) : IR_FN_NONE;
    /* `local bxor = bit.bxor` in the body itself: the field read names it,
       and the value called is the one read there, in the call's slot */
    if (fn != IR_FN_NONE && fetch >= 0 && jitbc_op(p->code[fetch]) == JITBC_TGETS)
      return calledfn(lw, fetch, fslot) == fn ? fn : IR_FN_NONE;
    src = d;
  }
  else if (jitbc_op(ins) == JITBC_UGET && d < p->nuv && d < p->nuvname) {
    fn = fnnamed(p->uvname[d].s, p->uvname[d].len);
    src = FINDJIT_UPSLOT + d;
  }
  if (fn == IR_FN_NONE || writtenin(lw, src)) return IR_FN_NONE;
  *fslot = src;
  return fn;
}


/* A new op a := b aop c; the first of a call names the function. */
static ir_Op *bitop (Lower *lw, int code, int aop, int a, ir_Arg b, ir_Arg c,
                     int *named, int fslot, int fn, int line) {
  ir_Op *op = newop(lw, (ir_Code)code, a, line);
  op->aop = aop;
  op->b = b;
  op->c = code == IR_UNARY ? 0 : c;
  if (!*named) {
    op->n1 = fn;
    op->n2 = 1 + fslot;
    *named = 1;
  }
  return op;
}


/* A new shift a := b << c or b >> c whose count c is read at entry as
   the bit library reads it (ir.h, ir_Count 'how'). */
static void varshift (Lower *lw, int aop, int a, ir_Arg b, ir_Arg c, int how,
                      int *named, int fslot, int fn, int line) {
  bitop(lw, IR_ARITH, aop, a, b, c, named, fslot, fn, line)->count = how;
}


/*
** A shift or rotation of bit.<fn>(x, c) whose count c is no constant:
** the ops of the constant case with the count s = tobit(c) % 32 and
** 32 - s read at entry (varshift), where a count of 32 shifts a 32-bit
** value out (so s = 0 needs no case of its own).  x is in slot 'arg', c in
** arg + 1, the result goes to a, slots from t are free.
*/
static int bitshift (Lower *lw, int fn, int a, int arg, int t, ir_Arg mask,
                     int fslot, int line) {
  int named = 0, j, c = arg + 1;
  switch (fn) {
    case IR_FN_LSHIFT:
      varshift(lw, IR_SHL, t, arg, c, IR_COUNT_BIT, &named, fslot, fn, line);
      bitop(lw, IR_ARITH, IR_BAND, a, t, mask, &named, fslot, fn, line);
      break;
    case IR_FN_RSHIFT:
      bitop(lw, IR_ARITH, IR_BOR, t, arg, kflt(lw, 0), &named, fslot, fn, line);
      varshift(lw, IR_SHR, a, t, c, IR_COUNT_BIT, &named, fslot, fn, line);
      break;
    case IR_FN_ARSHIFT:  /* as for a constant count, with s and 32 - s */
      bitop(lw, IR_ARITH, IR_BOR, t, arg, kflt(lw, 0), &named, fslot, fn, line);
      bitop(lw, IR_ARITH, IR_SHR, t + 1, t, kflt(lw, 31), &named, fslot, fn, line);
      for (j = 1; j < 32; j *= 2) {
        bitop(lw, IR_ARITH, IR_SHL, t + 2, t + 1, kflt(lw, j), &named, fslot, fn, line);
        bitop(lw, IR_ARITH, IR_BXOR, t + 1, t + 1, t + 2, &named, fslot, fn, line);
      }
      varshift(lw, IR_SHL, t + 1, t + 1, c, IR_COUNT_BIT32SUB, &named, fslot, fn, line);
      bitop(lw, IR_ARITH, IR_BAND, t + 1, t + 1, mask, &named, fslot, fn, line);
      varshift(lw, IR_SHR, t, t, c, IR_COUNT_BIT, &named, fslot, fn, line);
      bitop(lw, IR_ARITH, IR_BXOR, a, t, t + 1, &named, fslot, fn, line);
      break;
    default: {  /* rol: left by s, right by 32 - s; ror the other way */
      int rol = fn == IR_FN_ROL;
      bitop(lw, IR_ARITH, IR_BOR, t, arg, kflt(lw, 0), &named, fslot, fn, line);
      varshift(lw, IR_SHL, t + 1, t, c, rol ? IR_COUNT_BIT : IR_COUNT_BIT32SUB,
               &named, fslot, fn, line);
      bitop(lw, IR_ARITH, IR_BAND, t + 1, t + 1, mask, &named, fslot, fn, line);
      varshift(lw, IR_SHR, t, t, c, rol ? IR_COUNT_BIT32SUB : IR_COUNT_BIT,
               &named, fslot, fn, line);
      bitop(lw, IR_ARITH, IR_BXOR, a, t, t + 1, &named, fslot, fn, line);
      break;
    }
  }
  return 1;
}


/*
** Lowers the CALL or CALLM at code index 'i' of the body [first, end).  A
** call with one result, or a call as the last argument of another (CALL
** with B = 0, all its results, then CALLM taking them: the bit functions
** give exactly one).
*/
static int bitcall (Lower *lw, int first, int i, int end) {
  const jitbc_Proto *p = lw->p;
  jitbc_Ins ins = p->code[i];
  int a = jitbc_a(ins), nargs = jitbc_c(ins) - 1, line = lineof(lw, i);
  int fr = (lw->c->flags & JITBC_F_FR2) ? 1 : 0, arg = a + 1 + fr;
  int t, named = 0, fn = IR_FN_NONE, fslot = a, w, j, sh = 0, ok;
  int varcount = 0;  /* the count is arg + 1, read at entry (ir.h, ir_Count) */
  ir_Arg mask;
  ok = 1;
  if (jitbc_op(ins) == JITBC_CALLM) {  /* C fixed arguments, then the last */
    jitbc_Ins prev = i > first ? p->code[i - 1] : 0;
    nargs = jitbc_c(ins) + 1;
    ok = i > first && (jitbc_op(prev) == JITBC_CALL ||
                       jitbc_op(prev) == JITBC_CALLM) &&
         jitbc_b(prev) == 0 && jitbc_a(prev) == arg + nargs - 1;
  }
  if (jitbc_b(ins) == 0) {  /* into the CALLM right after (bit.bxor(y,
                               bit.bnot(bit.lshift(x, 3))): a chain) */
    jitbc_Ins next = i + 1 < end ? p->code[i + 1] : 0;
    ok = ok && i + 1 < end && jitbc_op(next) == JITBC_CALLM &&
         jitbc_a(next) + 1 + fr + jitbc_c(next) == a;
  }
  else ok = ok && jitbc_b(ins) == 2;
  t = arg + (nargs > 0 ? nargs : 0);
  if (!ok || nargs < 1 || t + 4 >= FINDJIT_UPSLOT)
    return refuse(lw->lp, line, cpm_reason(CPM_R_CALL));
  w = jitbc_lastwriter(p, first, i, a);
  if (w >= 0) fn = calledfn(lw, w, &fslot);
  if (fn == IR_FN_NONE) return refuse(lw->lp, line, cpm_reason(CPM_R_CALL));
  switch (fn) {  /* arities (arguments past them are ignored); counts */
    case IR_FN_LSHIFT: case IR_FN_RSHIFT: case IR_FN_ARSHIFT:
    case IR_FN_ROL: case IR_FN_ROR: {
      int kw = nargs >= 2 ? jitbc_lastwriter(p, first, i, arg + 1) : -1;
      double v;
      if (nargs < 2)  /* the function raises: as written */
        return refuse(lw->lp, line, cpm_reason(CPM_R_BIT_ARITY));
      if (kw < 0 || !jitbc_kvalue(p, kw, &v)) {
        varcount = 1;  /* computed when the guard has its value */
        break;
      }
      sh = num2bit(v) & 31;
      if (fn == IR_FN_ROR) sh = (32 - sh) & 31;
      break;
    }
    default: break;  /* one operand, or any number (band, bor, bxor) */
  }
  mask = kflt(lw, 4294967295.0);
  if (varcount) return bitshift(lw, fn, a, arg, t, mask, fslot, line);
  switch (fn) {
    case IR_FN_TOBIT:
      bitop(lw, IR_ARITH, IR_BOR, a, arg, kflt(lw, 0), &named, fslot, fn, line);
      break;
    case IR_FN_BNOT:
      bitop(lw, IR_UNARY, IR_BNOT, t, arg, 0, &named, fslot, fn, line);
      bitop(lw, IR_ARITH, IR_BAND, a, t, mask, &named, fslot, fn, line);
      break;
    case IR_FN_BSWAP:  /* the four bytes of x | 0, each moved to its place */
      bitop(lw, IR_ARITH, IR_BOR, t, arg, kflt(lw, 0), &named, fslot, fn, line);
      bitop(lw, IR_ARITH, IR_SHR, t + 1, t, kflt(lw, 24), &named, fslot, fn, line);
      for (j = 0; j < 3; j++) {  /* bytes 0, 1, 2 to 3, 2, 1 */
        static const double bytemask[3] = { 255, 65280, 16711680 };
        int left = 24 - 16 * j;  /* 24, 8, -8 */
        bitop(lw, IR_ARITH, IR_BAND, t + 2, t, kflt(lw, bytemask[j]), &named,
              fslot, fn, line);
        bitop(lw, IR_ARITH, left > 0 ? IR_SHL : IR_SHR, t + 2, t + 2,
              kflt(lw, left > 0 ? left : -left), &named, fslot, fn, line);
        bitop(lw, IR_ARITH, IR_BXOR, t + 1, t + 1, t + 2, &named, fslot, fn, line);
      }
      bitop(lw, IR_MOVE, 0, a, t + 1, 0, &named, fslot, fn, line);
      break;
    case IR_FN_BAND: case IR_FN_BOR: case IR_FN_BXOR: {
      int aop = fn == IR_FN_BAND ? IR_BAND : fn == IR_FN_BOR ? IR_BOR : IR_BXOR;
      if (nargs == 1) {  /* the operand converted: x | 0 */
        bitop(lw, IR_ARITH, IR_BOR, a, arg, kflt(lw, 0), &named, fslot, fn, line);
        break;
      }
      bitop(lw, IR_ARITH, aop, t, arg, arg + 1, &named, fslot, fn, line);
      for (j = 2; j < nargs; j++)
        bitop(lw, IR_ARITH, aop, t, t, arg + j, &named, fslot, fn, line);
      bitop(lw, IR_MOVE, 0, a, t, 0, &named, fslot, fn, line);
      break;
    }
    case IR_FN_LSHIFT:
      bitop(lw, IR_ARITH, IR_SHL, t, arg, kflt(lw, sh), &named, fslot, fn, line);
      bitop(lw, IR_ARITH, IR_BAND, a, t, mask, &named, fslot, fn, line);
      break;
    case IR_FN_RSHIFT:  /* the operand as 32 bits: x | 0, then the shift */
      bitop(lw, IR_ARITH, IR_BOR, t, arg, kflt(lw, 0), &named, fslot, fn, line);
      bitop(lw, IR_ARITH, IR_SHR, a, t, kflt(lw, sh), &named, fslot, fn, line);
      break;
    case IR_FN_ARSHIFT:
      /* x >> sh, then bit 31 copied into the top sh bits: s = x >> 31
         doubled over 32 bits by five shifted xors, shifted to the top */
      bitop(lw, IR_ARITH, IR_BOR, t, arg, kflt(lw, 0), &named, fslot, fn, line);
      if (sh == 0) {
        bitop(lw, IR_MOVE, 0, a, t, 0, &named, fslot, fn, line);
        break;
      }
      bitop(lw, IR_ARITH, IR_SHR, t + 1, t, kflt(lw, 31), &named, fslot, fn, line);
      for (j = 1; j < 32; j *= 2) {
        bitop(lw, IR_ARITH, IR_SHL, t + 2, t + 1, kflt(lw, j), &named, fslot, fn, line);
        bitop(lw, IR_ARITH, IR_BXOR, t + 1, t + 1, t + 2, &named, fslot, fn, line);
      }
      bitop(lw, IR_ARITH, IR_SHL, t + 1, t + 1, kflt(lw, 32 - sh), &named, fslot, fn, line);
      bitop(lw, IR_ARITH, IR_BAND, t + 1, t + 1, mask, &named, fslot, fn, line);
      bitop(lw, IR_ARITH, IR_SHR, t, t, kflt(lw, sh), &named, fslot, fn, line);
      bitop(lw, IR_ARITH, IR_BXOR, a, t, t + 1, &named, fslot, fn, line);
      break;
    default:  /* rol, ror: by sh to the left */
      bitop(lw, IR_ARITH, IR_BOR, t, arg, kflt(lw, 0), &named, fslot, fn, line);
      if (sh == 0) {
        bitop(lw, IR_MOVE, 0, a, t, 0, &named, fslot, fn, line);
        break;
      }
      bitop(lw, IR_ARITH, IR_SHL, t + 1, t, kflt(lw, sh), &named, fslot, fn, line);
      bitop(lw, IR_ARITH, IR_BAND, t + 1, t + 1, mask, &named, fslot, fn, line);
      bitop(lw, IR_ARITH, IR_SHR, t, t, kflt(lw, 32 - sh), &named, fslot, fn, line);
      bitop(lw, IR_ARITH, IR_BXOR, a, t, t + 1, &named, fslot, fn, line);
      break;
  }
  return 1;
}

/* }====================================================== */


static int lowerbody (Lower *lw, int first, int end);

/* Lowers the body [first, end) of loop 'lp'. */
static int lower (Lower *lw, int first, int end) {
  int ok;
  lw->nopen = 0;
  ok = lowerbody(lw, first, end);
  if (!ok) innerrefusal(lw);
  lw->nopen = 0;
  return ok;
}


/* Lowers the body [first, end) of loop 'lp' (lower). */
static int lowerbody (Lower *lw, int first, int end) {
  jitbc_Proto *p = lw->p;
  int i;
  lw->irat = (int *)jitbc_alloc(lw->c, sizeof(int) * ((size_t)end + 1));
  for (i = 0; i <= end; i++) lw->irat[i] = -1;
  for (i = first; i < end; i++) {
    jitbc_Ins ins = p->code[i];
    int o = jitbc_op(ins), a = jitbc_a(ins), b = jitbc_b(ins), cc = jitbc_c(ins);
    int d = jitbc_d(ins), line = lineof(lw, i), r;
    ir_Arg k;
    lw->irat[i] = lw->lp->nops;
    if (lw->nopen > 0 && i == lw->openend[lw->nopen - 1]) {
      /* an inner loop's FORL: its body ends here */
      ir_Op *op;
      lw->nopen--;
      op = &lw->lp->ops[lw->openop[lw->nopen]];
      op->n1 = lw->lp->nops - (lw->openop[lw->nopen] + 1);
      continue;
    }
    if (o == JITBC_FORI) {
      if (!innerloop(lw, i, end)) return 0;
      continue;
    }
    if (o <= JITBC_ISF) {  /* a comparison or test and its JMP */
      if (!condjump(lw, i, end)) return 0;
      i++;
      continue;
    }
    if (o == JITBC_JMP) {
      int t = i + 1 + jitbc_j(ins);
      if (t == lw->backto) t = end;
      if (t <= i && t > lw->lp->head)  /* (as in branch) */
        return refuse(lw->lp, line, cpm_reason(CPM_R_NEST_WHILE));
      if (t > i && t <= end && !(t < p->ncode &&
          (jitbc_op(p->code[t]) == JITBC_ITERC || jitbc_op(p->code[t]) == JITBC_ITERN))) {
        if (!branch(lw, i, end, IR_ALWAYS, 1, 0, 0, line)) return 0;
        continue;
      }
    }
    /* a D naming a slot must be one (the dump is LuaJIT's own, but a slot
       beyond the frame would index outside every slot array) */
    if ((o == JITBC_MOV || o == JITBC_UNM || o == JITBC_USETV || o == JITBC_KNIL ||
         o == JITBC_NOT) &&
        d >= JITBC_MAXSLOTS)
      goto bad;
    switch (o) {
      case JITBC_MOV: move(lw, a, d, line); break;
      case JITBC_NOT: notop(lw, a, d, line); break;
      case JITBC_UNM: {
        ir_Op *op = newop(lw, IR_UNARY, a, line);
        op->aop = IR_UNM;
        op->b = d;
        break;
      }
      case JITBC_ADDVN: case JITBC_SUBVN: case JITBC_MULVN: case JITBC_DIVVN:
      case JITBC_MODVN: {
        static const int aops[] = { IR_ADD, IR_SUB, IR_MUL, IR_DIV, IR_MOD };
        if (!knum(lw, cc, &k)) goto bad;
        arith(lw, aops[o - JITBC_ADDVN], a, b, k, line);
        break;
      }
      case JITBC_ADDNV: case JITBC_SUBNV: case JITBC_MULNV: case JITBC_DIVNV:
      case JITBC_MODNV: {
        static const int aops[] = { IR_ADD, IR_SUB, IR_MUL, IR_DIV, IR_MOD };
        if (!knum(lw, cc, &k)) goto bad;
        arith(lw, aops[o - JITBC_ADDNV], a, k, b, line);
        break;
      }
      case JITBC_ADDVV: case JITBC_SUBVV: case JITBC_MULVV: case JITBC_DIVVV:
      case JITBC_MODVV: {
        static const int aops[] = { IR_ADD, IR_SUB, IR_MUL, IR_DIV, IR_MOD };
        arith(lw, aops[o - JITBC_ADDVV], a, b, cc, line);
        break;
      }
      case JITBC_POW: arith(lw, IR_POW, a, b, cc, line); break;
      case JITBC_KSTR:
        if (!kstr(lw, d, &k)) goto bad;
        move(lw, a, k, line);
        break;
      case JITBC_KSHORT: move(lw, a, kflt(lw, (double)(int16_t)d), line); break;
      case JITBC_KNUM:
        if (!knum(lw, d, &k)) goto bad;
        move(lw, a, k, line);
        break;
      case JITBC_KPRI:
        if (d > JITBC_PRI_TRUE) goto bad;
        move(lw, a, kpri(lw, d), line);
        break;
      case JITBC_KNIL:
        for (r = a; r <= d; r++) move(lw, r, kpri(lw, JITBC_PRI_NIL), line);
        break;
      case JITBC_UGET:
        if (d >= p->nuv) goto bad;
        move(lw, a, FINDJIT_UPSLOT + d, line);
        break;
      case JITBC_USETV: case JITBC_USETS: case JITBC_USETN: case JITBC_USETP:
        if (a >= p->nuv) goto bad;
        if (o == JITBC_USETV) k = d;
        else if (o == JITBC_USETS) { if (!kstr(lw, d, &k)) goto bad; }
        else if (o == JITBC_USETN) { if (!knum(lw, d, &k)) goto bad; }
        else if (d > JITBC_PRI_TRUE) goto bad;
        else k = kpri(lw, d);
        move(lw, FINDJIT_UPSLOT + a, k, line);
        break;
      case JITBC_GGET:
        if (!kstr(lw, d, &k)) goto bad;
        fieldread(lw, a, FINDJIT_ENVSLOT, k, line);
        break;
      case JITBC_TGETV: fieldread(lw, a, b, cc, line); break;
      case JITBC_TGETS:
        if (!kstr(lw, cc, &k)) goto bad;
        fieldread(lw, a, b, k, line);
        break;
      case JITBC_TGETB: fieldread(lw, a, b, kflt(lw, (double)cc), line); break;
      case JITBC_LOOP: break;  /* a repeat loop's head: only counts for the JIT */
      case JITBC_CALL: case JITBC_CALLM:
        if (!bitcall(lw, first, i, end)) return 0;
        break;
      case JITBC_GSET: {  /* a global write names the global */
        int idx = p->nkgc - 1 - d;
        char msg[sizeof(lw->lp->why.msg)], name[65];
        if (idx < 0 || idx >= p->nkgc || p->kgc[idx].type != JITBC_KGC_STR ||
            p->kgc[idx].data.len > 64)
          return refuse(lw->lp, line, forbidden(p, i));
        snprintf(name, sizeof(name), "%.*s", (int)p->kgc[idx].data.len,
                 p->kgc[idx].data.s ? p->kgc[idx].data.s : "");
        snprintf(msg, sizeof(msg), cpm_reason(CPM_R_GLOBAL_WRITE), name);
        return refuse(lw->lp, line, msg);
      }
      default:
        return refuse(lw->lp, line, forbidden(p, i));
    }
    continue;
  bad:
    return refuse(lw->lp, line, cpm_reason(CPM_R_INSTRUCTION));
  }
  lw->irat[end] = lw->lp->nops;
  if (lw->nopen > 0)  /* cannot be: every inner FORL is before 'end' */
    return refuse(lw->lp, lw->lp->line, cpm_reason(CPM_R_JUMP));
  return fixjumps(lw);
}


/*
** Clears liveout[r] for each enclosing local r the function provably never
** reads after the loop, so the guard need not compute its final value
** (Fibonacci returning a alone ends as mpz_fib_ui does), as find54.c does
** for Lua 5.4.  A forward scan of the straight-line code from the loop's
** exit 'pc': a slot read there before it is written is live, one written
** first is dead, and at RET0, RET1 or RET every slot still undecided is
** dead.  The scan stops, keeping every undecided slot live, at any other
** instruction: a jump or a comparison, a call, an instruction that may
** call a metamethod, allocate (a finalizer may run) or raise, an open
** range of slots (RETM).  Only moves, NOT, constants and upvalue reads and
** writes are passed, none of which can raise or call: a slot they write
** before any read is dead wherever the scan stops.  A slot that some
** closure of the function captures stays live.
*/
static void deadafter (Lower *lw, findjit_Loop *lp, int pc) {
  const jitbc_Proto *p = lw->p;
  unsigned char st[JITBC_MAXSLOTS];  /* 0: undecided, 1: live, 2: dead */
  int base = lp->base, r;
  if (base <= 0) return;
  if (base > JITBC_MAXSLOTS) base = JITBC_MAXSLOTS;
  memset(st, 0, sizeof st);
  for (r = 0; r < base; r++)
    if (lw->escapes[r]) st[r] = 1;
  for (; pc < p->ncode; pc++) {
    jitbc_Ins ins = p->code[pc];
    int o = jitbc_op(ins), a = jitbc_a(ins), d = jitbc_d(ins), rd = -1, rdn = 0;
    int wr = -1, wrn = 0, end = 0;
    switch (o) {
      case JITBC_MOV: case JITBC_NOT:
        rd = d, rdn = 1, wr = a, wrn = 1;
        break;
      case JITBC_KSTR: case JITBC_KSHORT: case JITBC_KNUM: case JITBC_KPRI:
      case JITBC_UGET:
        wr = a, wrn = 1;
        break;
      case JITBC_KNIL: wr = a, wrn = d - a + 1; break;
      case JITBC_USETV: rd = d, rdn = 1; break;
      case JITBC_USETS: case JITBC_USETN: case JITBC_USETP: break;
      case JITBC_RET0: end = 1; break;
      case JITBC_RET1: rd = a, rdn = 1, end = 1; break;
      case JITBC_RET: rd = a, rdn = d - 1, end = 1; break;
      default: goto stop;  /* undecided slots stay live */
    }
    for (r = rd; r >= 0 && r < rd + rdn && r < base; r++)
      if (st[r] == 0) st[r] = 1;
    if (end) break;
    for (r = wr; r >= 0 && r < wr + wrn && r < base; r++)
      if (st[r] == 0) st[r] = 2;
  }
  if (pc < p->ncode)  /* a return: what is undecided is dead */
    for (r = 0; r < base; r++)
      if (st[r] == 0) st[r] = 2;
stop:
  for (r = 0; r < base; r++)
    if (st[r] == 2) lp->liveout[r] = 0;
}


/* Sets up the loop whose head is at 'head', its last instruction at
   'last', and lowers its body. */
static void takeloop (Lower *lw, findjit_Loop *lp, int head, int last) {
  jitbc_Proto *p = lw->p;
  int end;
  memset(lp, 0, sizeof(*lp));
  lw->lp = lp;
  lp->head = head;
  lp->last = last;
  lp->line = lineof(lw, head);
  lp->liveout = (unsigned char *)jitbc_alloc(lw->c, FINDJIT_NSLOTS);
  memset(lp->liveout, 0, FINDJIT_NSLOTS);
  lp->lowered = 1;
  if (jitbc_op(p->code[head]) == JITBC_FORI) {
    lp->kind = IR_FORNUM;
    lp->base = jitbc_a(p->code[head]);
    end = last;
  }
  else {
    lp->kind = IR_FORRANGE;
    lp->base = jitbc_a(p->code[last]) - 3;
    end = last - 1;  /* ITERC */
    if (jitbc_b(p->code[end]) != 2)
      refuse(lp, lp->line, cpm_reason(CPM_R_FORVARS));
  }
  lp->ir.index = lp->base + 3;
  if (lp->lowered && end - head - 1 > IR_MAXBODY)
    refuse(lp, lp->line, cpm_reason(CPM_R_TOO_LARGE));
  if (lp->lowered && lower(lw, head + 1, end)) deadafter(lw, lp, last + 1);
  if (lp->lowered)  /* for the planner's reasons */
    lp->ir.names = namesjit_ops(lw->c, p, lp, lw->irat, head + 1, end);
  lp->ir.kind = lp->kind;
  lp->ir.line = lp->line;
  lp->ir.nslots = FINDJIT_NSLOTS;
  lp->ir.ops = lp->ops;
  lp->ir.nops = lp->nops;
  lp->ir.k = lp->k;
  lp->ir.nk = lp->nk;
  lp->ir.liveout = lp->liveout;
  lp->ir.escapes = lw->escapes;
}


/*
** If code[i] is the head of a loop, its last instruction's index, else -1.
** A numeric loop's FORL jumps back right after its FORI; a generic loop's
** head jumps to ITERC/ITERN, followed by ITERL jumping back right after
** the head.  (The count check of a rewritten loop has a FORI of its own,
** without a FORL: not a loop.)
*/
static int loopend (const jitbc_Proto *p, int i) {
  jitbc_Ins ins = p->code[i];
  int o = jitbc_op(ins), t = i + 1 + jitbc_j(ins), last, lo;
  if (o == JITBC_FORI) last = t - 1, lo = JITBC_FORL;
  else if (o == JITBC_JMP || o == JITBC_ISNEXT) {
    int call;
    if (t <= i || t + 1 >= p->ncode) return -1;
    call = jitbc_op(p->code[t]);
    if (call != (o == JITBC_JMP ? JITBC_ITERC : JITBC_ITERN)) return -1;
    if (jitbc_a(p->code[t]) != jitbc_a(ins) || jitbc_a(ins) < 3) return -1;
    last = t + 1, lo = JITBC_ITERL;
  }
  else return -1;
  if (last <= i || last >= p->ncode) return -1;
  ins = p->code[last];
  if (jitbc_op(ins) != lo || last + 1 + jitbc_j(ins) != i + 1 ||
      jitbc_a(ins) != jitbc_a(p->code[i]) || jitbc_a(ins) + 4 >= JITBC_MAXSLOTS)
    return -1;
  return last;
}


/* {======================================================
** while and repeat loops
** ======================================================= */

/* Is 'o' a comparison that the IR's exit test can hold? */
static int iscompare (int o) {
  return o >= JITBC_ISLT && o <= JITBC_ISNEP;
}


/* Is the instruction at 'i' a load that a condition's operand may come
   from (a constant or an upvalue into a slot)? */
static int isload (const jitbc_Proto *p, int i) {
  switch (jitbc_op(p->code[i])) {
    case JITBC_KSTR: case JITBC_KSHORT: case JITBC_KNUM: case JITBC_KPRI:
    case JITBC_UGET:
      return 1;
    default:
      return 0;
  }
}


/* Is the instruction at 'i' one that a while test's operand may be
   computed with (`while i < n * 2`): a load, a move or arithmetic into a
   slot? */
static int istestop (const jitbc_Proto *p, int i) {
  int o = jitbc_op(p->code[i]);
  return isload(p, i) || o == JITBC_MOV || o == JITBC_UNM ||
         (o >= JITBC_ADDVN && o <= JITBC_POW);
}


/*
** Slot r as the comparison at 'cmp' reads it: the constant or upvalue that
** a load among the instructions [from, cmp) put there last, or r (also
** when another instruction wrote it last: the test's ops compute it).  0
** when that load's operand is not one the IR takes.
*/
static int condslot (Lower *lw, int from, int cmp, int r, ir_Arg *out) {
  const jitbc_Proto *p = lw->p;
  int i;
  for (i = cmp - 1; i >= from; i--) {
    jitbc_Ins ins = p->code[i];
    int d = jitbc_d(ins);
    if (jitbc_a(ins) != r) continue;
    if (!isload(p, i)) break;
    switch (jitbc_op(ins)) {
      case JITBC_KSTR: return kstr(lw, d, out);
      case JITBC_KSHORT: *out = kflt(lw, (double)(int16_t)d); return 1;
      case JITBC_KNUM: return knum(lw, d, out);
      case JITBC_KPRI:
        if (d > JITBC_PRI_TRUE) return 0;
        *out = kpri(lw, d);
        return 1;
      default:  /* UGET */
        if (d >= lw->p->nuv) return 0;
        *out = FINDJIT_UPSLOT + d;
        return 1;
    }
  }
  if (r >= JITBC_MAXSLOTS) return 0;
  *out = r;
  return 1;
}


/*
** The exit test of the comparison at 'cmp' (its JMP follows), whose
** operands may come from the loads [from, cmp).  The VM takes the JMP
** when the comparison holds (ISLT: A < D, ISGE: not A < D, ...), which
** leaves a while loop and goes round a repeat loop.  0 when an operand
** is not one the IR takes.
*/
static int condof (Lower *lw, int from, int cmp, int repeat, ir_Cond *cd) {
  jitbc_Ins ins = lw->p->code[cmp];
  int o = jitbc_op(ins), d = jitbc_d(ins), jump;
  if (!condslot(lw, from, cmp, jitbc_a(ins), &cd->x)) return 0;
  switch (o) {
    case JITBC_ISLT: case JITBC_ISGE: case JITBC_ISLE: case JITBC_ISGT:
      cd->cmp = o <= JITBC_ISGE ? IR_LT : IR_LE;
      jump = (o == JITBC_ISLT || o == JITBC_ISLE);
      if (!condslot(lw, from, cmp, d, &cd->y)) return 0;
      break;
    case JITBC_ISEQV: case JITBC_ISNEV:
      cd->cmp = IR_EQ;
      jump = (o == JITBC_ISEQV);
      if (!condslot(lw, from, cmp, d, &cd->y)) return 0;
      break;
    case JITBC_ISEQS: case JITBC_ISNES:
      cd->cmp = IR_EQ;
      jump = (o == JITBC_ISEQS);
      if (!kstr(lw, d, &cd->y)) return 0;
      break;
    case JITBC_ISEQN: case JITBC_ISNEN:
      cd->cmp = IR_EQ;
      jump = (o == JITBC_ISEQN);
      if (!knum(lw, d, &cd->y)) return 0;
      break;
    default:  /* ISEQP, ISNEP */
      cd->cmp = IR_EQ;
      jump = (o == JITBC_ISEQP);
      if (d > JITBC_PRI_TRUE) return 0;
      cd->y = kpri(lw, d);
      break;
  }
  cd->exit = repeat ? !jump : jump;
  return 1;
}


/*
** If code[i] is the LOOP of a while or repeat loop, the index of the
** loop's jump back, else -1.  lj_parse.c (parse_while, parse_repeat)
** compiles
**   while c do b end     as   start: [loads] cmp; JMP exit; LOOP ->exit;
**                                    b; JMP start; exit:
**   repeat b until c     as   start: LOOP ->exit; b; [loads] cmp;
**                                    JMP start; exit:
** with LOOP's A the number of active locals, [loads] fetching a constant
** or upvalue operand into a free slot; `while true` is LOOP; b; JMP
** start, and `until true` has no jump back (no loop).
*/
static int whileend (const jitbc_Proto *p, int i) {
  jitbc_Ins ins = p->code[i];
  int exit = i + 1 + jitbc_j(ins), t;
  if (jitbc_op(ins) != JITBC_LOOP || exit <= i + 1 || exit > p->ncode)
    return -1;
  ins = p->code[exit - 1];
  t = exit + jitbc_j(ins);
  if (jitbc_op(ins) != JITBC_JMP || t > i || t < 0) return -1;
  return exit - 1;
}


/*
** Takes the while or repeat loop of the LOOP at 'at' whose jump back is
** at 'last'.  Everything but one comparison of slots, constants and
** upvalues as the test is refused (several tests, `while true`, a
** condition on a call or an expression).
*/
static void takewhile (Lower *lw, findjit_Loop *lp, int at, int last) {
  jitbc_Proto *p = lw->p;
  int start = last + 1 + jitbc_j(p->code[last]), cmp, first, end, from, i;
  int pre = 0;
  memset(lp, 0, sizeof(*lp));
  lw->lp = lp;
  lp->head = start;
  lp->last = last;
  lp->base = jitbc_a(p->code[at]);
  lp->line = lineof(lw, start);
  lp->liveout = (unsigned char *)jitbc_alloc(lw->c, FINDJIT_NSLOTS);
  memset(lp->liveout, 0, FINDJIT_NSLOTS);
  lp->lowered = 1;
  lp->ir.index = -1;
  if (start == at) {  /* repeat: the test is the body's end */
    lp->kind = IR_REPEAT;
    cmp = last - 1;
    first = at + 1;
    end = cmp;
    if (cmp <= at || jitbc_op(p->code[cmp]) > JITBC_ISF) {
      lp->kind = IR_WHILE;  /* `while true` (or `until false`) */
      refuse(lp, lp->line, cpm_reason(CPM_R_WHILE_NOCOND));
    }
    else {
      lp->line = lineof(lw, cmp);
      if (!iscompare(jitbc_op(p->code[cmp])))
        refuse(lp, lp->line, cpm_reason(CPM_R_WHILE_COND));
    }
    /* the loads of its operands run on every pass: they are the body's */
    for (from = cmp; lp->lowered && from > first && from > cmp - 2 &&
                     isload(p, from - 1); from--)
      ;
  }
  else {
    lp->kind = IR_WHILE;
    cmp = at - 2;
    first = at + 1;
    end = last;
    from = start;
    if (cmp < start || jitbc_op(p->code[at - 1]) != JITBC_JMP ||
        at + jitbc_j(p->code[at - 1]) != last + 1 ||
        jitbc_op(p->code[cmp]) > JITBC_ISF)
      refuse(lp, lp->line, cpm_reason(CPM_R_WHILE_NOCOND));
    else if (!iscompare(jitbc_op(p->code[cmp])) || cmp - start > FINDJIT_MAXTESTOPS)
      refuse(lp, lp->line, cpm_reason(CPM_R_WHILE_COND));
    /* its loads and arithmetic run once more at the exit: into free slots
       only */
    for (i = start; lp->lowered && i < cmp; i++) {
      if (!istestop(p, i) || jitbc_a(p->code[i]) < lp->base)
        refuse(lp, lp->line, cpm_reason(CPM_R_WHILE_COND));
      if (!isload(p, i)) pre = 1;
    }
  }
  if (lp->lowered && end - first > IR_MAXBODY)
    refuse(lp, lp->line, cpm_reason(CPM_R_TOO_LARGE));
  if (lp->lowered &&
      !condof(lw, from, cmp, lp->kind == IR_REPEAT, &lp->ir.cond))
    refuse(lp, lp->line, cpm_reason(CPM_R_WHILE_COND));
  /* a while's test that computes an operand (`i < n * 2`): its ops are
     the body's first (ir.h, ir_Cond.pre) */
  if (lp->lowered && pre && lower(lw, start, cmp))
    lp->ir.cond.pre = lp->nops;
  if (lp->lowered) {
    lw->backto = lp->kind == IR_WHILE ? start : -1;
    lower(lw, first, end);
    lw->backto = -1;
  }
  if (lp->lowered)  /* for the planner's reasons */
    lp->ir.names = namesjit_ops(lw->c, p, lp, lw->irat, first, end);
  lp->ir.kind = lp->kind;
  lp->ir.line = lp->line;
  lp->ir.nslots = FINDJIT_NSLOTS;
  lp->ir.ops = lp->ops;
  lp->ir.nops = lp->nops;
  lp->ir.k = lp->k;
  lp->ir.nk = lp->nk;
  lp->ir.liveout = lp->liveout;
  lp->ir.escapes = lw->escapes;
}

/* }====================================================== */


int findjit_loops (jitbc_Chunk *c, jitbc_Proto *p, findjit_Loop **loops) {
  Lower lw;
  int i, n = 0;
  findjit_Loop *all;
  for (i = 0; i < p->ncode; i++) n += loopend(p, i) >= 0 || whileend(p, i) >= 0;
  *loops = NULL;
  if (n == 0) return 0;
  lw.c = c;
  lw.p = p;
  lw.escapes = escaping(c, p);
  lw.backto = -1;
  all = (findjit_Loop *)jitbc_alloc(c, sizeof(findjit_Loop) * (size_t)n);
  n = 0;
  for (i = 0; i < p->ncode; i++) {
    int last = loopend(p, i);
    if (last >= 0) takeloop(&lw, &all[n++], i, last);
    else if ((last = whileend(p, i)) >= 0) takewhile(&lw, &all[n++], i, last);
  }
  {  /* by head, where the guard call goes (a while's head comes before its
        LOOP): insertion sort, loops are few */
    int j;
    for (i = 1; i < n; i++) {
      findjit_Loop t = all[i];
      for (j = i; j > 0 && all[j - 1].head > t.head; j--) all[j] = all[j - 1];
      all[j] = t;
    }
  }
  *loops = all;
  return n;
}

#endif
