/*
** bc_edit.c -- edits of a chunk tree that keep it loadable: line
** information decoded to one absolute line per instruction and encoded
** back with lcode.c's rule, insertion of instructions with relocation of
** jumps and variable scopes, new constants, upvalues and stack size.
*/
#include "bc.h"

#if CPM_LUA54

#include <string.h>


/* {======================================================
** Line information
** ======================================================= */

int bc_getlines (lua_State *L, const bc_Proto *p, int *lines) {
  int pc, ai = 0;
  long long line = p->linedefined;
  if (p->nlineinfo == 0)
    return 0;
  if (p->nlineinfo != p->ncode)
    bc_error(L, "cpm: bad line information (%d entries for %d "
                  "instructions)", p->nlineinfo, p->ncode);
  for (pc = 0; pc < p->ncode; pc++) {
    if (p->lineinfo[pc] == BC_ABSLINE) {
      if (ai >= p->nabsline || p->absline[ai].pc != pc)
        bc_error(L, "cpm: bad line information (no absolute line at %d)",
                   pc);
      line = p->absline[ai++].line;
    }
    else
      line += p->lineinfo[pc];
    if (line < 0 || line > INT_MAX)
      bc_error(L, "cpm: bad line information (line out of range)");
    lines[pc] = (int)line;
  }
  if (ai != p->nabsline)
    bc_error(L, "cpm: bad line information (unused absolute lines)");
  return 1;
}


/*
** An absolute entry when the difference does not fit a signed byte (or
** would read as BC_ABSLINE), and after BC_MAXIWTHABS relative entries in
** a row: ldebug.c finds the base of a pc with the estimate
** abslineinfo[pc / BC_MAXIWTHABS - 1], which must not be past it.
*/
#define needsabs(dif, iwthabs) \
  ((dif) >= BC_LIMLINEDIFF || (dif) <= -BC_LIMLINEDIFF || \
   (iwthabs) >= BC_MAXIWTHABS)

void bc_setlines (lua_State *L, bc_Chunk *c, bc_Proto *p,
                  const int *lines) {
  int pc, nabs = 0, iwthabs = 0;
  long long prev = p->linedefined;
  for (pc = 0; pc < p->ncode; pc++) {  /* count, to allocate first */
    long long dif = lines[pc] - prev;
    if (needsabs(dif, iwthabs++)) {
      nabs++;
      iwthabs = 1;
    }
    prev = lines[pc];
  }
  bc_growvec(L, c, p, lineinfo, p->ncode);
  bc_growvec(L, c, p, absline, nabs);
  prev = p->linedefined;
  iwthabs = 0;
  nabs = 0;
  for (pc = 0; pc < p->ncode; pc++) {
    long long dif = lines[pc] - prev;
    if (needsabs(dif, iwthabs++)) {
      p->absline[nabs].pc = pc;
      p->absline[nabs++].line = lines[pc];
      dif = BC_ABSLINE;
      iwthabs = 1;
    }
    p->lineinfo[pc] = (signed char)dif;
    prev = lines[pc];
  }
  p->nlineinfo = p->ncode;
  p->nabsline = nabs;
}

/* }====================================================== */


/* {======================================================
** Insertion
** ======================================================= */

/* Where a label (jump target, scope bound) at 'pc' of the old code goes. */
static int relabel (int t, int pc, int n, int land) {
  if (t > pc || (t == pc && land == BC_LANDAFTER))
    return t + n;
  return t;
}


/*
** Stores in *field the jump field that makes instruction 'i' at 'q' reach
** 't'; returns 0 when it does not fit.
*/
static int jumpfield (bc_Instr i, int q, int t, int *field) {
  long long f;
  switch (BC_GET_OPCODE(i)) {
    case BC_OP_JMP:
      f = (long long)t - q - 1;
      *field = (int)f;
      return f >= -BC_OFFSET_sJ && f <= BC_MAXARG_sJ - BC_OFFSET_sJ;
    case BC_OP_FORPREP: f = (long long)t - q - 2; break;
    case BC_OP_TFORPREP: f = (long long)t - q - 1; break;
    default: f = (long long)q + 1 - t; break;  /* backward loops */
  }
  *field = (int)f;
  return f >= 0 && f <= BC_MAXARG_Bx;
}


