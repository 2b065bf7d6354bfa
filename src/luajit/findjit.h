/*
** findjit.h -- the for, while and repeat loops of a LuaJIT prototype,
** each lowered to the IR or with the reason why it cannot be (findjit.c).
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

/* Most instructions of a while loop's test before its comparison (loads
   and the arithmetic of an invariant operand, `while i < n * 2`). */
#define FINDJIT_MAXTESTOPS	(2 + 2 * PLAN_WMAXNODES)

typedef struct findjit_Loop {
  ir_Kind kind;
  int head;		/* code index of FORI, or of the JMP/ISNEXT of a
			   generic for, or of a while loop's first
			   instruction (its test), or of a repeat's LOOP:
			   where the guard call goes */
  int last;		/* code index of FORL or ITERL, or of the JMP back
			   of a while or repeat loop */
  int base;		/* the loop's first control register; while and
			   repeat: the first slot that is not a local (LOOP's
			   A) */
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
** Finds every numeric and generic for loop and every while and repeat loop
** of 'p' (arrays in the chunk's arena) and lowers each one whose body is
** straight-line code of the instructions the IR has (and, for while and
** repeat, whose test is one comparison).  Returns the number of loops;
** '*loops' gets them in the order of their heads.
** Raises only on memory errors.
*/
int findjit_loops (jitbc_Chunk *c, jitbc_Proto *p, findjit_Loop **loops);

#endif

#endif
