/*
** bc_check.c -- refuses a chunk tree whose instructions name anything
** outside the sizes the chunk itself gives.
**
** Lua's own loader (lundump.c) checks the chunk's layout but not its code
** (luai_verifycode is empty), so a crafted chunk can reach cpm with jump
** offsets past the end of the code, constant, upvalue or prototype indices
** past their tables, registers past the frame, or a header that gives the
** main closure another number of upvalues than its prototype declares.
** Every later pass (find54.c, rewrite54.c, bc_edit.c, optimize54.c) trusts
** what is checked here, so the checks cover everything they index with:
**
**   - every field of every instruction by its mode in bc_opinfo (register,
**     constant, upvalue, prototype, jump), registers of the spans an
**     instruction reads and writes against maxstacksize;
**   - the instructions that must come in pairs (an arithmetic and its
**     MMBIN, LOADKX/NEWTABLE/SETLIST and EXTRAARG, a test and the next
**     instruction, TFORCALL and TFORLOOP), every jump inside the code
**     (the loop finder checks that each loop's ends are the instructions
**     lparser.c's forbody emits);
**   - the upvalue descriptions of nested prototypes against the enclosing
**     frame and upvalue list, local variable scopes and line information
**     against the code size, the header's upvalue count against main's.
**
** What the Lua 5.4 compiler emits always passes (the corpus specs check
** it on every function of the repository, busted and penlight).
*/
#include "bc.h"

#if CPM_LUA54

#include <string.h>

typedef struct Check {
  lua_State *L;
  bc_Chunk *c;
} Check;


/* Raises "cpm: bad binary format (function at line L, pc N: why)". */
static void refuse (Check *ck, const bc_Proto *p, int pc, const char *why) {
  if (pc >= 0)
    bc_error(ck->L, "cpm: bad binary format (function at line %d, pc %d: %s)",
             p->linedefined, pc + 1, why);
  bc_error(ck->L, "cpm: bad binary format (function at line %d: %s)",
           p->linedefined, why);
}


/* A field holding an index of the given mode, checked against p's sizes. */
static const char *checkarg (const bc_Proto *p, int mode, int v, int k) {
  switch (mode) {
    case BC_ARG_R:
      return v < p->maxstacksize ? NULL : "register out of the frame";
    case BC_ARG_RK:
      if (k) return v < p->nk ? NULL : "constant index out of range";
      return v < p->maxstacksize ? NULL : "register out of the frame";
    case BC_ARG_K:
      return v < p->nk ? NULL : "constant index out of range";
    case BC_ARG_U:
      return v < p->nup ? NULL : "upvalue index out of range";
    case BC_ARG_P:
      return v < p->np ? NULL : "prototype index out of range";
    default:
      return NULL;
  }
}


static const char *checkfields (const bc_Proto *p, bc_Instr i) {
  const bc_OpInfo *op = &bc_opinfo[BC_GET_OPCODE(i)];
  const char *why = NULL;
  int k = BC_GETARG_k(i);
  switch (op->fmt) {
    case bc_iABC:  /* RETURN's A may be the frame size: its span checks it */
      if (BC_GET_OPCODE(i) == BC_OP_RETURN) break;
      if ((why = checkarg(p, op->a, BC_GETARG_A(i), 0)) == NULL &&
          (why = checkarg(p, op->b, BC_GETARG_B(i), 0)) == NULL)
        why = checkarg(p, op->c, BC_GETARG_C(i), k);
      break;
    case bc_iABx: case bc_iAsBx:
      if ((why = checkarg(p, op->a, BC_GETARG_A(i), 0)) == NULL)
        why = checkarg(p, op->c, BC_GETARG_Bx(i), 0);
      break;
    default:  /* iAx (EXTRAARG: checked with its owner), isJ (jumps) */
      break;
  }
  return why;
}


/* Every register span the instruction reads or writes inside the frame. */
static const char *checkspans (const bc_Proto *p, bc_Instr i) {
  bc_RegSpan rd[3], wr[1];
  int nrd, nwr, j;
  bc_opregs(i, rd, &nrd, wr, &nwr);
  for (j = 0; j < nrd + nwr; j++) {
    const bc_RegSpan *s = j < nrd ? &rd[j] : &wr[j - nrd];
    if (s->totop ? s->first > p->maxstacksize
                 : s->last >= p->maxstacksize)
      return "register out of the frame";
  }
  return NULL;
}


static int opat (const bc_Proto *p, int pc) {
  return pc >= 0 && pc < p->ncode ? BC_GET_OPCODE(p->code[pc]) : -1;
}


