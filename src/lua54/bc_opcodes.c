/*
** bc_opcodes.c -- the tables generated from BC_OPCODES (bc_opcodes.h) and
** the expansion of an instruction's register sets into spans.
*/
#include "bc.h"

#if CPM_LUA54

#define BC_OPROW(name, fmt, a, b, c, rd, wr, fl) \
  [BC_OP_##name] = { #name, bc_##fmt, BC_ARG_##a, BC_ARG_##b, BC_ARG_##c, \
                     BC_RS_##rd, BC_RS_##wr, (fl) },

const bc_OpInfo bc_opinfo[128] = {
  BC_OPCODES(BC_OPROW)
};

#undef BC_OPROW


static void span (bc_RegSpan *s, int *n, int first, int last, int totop) {
  if (totop || last >= first) {
    s[*n].first = first;
    s[*n].last = totop ? -1 : last;
    s[*n].totop = totop;
    (*n)++;
  }
}


/* Appends the spans of register set 'rs' of instruction 'i' to s[*n..]. */
static void expand (bc_Instr i, int rs, bc_RegSpan *s, int *n) {
  int a = BC_GETARG_A(i), b = BC_GETARG_B(i), c = BC_GETARG_C(i);
  int kc = !BC_GETARG_k(i);  /* is C a register? */
  switch (rs) {
    case BC_RS__: break;
    case BC_RS_A: span(s, n, a, a, 0); break;
    case BC_RS_B: span(s, n, b, b, 0); break;
    case BC_RS_AB: span(s, n, a, a, 0); span(s, n, b, b, 0); break;
    case BC_RS_BC: span(s, n, b, b, 0); span(s, n, c, c, 0); break;
    case BC_RS_BKC:
      span(s, n, b, b, 0);
      if (kc) span(s, n, c, c, 0);
      break;
    case BC_RS_AKC:
      span(s, n, a, a, 0);
      if (kc) span(s, n, c, c, 0);
      break;
    case BC_RS_ABKC:
      span(s, n, a, a, 0); span(s, n, b, b, 0);
      if (kc) span(s, n, c, c, 0);
      break;
    case BC_RS_KC: if (kc) span(s, n, c, c, 0); break;
    case BC_RS_A1: span(s, n, a, a + 1, 0); break;
    case BC_RS_A2: span(s, n, a, a + 2, 0); break;
    case BC_RS_A3: span(s, n, a, a + 3, 0); break;
    case BC_RS_A_B: span(s, n, a, a + b, 0); break;
    case BC_RS_A_B0: span(s, n, a, a + b, b == 0); break;
    case BC_RS_A_B1: span(s, n, a, a + b - 1, b == 0); break;
    case BC_RS_A_B2: span(s, n, a, a + b - 2, b == 0); break;
    case BC_RS_A_C2: span(s, n, a, a + c - 2, c == 0); break;
    case BC_RS_A4_C: span(s, n, a + 4, a + 3 + c, 0); break;
    case BC_RS_A2_: span(s, n, a + 2, a + 2, 0); break;
    case BC_RS_A3_: span(s, n, a + 3, a + 3, 0); break;
    case BC_RS_A4_: span(s, n, a + 4, a + 4, 0); break;
  }
}


void bc_opregs (bc_Instr i, bc_RegSpan rd[3], int *nrd,
                bc_RegSpan wr[1], int *nwr) {
  const bc_OpInfo *op = &bc_opinfo[BC_GET_OPCODE(i)];
  *nrd = *nwr = 0;
  if (op->name == NULL)
    return;
  expand(i, op->rd, rd, nrd);
  expand(i, op->wr, wr, nwr);
}


int bc_lastA (const bc_Instr *code, int from, int to, int r) {
  int pc;
  for (pc = to - 1; pc >= from; pc--) {
    int o = BC_GET_OPCODE(code[pc]);
    if (BC_GETARG_A(code[pc]) == r && o != BC_OP_MMBIN && o != BC_OP_MMBINI &&
        o != BC_OP_MMBINK)
      return pc;
  }
  return -1;
}


int bc_lastwriter (const bc_Instr *code, int from, int to, int r) {
  int pc;
  for (pc = to - 1; pc >= from; pc--) {
    bc_RegSpan rd[3], wr[1];
    int nrd, nwr;
    bc_opregs(code[pc], rd, &nrd, wr, &nwr);
    if (nwr > 0 && wr[0].first <= r && (wr[0].totop || r <= wr[0].last))
      return pc;
  }
  return -1;
}


int bc_jumptarget (bc_Instr i, int pc) {
  switch (BC_GET_OPCODE(i)) {
    case BC_OP_JMP: return pc + 1 + BC_GETARG_sJ(i);
    case BC_OP_FORPREP: return pc + 2 + BC_GETARG_Bx(i);
    case BC_OP_TFORPREP: return pc + 1 + BC_GETARG_Bx(i);
    case BC_OP_FORLOOP: case BC_OP_TFORLOOP: return pc + 1 - BC_GETARG_Bx(i);
    default: return pc + 1;
  }
}

#endif
