/*
** findjit.h -- the for loops of a LuaJIT prototype, each lowered to
** the IR or with the reason why it cannot be (findjit.c).
*/
#ifndef findjit_h
#define findjit_h

#include "jitbc.h"

#if CPM_LUAJIT

#include "ir.h"
#include "plan.h"

/* Slots: registers are 0..249, upvalue u is FINDJIT_UPSLOT + u, and the
   function's environment (the table of its globals) is FINDJIT_ENVSLOT. */
#define FINDJIT_UPSLOT		256
#define FINDJIT_ENVSLOT		(FINDJIT_UPSLOT + JITBC_MAXUV)
#define FINDJIT_NSLOTS		(FINDJIT_ENVSLOT + 1)

typedef struct findjit_Loop {
  ir_Kind kind;
  int head;		/* code index of FORI, or of the JMP/ISNEXT of a
			   generic for */
  int last;		/* code index of FORL or ITERL */
  int base;		/* the loop's first control register */
  int line;		/* line of the head (the line of `do`) */
  int lowered;		/* 1: 'ir' is valid; 0: 'why' says why not */
  plan_Refusal why;
  ir_Loop ir;
  ir_Op *ops;
  int nops, szops;
  ir_Const *k;
  int nk, szk;
  unsigned char *liveout;
} findjit_Loop;

/*
** Finds every numeric and generic for loop of 'p' (arrays in the chunk's arena) and
** lowers each one whose body is straight-line code of the instructions the
** IR has.  Returns the number of loops; '*loops' gets them in code order.
** Raises only on memory errors.
*/
int findjit_loops (jitbc_Chunk *c, jitbc_Proto *p, findjit_Loop **loops);

#endif

#endif