/* The instruction that must follow the one at 'pc', and the loop ends. */
static const char *checkflow (const bc_Proto *p, int pc) {
  bc_Instr i = p->code[pc];
  int o = BC_GET_OPCODE(i), next = opat(p, pc + 1), t;
  const bc_OpInfo *op = &bc_opinfo[o];
  if (op->flags & BC_FMM) {
    /* (or a JMP: the VM falls through to it when an operand is not a
       number, as in cpm's own distance check, rewrite54.c) */
    if (next != BC_OP_MMBIN && next != BC_OP_MMBINI && next != BC_OP_MMBINK &&
        next != BC_OP_JMP)
      return "arithmetic without its metamethod instruction";
  }
  if ((op->flags & BC_FEXTRA) && (o != BC_OP_SETLIST || BC_GETARG_k(i))) {
    if (next != BC_OP_EXTRAARG)
      return "missing EXTRAARG";
    if (o == BC_OP_LOADKX && BC_GETARG_Ax(p->code[pc + 1]) >= p->nk)
      return "constant index out of range";
  }
  if ((op->flags & (BC_FSKIP | BC_FPAIR)) && next < 0)
    return "test or pair at the end of the code";
  switch (o) {
    case BC_OP_JMP:
      t = bc_jumptarget(i, pc);
      return t >= 0 && t < p->ncode ? NULL : "jump out of the code";
    case BC_OP_FORPREP:  /* the exit, after a closing instruction */
      t = bc_jumptarget(i, pc);
      return t >= pc + 2 && t <= p->ncode ? NULL : "loop exit out of the code";
    case BC_OP_TFORPREP:  /* the call, then a closing instruction */
      t = bc_jumptarget(i, pc);
      return t > pc && t + 1 < p->ncode ? NULL : "loop call out of the code";
    case BC_OP_TFORCALL:
      return next == BC_OP_TFORLOOP ? NULL : "TFORCALL without its TFORLOOP";
    case BC_OP_FORLOOP: case BC_OP_TFORLOOP:  /* back into the code */
      t = bc_jumptarget(i, pc);
      return t >= 0 && t <= pc ? NULL : "loop jumps out of the code";
    default:
      return NULL;
  }
}


static void checkcode (Check *ck, const bc_Proto *p) {
  int pc;
  for (pc = 0; pc < p->ncode; pc++) {
    bc_Instr i = p->code[pc];
    const char *why;
    if (bc_opinfo[BC_GET_OPCODE(i)].name == NULL)
      why = "unknown opcode";
    else if ((why = checkfields(p, i)) == NULL &&
             (why = checkspans(p, i)) == NULL)
      why = checkflow(p, pc);
    if (why != NULL)
      refuse(ck, p, pc, why);
  }
}


/* Sizes, nested upvalue descriptions, scopes and lines of 'p'. */
static void checkproto (Check *ck, const bc_Proto *p) {
  int i;
  if (p->nup > BC_MAXUPVAL)
    refuse(ck, p, -1, "too many upvalues");
  if (p->numparams > p->maxstacksize)
    refuse(ck, p, -1, "more parameters than registers");
  for (i = 0; i < p->np; i++) {
    const bc_Proto *q = p->p[i];
    int j;
    for (j = 0; j < q->nup; j++) {
      const bc_Upval *u = &q->up[j];
      if (u->instack > 1 ||
          (u->instack ? u->idx >= p->maxstacksize : u->idx >= p->nup))
        refuse(ck, q, -1, "upvalue description out of the enclosing function");
    }
  }
  for (i = 0; i < p->nlocvar; i++) {
    const bc_LocVar *v = &p->locvar[i];
    if (v->startpc < 0 || v->endpc < 0 || v->startpc > p->ncode ||
        v->endpc > p->ncode)
      refuse(ck, p, -1, "local variable scope out of the code");
  }
  if (p->nlineinfo > 0) {  /* bc_getlines raises on any inconsistency */
    int *lines = (int *)bc_alloc(ck->L, ck->c,
                                 sizeof(int) * ((size_t)p->ncode + 1));
    bc_getlines(ck->L, p, lines);
    bc_free(ck->c, lines);
  }
  else if (p->nabsline > 0)
    refuse(ck, p, -1, "absolute lines without line information");
  checkcode(ck, p);
}


static int visit (bc_Proto *p, const int *path, int depth, void *ud) {
  (void)path; (void)depth;
  checkproto((Check *)ud, p);
  return 0;
}


void bc_check (lua_State *L, bc_Chunk *c) {
  Check ck;
  ck.L = L;
  ck.c = c;
  if (c->main == NULL)
    return;
  if (c->nupvalues != c->main->nup)
    bc_error(L, "cpm: bad binary format (the main function has %d upvalues, "
                "the header gives its closure %d)", c->main->nup,
             c->nupvalues);
  bc_foreach(c, visit, &ck);
}

#endif
