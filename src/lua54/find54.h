/*
** find54.h -- the loops of a Lua 5.4 prototype, each lowered to the IR or
** with the reason why it cannot be (find54.c).
*/
#ifndef find54_h
#define find54_h

#include "bc.h"

#if CPM_LUA54

#include "ir.h"
#include "plan.h"

/* Slots: registers are 0..255, upvalue u is FIND54_UPSLOT + u. */
#define FIND54_UPSLOT	256

/* The reason given for a loop whose instructions are not the ones
   Lua's compiler emits for a for loop (an edited or crafted chunk). */
#define FIND54_MSG_SHAPE	"loop instructions not as the compiler emits them"

typedef struct find54_Loop {
  ir_Kind kind;
  int prep;		/* pc of FORPREP / TFORPREP */
  int last;		/* pc of FORLOOP / TFORLOOP */
  int base;		/* register A of the loop instructions */
  int line;
  int lowered;		/* 1: 'ir' is valid; 0: 'why' says why not */
  plan_Refusal why;
  ir_Loop ir;
  ir_Op *ops;
  int nops, szops;
  ir_Const *k;
  int nk, szk;
  unsigned char *liveout;
} find54_Loop;

/*
** Finds every numeric for loop and generic for loop of 'p' (arrays in the
** chunk's arena) and lowers each one whose body is straight-line code of
** the instructions the IR has.  Returns the number of loops; '*loops'
** gets them in pc order.  Raises only on memory errors.
*/
int find54_loops (lua_State *L, bc_Chunk *c, bc_Proto *p,
                  find54_Loop **loops);

#endif

#endif
