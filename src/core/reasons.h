/*
** reasons.h -- every reason why a loop is not optimized, declared once.
**
** The front ends (src/lua54/find54.c, the source front end's lower.lua
** through cpm.core._reasons, the LuaJIT bytecode front end) and the planner
** (plan.c) refuse a loop with one of these sentences, so that each front
** end gives the same reason for the same construct (doc/design.md, "Front
** ends") and none can drift.  A sentence with a "%s" takes one argument
** (an operator's symbol, or what is loop-carried); the planner's "%d" takes
** the engine's limit.
**
** CPM_REASONS(_) applies _(NAME, "sentence") to each reason, in a fixed
** order; cpm_Reason names them CPM_R_NAME.
*/
#ifndef reasons_h
#define reasons_h

#define CPM_REASONS(_) \
  /* statements and expressions the IR has no op for */ \
  _(CALL,		"call in loop body") \
  _(TABLE_WRITE,	"table write in loop body") \
  _(GLOBAL_WRITE,	"global write (%s)") \
  _(TABLE_CONS,		"table constructor in loop body") \
  _(JUMP,		"break, goto or branch in loop body") \
  _(COMPARE,		"comparison or branch in loop body") \
  _(CONCAT,		"concatenation in loop body") \
  _(LENGTH,		"length operator in loop body") \
  _(NOT,		"'not' in loop body") \
  _(FUNCTION,		"function definition in loop body") \
  _(VARARG,		"vararg in loop body") \
  _(NESTED,		"nested loop in loop body") \
  _(NEST_WHILE,		"while or repeat loop in loop body (only numeric for loops are planned inside a loop)") \
  _(RETURN,		"return in loop body") \
  _(TBC,		"to-be-closed variable in loop body") \
  _(INSTRUCTION,	"instruction not supported in loop body") \
  _(STATEMENT,		"statement not supported in loop body") \
  _(EXPRESSION,		"expression not supported in loop body") \
  _(OPERATOR,		"operator %s in loop body") \
  _(NUMERAL,		"numeral of another type in loop body") \
  _(ENV_LOCAL,		"local _ENV in loop body") \
  _(ENV_WRITE,		"assignment to _ENV in loop body") \
  /* loop headers and sizes */ \
  _(FORVARS,		"generic for with more than one variable") \
  _(TOO_LARGE,		"loop body too large") \
  _(TOO_MANY_VALUES,	"loop carries more values than the engine computes (at most %d)") \
  /* the planner's affine rules */ \
  _(BRANCH,		"branch in loop body") \
  _(BRANCH_CARRIED,	"branch condition depends on a loop-carried value") \
  _(BRANCH_COUNTER,	"branch condition depends on the loop counter") \
  _(MUL_CARRIED,	"multiplication of two loop-carried values") \
  _(OP_CARRIED,		"operator '%s' applied to a loop-carried value") \
  _(FIELD_CARRIED,	"field read with a loop-carried %s") \
  /* polynomial terms and modular rings (plan.c) */ \
  _(PRODUCT_FACTORS,	"product of more than %d loop-carried values") \
  _(PRODUCT_MONOS,	"polynomial terms need more than %d monomials") \
  _(DEGREE_GROWS,	"product of loop-carried values whose degree grows with each iteration") \
  _(MOD_DIFFERENT,	"reductions modulo different values") \
  _(MOD_MIXED,		"a value of the loop is not reduced modulo the same value as the others (a mix of rings)") \
  /* nested loops (plan_nest.c) */ \
  _(NEST_INNER,		"inner loop at line %d: %s") \
  _(NEST_BOUNDS,	"a triangular loop below the first level in a nest that multiplies by the outer counter") \
  _(NEST_TRISTEP,	"a step that the enclosing loop changes") \
  _(NEST_CTROP,		"the outer loop's counter in operator '%s' inside an inner loop") \
  _(NEST_CTRDEEP,	"the outer loop's counter read below the first inner loop, or left by it") \
  _(NEST_PRODUCT,	"product of two loop-carried values in a nested loop") \
  _(NEST_OP,		"operator '%s' applied to a loop-carried value in a nested loop") \
  _(NEST_DEPTH,		"loops nested more than %d deep") \
  _(NEST_LOOPS,		"more than %d inner loops") \
  /* bitwise bodies over GF(2) (plan_gf2.c) */ \
  _(MIX_BITWISE,	"mix of arithmetic and bitwise operations on a loop-carried value") \
  _(SHIFT_CARRIED,	"shift count that changes in the loop") \
  _(COUNTER_BITWISE,	"loop counter in a bitwise operation") \
  _(GF2_WORDS,		"more than %d loop-carried values in a bitwise loop") \
  _(BIT_ARITY,		"bit library shift or rotation without a count (it raises)") \
  /* while and repeat loops (find54.c, lower.lua, plan_while.c) */ \
  _(WHILE_NOCOND,	"loop without a comparison at its head or foot (while true, goto, a condition of several tests)") \
  _(WHILE_COND,		"condition is not one comparison of two variables, constants or arithmetic on them") \
  _(WHILE_STRIPPED,	"function without debug information (its locals are unknown)") \
  _(WHILE_NOCOUNTER,	"condition compares no value that the loop changes") \
  _(WHILE_BOUND,	"condition compares two values that the loop changes") \
  _(WHILE_UPDATES,	"loop counter written more than once in the loop body") \
  _(WHILE_PATHS,	"loop counter updated only on some paths through the body") \
  _(WHILE_INNER,	"loop counter updated inside a nested loop") \
  _(WHILE_STEP,		"loop counter not stepped by an invariant amount (i = i + c)") \
  /* chunks and IR cpm did not expect */ \
  _(MMBIN_MISSING,	"arithmetic without its metamethod companion") \
  _(MMBIN_UNKNOWN,	"arithmetic with an unknown metamethod") \
  _(LOADKX,		"malformed LOADKX") \
  _(IR_UNKNOWN,		"unknown IR op") \
  _(IR_MALFORMED,	"malformed loop IR") \
  _(REWRITTEN,		"loop rewritten by cpm already (a copy made by string.dump and load)")

typedef enum cpm_Reason {
#define CPM_R_ENUM(name, text)	CPM_R_##name,
  CPM_REASONS(CPM_R_ENUM)
#undef CPM_R_ENUM
  CPM_R__COUNT
} cpm_Reason;

/* The sentence of reason 'r' (a format when it has a "%"). */
const char *cpm_reason (cpm_Reason r);

#endif
