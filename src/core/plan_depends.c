/*
** plan_depends.c -- what an optimized loop needs at run time to be
** computed instead of run as written, in words, for cpm.explain.
**
** The sentence follows the checks the guard makes on the plan (guard.c,
** guard_gf2.c, plan_branch.c): the ring its values must fit (Z/2^64 for
** Lua 5.4 integers, exact integers below 2^53 for floats and LuaJIT
** numbers, exact Z with cpm.big), the modulus of a Z/m plan, the
** invariants that enter the matrix (they must be integers), the operands
** of a GF(2) body, the conditions of a branch body, the rings of a nest.  Names of invariants
** come from the loop's IR (ir_text.c); an invariant without a known name
** is described by its role.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "plan_gf2.h"

#define MAXFOLD		64	/* atoms visited to fold one constant expression
				   (atoms share operands: a budget, not a depth) */


typedef struct Text {
  char *s;
  size_t size, len;
} Text;


static void add (Text *t, const char *s) {
  size_t n = strlen(s);
  if (t->len + n + 1 > t->size) n = t->size - t->len - 1;
  memcpy(t->s + t->len, s, n);
  t->len += n;
  t->s[t->len] = '\0';
}


/* The value of atom 'a' when it is an expression of numeric constants
   (a front end may leave -7 as the negation of 7, or 3 % 97 unfolded),
   computed in doubles; 0 when it is not one or cannot be computed. */
static int constvalue (const plan_Plan *p, const ir_Loop *ir, int a,
                       double *v, int *isint, int *budget) {
  const plan_Atom *at = &p->atoms[a];
  double x, y;
  int xi, yi;
  if (at->kind == PA_CONST) {
    const ir_Const *k = &ir->k[at->x];
    if (k->type == IR_KINT) *v = (double)k->u.i, *isint = 1;
    else if (k->type == IR_KFLT) *v = (double)k->u.n, *isint = 0;
    else return 0;
    return 1;
  }
  if (at->kind != PA_ARITH || --*budget < 0 ||
      !constvalue(p, ir, at->x, &x, &xi, budget) ||
      !constvalue(p, ir, at->y, &y, &yi, budget))
    return 0;
  *isint = xi && yi;
  switch (at->aop) {
    case IR_ADD: *v = x + y; return 1;
    case IR_SUB: *v = x - y; return 1;
    case IR_MUL: *v = x * y; return 1;
    case IR_UNM: *v = -x; return 1;
    case IR_MOD:
      if (y == 0) return 0;
      *v = x - floor(x / y) * y;
      return 1;
    default: return 0;
  }
}


/* Is atom 'a' a constant expression with an integer value, nothing the
   guard could find otherwise at run time? */
static int integral (const plan_Plan *p, const ir_Loop *ir, int a) {
  double v;
  int isint, budget = MAXFOLD;
  return constvalue(p, ir, a, &v, &isint, &budget) && v > -9007199254740992.0 &&
         v < 9007199254740992.0 && v == floor(v);
}


/* The text of atom 'a' into buf; 0 when some part has no known name. */
static int atomtext (const plan_Plan *p, const ir_Loop *ir, int a,
                     char *buf, size_t size, int depth) {
  const plan_Atom *at = &p->atoms[a];
  char x[64], y[64];
  double v;
  int isint, budget = MAXFOLD;
  if (at->kind == PA_ARITH && constvalue(p, ir, a, &v, &isint, &budget) &&
      v > -1e15 && v < 1e15) {
    /* folded, as the compiler folds it for one front end and not the
       other (LuaJIT keeps -(-3) and -8 % 97 in its bytecode) */
    if (v != floor(v)) return snprintf(buf, size, "%.14g", v) < (int)size;
    return snprintf(buf, size, CPM_LUA54 && !isint ? "%.1f" : "%.0f", v)
           < (int)size;
  }
  switch (at->kind) {
    case PA_INPUT: return ir_argtext(ir, at->x, buf, size);
    case PA_CONST: return ir_argtext(ir, ir_mkconst(at->x), buf, size);
    case PA_STEP: return snprintf(buf, size, "the step") < (int)size;
    case PA_ARITH:
      if (depth > 2 || !atomtext(p, ir, at->x, x, sizeof(x), depth + 1))
        return 0;
      if (at->aop == IR_UNM || at->aop == IR_BNOT) {  /* "-(-a)", not "--a" */
        return snprintf(buf, size, x[0] == '-' || x[0] == '~' ? "%s(%s)"
                        : "%s%s", ir_aopname(at->aop), x) < (int)size;
      }
      if (!atomtext(p, ir, at->y, y, sizeof(y), depth + 1)) return 0;
      return snprintf(buf, size, "(%s %s %s)", x, ir_aopname(at->aop), y)
             < (int)size;
    default: {  /* PA_INDEX: a field of an invariant table */
      const ir_Const *k = p->atoms[at->y].kind == PA_CONST
                          ? &ir->k[p->atoms[at->y].x] : NULL;
      if (depth > 2 || !atomtext(p, ir, at->x, x, sizeof(x), depth + 1))
        return 0;
      if (k != NULL && k->type == IR_KSTR && ir_isname(k->u.s.s, k->u.s.len)) {
        if (strcmp(x, "_ENV") == 0)  /* a global */
          return snprintf(buf, size, "%.*s", (int)k->u.s.len, k->u.s.s)
                 < (int)size;
        return snprintf(buf, size, "%s.%.*s", x, (int)k->u.s.len, k->u.s.s)
               < (int)size;
      }
      if (!atomtext(p, ir, at->y, y, sizeof(y), depth + 1)) return 0;
      return snprintf(buf, size, "%s[%s]", x, y) < (int)size;
    }
  }
}


