/*
** ir_text.c -- an IR op or operand as the source text it came from
** ("a * b", "t.x", "m"), for reasons and for what a plan depends on.
**
** Names come from the front end (ir_Loop.names: the debug info's local
** and upvalue names, or the source's); a temporary is written as the op
** that computed it, in parentheses.  When some part has no name (stripped
** debug info, a temporary computed across a branch, a constant that has
** no short literal) the text is unknown and the caller leaves it out.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir.h"

#define MAXDEPTH	3	/* temporaries expanded inside one text */
#define MAXSTR		24	/* longest string constant written out */
#define MAXNAME		40	/* longest variable name written out */


typedef struct Buf {
  char *s;
  size_t size, len;
  int ok;
} Buf;


static void putl (Buf *b, const char *s, size_t n) {
  if (!b->ok) return;
  if (b->len + n + 1 > b->size) { b->ok = 0; return; }
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}

static void put (Buf *b, const char *s) {
  putl(b, s, strlen(s));
}


int ir_isname (const char *s, size_t len) {
  size_t i;
  if (len == 0 || (s[0] >= '0' && s[0] <= '9')) return 0;
  for (i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_'))
      return 0;
  }
  return 1;
}


/* A constant as Lua writes its literal (the VM's number formatting). */
static void consttext (Buf *b, const ir_Const *k) {
  char tmp[64];
  switch (k->type) {
    case IR_KNIL: put(b, "nil"); return;
    case IR_KTRUE: put(b, "true"); return;
    case IR_KFALSE: put(b, "false"); return;
    case IR_KINT:
      snprintf(tmp, sizeof(tmp), "%lld", (long long)k->u.i);
      put(b, tmp);
      return;
    case IR_KFLT: {
      double n = (double)k->u.n;
      if (n != n) { b->ok = 0; return; }
      if (isinf(n)) { put(b, n > 0 ? "math.huge" : "-math.huge"); return; }
      snprintf(tmp, sizeof(tmp), "%.14g", n);
#if CPM_LUA54
      if (strspn(tmp, "-0123456789") == strlen(tmp)) strcat(tmp, ".0");
#endif
      put(b, tmp);
      return;
    }
    case IR_KSTR: {
      size_t i;
      if (k->u.s.len > MAXSTR) { b->ok = 0; return; }
      for (i = 0; i < k->u.s.len; i++) {
        unsigned char c = (unsigned char)k->u.s.s[i];
        if (c < 32 || c > 126 || c == '"' || c == '\\') { b->ok = 0; return; }
      }
      put(b, "\"");
      putl(b, k->u.s.s, k->u.s.len);
      put(b, "\"");
      return;
    }
  }
  b->ok = 0;
}


/* The name of op opi's slot a, b or c (which 0, 1, 2), when it is one a
   program can write (not "(for state)", nor a crafted chunk's bytes). */
static const char *nameat (const ir_Loop *ir, int opi, int which) {
  const char *s;
  size_t len;
  if (ir->names == NULL || opi < 0 || opi >= ir->nops) return NULL;
  s = ir->names[3 * opi + which];
  if (s == NULL) return NULL;
  len = strlen(s);
  return (len <= MAXNAME && ir_isname(s, len)) ? s : NULL;
}


static void optext (Buf *b, const ir_Loop *ir, int opi, int depth);

/* Operand x, read by op 'opi' as its b (which 1) or c (which 2). */
static void argtext (Buf *b, const ir_Loop *ir, int opi, int which,
                     ir_Arg x, int depth) {
  const char *name;
  int j;
  if (ir_isconst(x)) {
    if (ir_constidx(x) >= ir->nk) b->ok = 0;
    else consttext(b, &ir->k[ir_constidx(x)]);
    return;
  }
  name = nameat(ir, opi, which);
  if (name != NULL) { put(b, name); return; }
  /* a temporary: the op that wrote it, in straight-line code */
  for (j = opi - 1; j >= 0; j--) {
    const ir_Op *op = &ir->ops[j];
    if (op->code == IR_IF || op->code == IR_LOOP) break;
    if (op->a != x) continue;
    if (depth >= MAXDEPTH) break;
    if (op->code == IR_MOVE) argtext(b, ir, j, 1, op->b, depth + 1);
    else if (op->code == IR_ARITH) {
      put(b, "(");
      optext(b, ir, j, depth + 1);
      put(b, ")");
    }
    else optext(b, ir, j, depth + 1);
    return;
  }
  b->ok = 0;
}


