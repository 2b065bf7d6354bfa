/*
** plan_depends.c -- what an optimized loop needs at run time to be
** computed instead of run as written, in words, for cpm.explain.
**
** The sentence follows the checks the guard makes on the plan (guard.c,
** guard_gf2.c, plan_branch.c): the ring its values must fit (Z/2^64 for
** Lua 5.4 integers, exact integers below 2^53 for floats and LuaJIT
** numbers, exact Z with cpm.big), the modulus of a Z/m plan, the
** invariants that enter the matrix (they must be integers), the operands
** of a GF(2) body, the conditions of a branch body.  Names of invariants
** come from the loop's IR (ir_text.c); an invariant without a known name
** is described by its role.
*/
#include <stdio.h>
#include <string.h>

#include "plan.h"
#include "plan_gf2.h"


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


/* The text of atom 'a' into buf; 0 when some part has no known name. */
static int atomtext (const plan_Plan *p, const ir_Loop *ir, int a,
                     char *buf, size_t size, int depth) {
  const plan_Atom *at = &p->atoms[a];
  char x[64], y[64];
  switch (at->kind) {
    case PA_INPUT: return ir_argtext(ir, at->x, buf, size);
    case PA_CONST: return ir_argtext(ir, ir_mkconst(at->x), buf, size);
    case PA_STEP: return snprintf(buf, size, "the step") < (int)size;
    case PA_ARITH:
      if (depth > 2 || !atomtext(p, ir, at->x, x, sizeof(x), depth + 1))
        return 0;
      if (at->aop == IR_UNM || at->aop == IR_BNOT) {
        return snprintf(buf, size, "%s%s", ir_aopname(at->aop), x) < (int)size;
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


/* Is atom 'a' a constant with an integer value, or + - * of such (a
   front end may leave -7 as the negation of 7): nothing to check? */
static int integral (const plan_Plan *p, const ir_Loop *ir, int a, int depth) {
  const plan_Atom *at = &p->atoms[a];
  if (at->kind == PA_ARITH && depth < 4)
    return (at->aop == IR_ADD || at->aop == IR_SUB || at->aop == IR_MUL ||
            at->aop == IR_UNM) &&
           integral(p, ir, at->x, depth + 1) && integral(p, ir, at->y, depth + 1);
  if (at->kind != PA_CONST) return 0;
  {
    const ir_Const *k = &ir->k[at->x];
    return k->type == IR_KINT ||
           (k->type == IR_KFLT && k->u.n > -9007199254740992.0 &&
            k->u.n < 9007199254740992.0 &&
            k->u.n == (lua_Number)(int64_t)k->u.n);
  }
}


/* ", and k and c have integer values": the invariants in the matrix
   (the guard converts each into the ring, or runs the loop). */
static void coefatoms (Text *t, const plan_Plan *p, const ir_Loop *ir) {
  int i, j, n = 0, named = 1, seen[8];
  char names[160] = "", one[64], last[64] = "";
  for (i = 0; i < p->ncoefs; i++) {
    int a = p->coefs[i].x, dup = 0;
    if (p->coefs[i].kind != PC_ATOM || integral(p, ir, a, 0)) continue;
    for (j = 0; j < n && j < 8; j++) dup |= seen[j] == a;
    if (dup) continue;
    if (n < 8) seen[n] = a;
    if (n < 8 && atomtext(p, ir, a, one, sizeof(one), 0)) {
      /* "a, b and c": each name is written once the next one is known */
      if (n > 1) strncat(names, ", ", sizeof(names) - strlen(names) - 1);
      strncat(names, last, sizeof(names) - strlen(names) - 1);
      memcpy(last, one, sizeof(last));
    }
    else named = 0;
    n++;
  }
  if (n == 0) return;
  if (n > 1) strncat(names, " and ", sizeof(names) - strlen(names) - 1);
  strncat(names, last, sizeof(names) - strlen(names) - 1);
  if (!named) add(t, ", and the invariants it multiplies by have integer values");
  else {
    add(t, ", and ");
    add(t, names);
    add(t, n == 1 ? " has an integer value" : " have integer values");
  }
}


void plan_depends (const plan_Plan *p, const ir_Loop *ir, char *buf,
                   size_t size) {
  Text t;
  char m[64];
  t.s = buf; t.size = size; t.len = 0;
  if (size == 0) return;
  buf[0] = '\0';
  if (p->branch != NULL) {
    add(&t, "computed when the conditions compare numbers with numbers or "
            "strings with strings (no metamethod), and the path they take "
            "qualifies");
    return;
  }
  if (p->ring == PLAN_GF2) {
#if CPM_LUA54
    int i;
    add(&t, "computed when the values are integers and the operands of the "
            "bitwise operators convert to integers");
    for (i = 0; i < p->ngops; i++)
      if ((p->gops[i].aop == IR_BAND || p->gops[i].aop == IR_BOR) &&
          p->gops[i].x >= 0 && p->gops[i].y >= 0) {
        add(&t, ", and no '&' or '|' of two loop-carried values overlaps");
        break;
      }
#else
    add(&t, "never computed: bitwise loops are computed on Lua 5.4 integers only");
#endif
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