static int cmptext (const void *a, const void *b) {
  return strcmp((const char *)a, (const char *)b);
}


/* ", and k and c have integer values": the invariants in the matrix
   (the guard converts each into the ring, or runs the loop), in
   alphabetical order (the front ends plan them in different orders). */
static void coefatoms (Text *t, const plan_Plan *p, const ir_Loop *ir) {
  enum { MAXLIST = 8 };
  int i, j, n = 0, named = 1, seen[MAXLIST];
  char list[MAXLIST][64];
  for (i = 0; i < p->ncoefs; i++) {
    int a = p->coefs[i].x, dup = 0;
    if (p->coefs[i].kind != PC_ATOM || integral(p, ir, a)) continue;
    for (j = 0; j < n; j++) dup |= seen[j] == a;
    if (dup) continue;
    if (n == MAXLIST || !atomtext(p, ir, a, list[n], sizeof(list[n]), 0)) {
      named = 0;
      break;
    }
    seen[n++] = a;
  }
  if (n == 0 && named) return;
  if (!named) {
    add(t, ", and the invariants it multiplies by have integer values");
    return;
  }
  qsort(list, (size_t)n, sizeof(list[0]), cmptext);
  for (i = 0; i < n; i++) {
    add(t, i == 0 ? ", and " : i == n - 1 ? " and " : ", ");
    add(t, list[i]);
  }
  add(t, n == 1 ? " has an integer value" : " have integer values");
}


void plan_depends (const plan_Plan *p, const ir_Loop *ir, char *buf,
                   size_t size) {
  Text t;
  char m[64];
  t.s = buf; t.size = size; t.len = 0;
  if (size == 0) return;
  buf[0] = '\0';
  if (p->nest != NULL) {  /* plan_nest.c: the guard's walk */
#if CPM_LUA54
    add(&t, "computed when the values are integers throughout (wrapping as "
            "Lua's do), or floats throughout that stay integers below 2^53, "
            "and the inner loops' control values are numbers");
#else
    add(&t, "computed when every value stays an integer below 2^53 and the "
            "inner loops' control values are numbers");
#endif
    return;
  }
  if (p->branch != NULL) {
    add(&t, "computed when the conditions compare numbers with numbers or "
            "strings with strings (no metamethod), and the path they take "
            "qualifies");
    return;
  }
  if (p->ring == PLAN_GF2) {
    int i;
#if CPM_LUA54
    add(&t, "computed when the values are integers and the operands of the "
            "bitwise operators convert to integers");
#else
    if (p->ncalls == 0) {  /* no bit library: see guard_gf2.c */
      add(&t, "never computed: bitwise loops are computed on Lua 5.4 "
              "integers and with LuaJIT's bit library only");
      return;
    }
    add(&t, "computed when the functions called are the bit library's own "
            "and the values and operands are numbers below 2^51 in "
            "magnitude");
#endif
    for (i = 0; i < p->ngops; i++)
      if ((p->gops[i].aop == IR_BAND || p->gops[i].aop == IR_BOR) &&
          p->gops[i].x >= 0 && p->gops[i].y >= 0) {
        add(&t, ", and no '&' or '|' of two loop-carried values overlaps");
        break;
      }
    return;
  }
  add(&t, "computed when ");
  if (p->modatom >= 0) {
    if (atomtext(p, ir, p->modatom, m, sizeof(m), 0)) add(&t, m);
    else add(&t, "the modulus");
    add(&t, " is a nonzero integer and ");
#if CPM_LUA54
    add(&t, "the values are integers or cpm.big numbers");
#else
    add(&t, "every value stays an integer below 2^53 (LuaJIT numbers), "
            "or is a cpm.big");
#endif
  }
  else {
#if CPM_LUA54
    add(&t, "the values are integers (wrapping as Lua's do), or cpm.big "
            "numbers and floats that stay integers below 2^53");
#else
    add(&t, "every value stays an integer below 2^53 (LuaJIT numbers), "
            "or is a cpm.big");
#endif
  }
  coefatoms(&t, p, ir);
}