static void optext (Buf *b, const ir_Loop *ir, int opi, int depth) {
  const ir_Op *op = &ir->ops[opi];
  switch (op->code) {
    case IR_ARITH:
      argtext(b, ir, opi, 1, op->b, depth);
      put(b, " ");
      put(b, ir_aopname(op->aop));
      put(b, " ");
      argtext(b, ir, opi, 2, op->c, depth);
      return;
    case IR_UNARY: {  /* "-(-a)", not "--a" (a comment) */
      size_t at;
      put(b, ir_aopname(op->aop));
      at = b->len;
      argtext(b, ir, opi, 1, op->b, depth);
      if (b->ok && (b->s[at] == '-' || b->s[at] == '~')) {
        char inner[96];
        size_t n = b->len - at;
        if (n >= sizeof(inner)) { b->ok = 0; return; }
        memcpy(inner, b->s + at, n + 1);
        b->len = at;
        put(b, "(");
        put(b, inner);
        put(b, ")");
      }
      return;
    }
    case IR_INDEX: {
      const char *tname = ir_isconst(op->b) ? NULL : nameat(ir, opi, 1);
      const ir_Const *k = ir_isconst(op->c) && ir_constidx(op->c) < ir->nk
                          ? &ir->k[ir_constidx(op->c)] : NULL;
      int field = k != NULL && k->type == IR_KSTR &&
                  ir_isname(k->u.s.s, k->u.s.len) && k->u.s.len <= MAXSTR;
      if (field && tname != NULL && strcmp(tname, "_ENV") == 0) {
        putl(b, k->u.s.s, k->u.s.len);  /* a global: its name */
        return;
      }
      argtext(b, ir, opi, 1, op->b, depth);
      if (field) {
        put(b, ".");
        putl(b, k->u.s.s, k->u.s.len);
      }
      else {
        put(b, "[");
        argtext(b, ir, opi, 2, op->c, depth);
        put(b, "]");
      }
      return;
    }
    case IR_MOVE:
      argtext(b, ir, opi, 1, op->b, depth);
      return;
    default:
      b->ok = 0;
  }
}


int ir_optext (const ir_Loop *ir, int opi, char *buf, size_t size) {
  Buf b;
  if (ir->names == NULL || opi < 0 || opi >= ir->nops || size == 0) return 0;
  b.s = buf; b.size = size; b.len = 0; b.ok = 1;
  buf[0] = '\0';
  optext(&b, ir, opi, 0);
  if (!b.ok) buf[0] = '\0';
  return b.ok;
}


const char *ir_slotname (const ir_Loop *ir, int slot) {
  int i, w;
  if (ir->names == NULL) return NULL;
  for (i = 0; i < ir->nops; i++) {
    const ir_Op *op = &ir->ops[i];
    if (op->code == IR_IF || op->code == IR_LOOP) continue;
    for (w = 0; w < 3; w++) {
      ir_Arg x = w == 0 ? op->a : w == 1 ? op->b : op->c;
      if (w == 2 && op->code != IR_ARITH && op->code != IR_INDEX) continue;
      if (x == slot && nameat(ir, i, w) != NULL) return nameat(ir, i, w);
    }
  }
  return NULL;
}


int ir_argtext (const ir_Loop *ir, ir_Arg x, char *buf, size_t size) {
  Buf b;
  const char *name;
  if (size == 0) return 0;
  b.s = buf; b.size = size; b.len = 0; b.ok = 1;
  buf[0] = '\0';
  if (ir_isconst(x)) {
    if (ir_constidx(x) >= ir->nk) return 0;
    consttext(&b, &ir->k[ir_constidx(x)]);
  }
  else if ((name = ir_slotname(ir, x)) != NULL) put(&b, name);
  else b.ok = 0;
  if (!b.ok) buf[0] = '\0';
  return b.ok;
}