/*
** Where the jump 'i' of the old code lands after the insertion.  The VM
** runs the target of TFORPREP as its TFORCALL without dispatching it, so
** that target always stays on the TFORCALL, whatever 'land' says.
*/
static int newtarget (bc_Instr i, int q, int pc, int n, int land) {
  if (BC_GET_OPCODE(i) == BC_OP_TFORPREP)
    land = BC_LANDAFTER;
  return relabel(bc_jumptarget(i, q), pc, n, land);
}


static int isjump (bc_Instr i) {
  const bc_OpInfo *op = &bc_opinfo[BC_GET_OPCODE(i)];
  return op->name != NULL && (op->flags & BC_FJUMP);
}


/* Does the instruction at 'pc - 1' need to stay next to the one at pc? */
static int paired (const bc_Proto *p, int pc) {
  bc_Instr i;
  const bc_OpInfo *op;
  if (pc == 0 || pc > p->ncode)
    return 0;
  i = p->code[pc - 1];
  op = &bc_opinfo[BC_GET_OPCODE(i)];
  if (op->name == NULL)
    return 0;
  if (BC_GET_OPCODE(i) == BC_OP_SETLIST)
    return BC_GETARG_k(i);
  return (op->flags & (BC_FMM | BC_FSKIP | BC_FEXTRA | BC_FPAIR)) != 0;
}


const char *bc_caninsert (const bc_Proto *p, int pc, int n, int land) {
  int q;
  if (pc < 0 || pc > p->ncode)
    return "pc out of range";
  if (n < 0 || n > INT32_MAX / 4 - p->ncode)
    return "bad instruction count";
  if (paired(p, pc))
    return "pc splits an instruction from the one that completes it";
  /* before VARARGPREP the frame is not set up yet (and hooks not on) */
  if (pc == 0 && p->ncode > 0 && BC_GET_OPCODE(p->code[0]) == BC_OP_VARARGPREP)
    return "pc precedes VARARGPREP";
  for (q = 0; q < p->ncode; q++) {
    bc_Instr i = p->code[q];
    int field;
    if (isjump(i)) {
      int t = newtarget(i, q, pc, n, land);
      if (!jumpfield(i, q >= pc ? q + n : q, t, &field))
        return "a relocated jump does not fit";
    }
  }
  return NULL;
}


void bc_insert (lua_State *L, bc_Chunk *c, bc_Proto *p, int pc,
                const bc_Instr *ins, int n, int line, int land) {
  const char *why = bc_caninsert(p, pc, n, land);
  int *lines = NULL;
  int q, old = p->ncode;
  if (why != NULL)
    bc_error(L, "cpm: cannot insert (%s)", why);
  if (p->nlineinfo > 0) {
    lines = (int *)bc_alloc(L, c, sizeof(int) * ((size_t)old + n + 1));
    bc_getlines(L, p, lines);
  }
  /* allocate everything before the first change */
  bc_growvec(L, c, p, code, old + n);
  if (lines != NULL) {
    bc_growvec(L, c, p, lineinfo, old + n);
    bc_growvec(L, c, p, absline, old + n);
  }
  for (q = 0; q < old; q++) {
    bc_Instr *i = &p->code[q];
    int field;
    if (isjump(*i)) {
      int t = newtarget(*i, q, pc, n, land);
      jumpfield(*i, q >= pc ? q + n : q, t, &field);
      if (BC_GET_OPCODE(*i) == BC_OP_JMP)
        BC_SETARG_sJ(*i, field);
      else
        BC_SETARG_Bx(*i, field);
    }
  }
  memmove(p->code + pc + n, p->code + pc, sizeof(bc_Instr) * (size_t)(old - pc));
  memcpy(p->code + pc, ins, sizeof(bc_Instr) * (size_t)n);
  p->ncode = old + n;
  for (q = 0; q < p->nlocvar; q++) {
    p->locvar[q].startpc = relabel(p->locvar[q].startpc, pc, n, land);
    p->locvar[q].endpc = relabel(p->locvar[q].endpc, pc, n, land);
  }
  if (lines != NULL) {
    memmove(lines + pc + n, lines + pc, sizeof(int) * (size_t)(old - pc));
    for (q = 0; q < n; q++)
      lines[pc + q] = line;
    bc_setlines(L, c, p, lines);
    bc_free(c, lines);
  }
}

/* }====================================================== */


/* {======================================================
** Constants, upvalues, stack
** ======================================================= */

static int sameconst (const bc_Const *a, const bc_Const *b) {
  if (a->tag != b->tag)
    return 0;
  switch (a->tag) {
    case BC_VNUMINT: return a->u.i == b->u.i;
    case BC_VNUMFLT: return memcmp(&a->u.n, &b->u.n, sizeof(a->u.n)) == 0;
    case BC_VSHRSTR: case BC_VLNGSTR:
      return a->u.s.len == b->u.s.len &&
             memcmp(a->u.s.s, b->u.s.s, a->u.s.len) == 0;
    default: return 1;
  }
}


int bc_addconst (lua_State *L, bc_Chunk *c, bc_Proto *p, const bc_Const *k) {
  bc_Const nk = *k;
  int i;
  switch (nk.tag) {
    case BC_VNIL: case BC_VFALSE: case BC_VTRUE:
    case BC_VNUMINT: case BC_VNUMFLT:
      break;
    case BC_VSHRSTR: case BC_VLNGSTR:  /* Lua decides by the length */
      if (nk.u.s.s == NULL)
        bc_error(L, "cpm: absent string constant");
      nk.tag = nk.u.s.len <= BC_MAXSHORTLEN ? BC_VSHRSTR : BC_VLNGSTR;
      break;
    default:
      bc_error(L, "cpm: bad constant type %d", nk.tag);
  }
  for (i = 0; i < p->nk; i++)
    if (sameconst(&p->k[i], &nk))
      return i;
  if (p->nk >= BC_MAXARG_Ax)
    bc_error(L, "cpm: too many constants");
  if (nk.tag == BC_VSHRSTR || nk.tag == BC_VLNGSTR) {
    char *s = (char *)bc_alloc(L, c, nk.u.s.len + 1);
    memcpy(s, k->u.s.s, nk.u.s.len);
    s[nk.u.s.len] = '\0';
    nk.u.s.s = s;
  }
  bc_growvec(L, c, p, k, p->nk + 1);
  p->k[p->nk] = nk;
  return p->nk++;
}


int bc_addupval (lua_State *L, bc_Chunk *c, bc_Proto *p, int instack,
                 int idx, int kind, const char *name, size_t namelen) {
  bc_Upval *u;
  if (p->nup >= BC_MAXUPVAL)
    bc_error(L, "cpm: too many upvalues");
  if (instack < 0 || instack > 1 || idx < 0 || idx > 255 || kind < 0 ||
      kind > 255)
    bc_error(L, "cpm: bad upvalue description");
  bc_growvec(L, c, p, up, p->nup + 1);
  u = &p->up[p->nup];
  u->instack = (unsigned char)instack;
  u->idx = (unsigned char)idx;
  u->kind = (unsigned char)kind;
  u->name.s = NULL;
  u->name.len = 0;
  if (p->nup == 0 && p->nlineinfo > 0)  /* not stripped: names wanted */
    p->upnames = 1;
  if (name != NULL && p->upnames) {
    u->name.s = (char *)bc_alloc(L, c, namelen + 1);
    memcpy(u->name.s, name, namelen);
    u->name.s[namelen] = '\0';
    u->name.len = namelen;
  }
  if (p == c->main)  /* the closure lua_load makes has this many */
    c->nupvalues = p->nup + 1;
  return p->nup++;
}


void bc_needstack (lua_State *L, bc_Proto *p, int size) {
  if (size > BC_MAXSTACK)
    bc_error(L, "cpm: function needs too many registers");
  if (size > p->maxstacksize)
    p->maxstacksize = (unsigned char)size;
}

/* }====================================================== */

#endif
