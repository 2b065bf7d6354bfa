/*
** bc_opcodes.h -- the Lua 5.4 instruction set, as the chunk editor and the
** loop analysis see it: instruction fields, and one X-macro list from which
** the opcode numbers, names, formats and per-opcode facts are generated so
** that they cannot drift apart.  The numbering is Lua 5.4's (5.4.0-5.4.8).
*/
#ifndef bc_opcodes_h
#define bc_opcodes_h

#include <stdint.h>

typedef uint32_t bc_Instr;

/*===========================================================================
  An instruction is an unsigned 32-bit integer; the opcode is in the low
  7 bits.  Five formats:

        3 3 2 2 2 2 2 2 2 2 2 2 1 1 1 1 1 1 1 1 1 1 0 0 0 0 0 0 0 0 0 0
        1 0 9 8 7 6 5 4 3 2 1 0 9 8 7 6 5 4 3 2 1 0 9 8 7 6 5 4 3 2 1 0
iABC          C(8)     |      B(8)     |k|     A(8)      |   Op(7)     |
iABx                Bx(17)               |     A(8)      |   Op(7)     |
iAsBx              sBx (signed)(17)      |     A(8)      |   Op(7)     |
iAx                           Ax(25)                     |   Op(7)     |
isJ                           sJ (signed)(25)            |   Op(7)     |

  Signed fields are stored in excess K (K = half the field's maximum):
  sBx = Bx - 65535, sJ = field - 16777215, sB/sC = B/C - 127.
===========================================================================*/

enum bc_OpMode { bc_iABC, bc_iABx, bc_iAsBx, bc_iAx, bc_isJ };

#define BC_SIZE_OP	7
#define BC_SIZE_A	8
#define BC_SIZE_B	8
#define BC_SIZE_C	8
#define BC_SIZE_Bx	17
#define BC_SIZE_Ax	25
#define BC_SIZE_sJ	25

#define BC_POS_OP	0
#define BC_POS_A	7
#define BC_POS_k	15
#define BC_POS_B	16
#define BC_POS_C	24
#define BC_POS_Bx	15
#define BC_POS_Ax	7
#define BC_POS_sJ	7

#define BC_MAXARG_A	255
#define BC_MAXARG_B	255
#define BC_MAXARG_C	255
#define BC_MAXARG_Bx	((1 << BC_SIZE_Bx) - 1)
#define BC_MAXARG_Ax	((1 << BC_SIZE_Ax) - 1)
#define BC_MAXARG_sJ	((1 << BC_SIZE_sJ) - 1)
#define BC_OFFSET_sBx	(BC_MAXARG_Bx >> 1)
#define BC_OFFSET_sJ	(BC_MAXARG_sJ >> 1)
#define BC_OFFSET_sC	(BC_MAXARG_C >> 1)

#define BC_MASK1(n,p)	((~((~(bc_Instr)0) << (n))) << (p))
#define BC_MASK0(n,p)	(~BC_MASK1(n,p))

#define BC_GETFIELD(i,pos,size)	((int)(((i) >> (pos)) & BC_MASK1(size, 0)))
#define BC_SETFIELD(i,v,pos,size)	((i) = (((i) & BC_MASK0(size, pos)) | \
		(((bc_Instr)(v) << (pos)) & BC_MASK1(size, pos))))

#define BC_GET_OPCODE(i)	BC_GETFIELD(i, BC_POS_OP, BC_SIZE_OP)
#define BC_SET_OPCODE(i,o)	BC_SETFIELD(i, o, BC_POS_OP, BC_SIZE_OP)
#define BC_GETARG_A(i)		BC_GETFIELD(i, BC_POS_A, BC_SIZE_A)
#define BC_SETARG_A(i,v)	BC_SETFIELD(i, v, BC_POS_A, BC_SIZE_A)
#define BC_GETARG_B(i)		BC_GETFIELD(i, BC_POS_B, BC_SIZE_B)
#define BC_SETARG_B(i,v)	BC_SETFIELD(i, v, BC_POS_B, BC_SIZE_B)
#define BC_GETARG_sB(i)		(BC_GETARG_B(i) - BC_OFFSET_sC)
#define BC_GETARG_C(i)		BC_GETFIELD(i, BC_POS_C, BC_SIZE_C)
#define BC_SETARG_C(i,v)	BC_SETFIELD(i, v, BC_POS_C, BC_SIZE_C)
#define BC_GETARG_sC(i)		(BC_GETARG_C(i) - BC_OFFSET_sC)
#define BC_GETARG_k(i)		BC_GETFIELD(i, BC_POS_k, 1)
#define BC_SETARG_k(i,v)	BC_SETFIELD(i, v, BC_POS_k, 1)
#define BC_GETARG_Bx(i)		BC_GETFIELD(i, BC_POS_Bx, BC_SIZE_Bx)
#define BC_SETARG_Bx(i,v)	BC_SETFIELD(i, v, BC_POS_Bx, BC_SIZE_Bx)
#define BC_GETARG_sBx(i)	(BC_GETARG_Bx(i) - BC_OFFSET_sBx)
#define BC_SETARG_sBx(i,v)	BC_SETARG_Bx(i, (v) + BC_OFFSET_sBx)
#define BC_GETARG_Ax(i)		BC_GETFIELD(i, BC_POS_Ax, BC_SIZE_Ax)
#define BC_SETARG_Ax(i,v)	BC_SETFIELD(i, v, BC_POS_Ax, BC_SIZE_Ax)
#define BC_GETARG_sJ(i)		(BC_GETFIELD(i, BC_POS_sJ, BC_SIZE_sJ) - BC_OFFSET_sJ)
#define BC_SETARG_sJ(i,v)	BC_SETFIELD(i, (v) + BC_OFFSET_sJ, BC_POS_sJ, BC_SIZE_sJ)

#define BC_CREATE_ABCk(o,a,b,c,k)	((bc_Instr)(o) << BC_POS_OP \
		| (bc_Instr)(a) << BC_POS_A | (bc_Instr)(b) << BC_POS_B \
		| (bc_Instr)(c) << BC_POS_C | (bc_Instr)(k) << BC_POS_k)
#define BC_CREATE_ABx(o,a,bx)	((bc_Instr)(o) << BC_POS_OP \
		| (bc_Instr)(a) << BC_POS_A | (bc_Instr)(bx) << BC_POS_Bx)
#define BC_CREATE_AsBx(o,a,sbx)	BC_CREATE_ABx(o, a, (sbx) + BC_OFFSET_sBx)
#define BC_CREATE_Ax(o,ax)	((bc_Instr)(o) << BC_POS_OP \
		| (bc_Instr)(ax) << BC_POS_Ax)
#define BC_CREATE_sJ(o,j)	((bc_Instr)(o) << BC_POS_OP \
		| (bc_Instr)((j) + BC_OFFSET_sJ) << BC_POS_sJ)


/*===========================================================================
  The list.  Columns:
    name    opcode name (BC_OP_name; the string "name")
    fmt     instruction format
    a b c   what the fields hold: for iABx/iAsBx the third column is Bx/sBx,
            for iAx/isJ the first column is Ax/sJ
              _   unused          R   register        K   constant index
              RK  register, or constant when k = 1    U   upvalue index
              I   unsigned immediate or count         S   signed immediate
              J   jump offset     P   prototype index  E   metamethod event
              F   flags or sizes (NEWTABLE, k-only flags)
    rd wr   registers read / written (BC_RS_*, below); "top" means the
            range ends at the stack top set by the previous open instruction
    flags   BC_F* facts, below
  Meaning of each opcode in the comment at the end of its line.
===========================================================================*/

/* register sets */
enum bc_RegSet {
  BC_RS__,		/* none */
  BC_RS_A,		/* A */
  BC_RS_B,		/* B */
  BC_RS_AB,		/* A and B */
  BC_RS_BC,		/* B and C */
  BC_RS_BKC,		/* B, and C when k = 0 */
  BC_RS_AKC,		/* A, and C when k = 0 */
  BC_RS_ABKC,		/* A, B, and C when k = 0 */
  BC_RS_A1,		/* A .. A+1 */
  BC_RS_A2,		/* A .. A+2 */
  BC_RS_A3,		/* A .. A+3 */
  BC_RS_A_B,		/* A .. A+B */
  BC_RS_A_B0,		/* A .. A+B, B = 0: A .. top (SETLIST) */
  BC_RS_A_B1,		/* A .. A+B-1, B = 0: A .. top */
  BC_RS_A_B2,		/* A .. A+B-2, B = 0: A .. top */
  BC_RS_A_C2,		/* A .. A+C-2, C = 0: A .. top */
  BC_RS_A4_C,		/* A+4 .. A+3+C */
  BC_RS_KC,		/* C when k = 0 */
  BC_RS_A2_,		/* A+2 only */
  BC_RS_A3_,		/* A+3 only */
  BC_RS_A4_		/* A+4 only */
};

/* facts */
#define BC_FMM		0x01	/* followed by its MMBIN/MMBINI/MMBINK */
#define BC_FSKIP	0x02	/* may skip the next instruction (pc++) */
#define BC_FEXTRA	0x04	/* followed by EXTRAARG (SETLIST: when k) */
#define BC_FPAIR	0x08	/* next instruction executes as part of it */
#define BC_FJUMP	0x10	/* has a jump offset (J field) */
#define BC_FRAISE	0x20	/* may raise an error by itself */
#define BC_FCALL	0x40	/* may call a function or metamethod */
#define BC_FEND		0x80	/* returns from the function */

#define BC_FRC		(BC_FRAISE | BC_FCALL)

#define BC_OPCODES(X) \
X(MOVE,      iABC,  R, R, _, B,     A,     0)        /* R[A] := R[B] */ \
X(LOADI,     iAsBx, R, _, S, _,     A,     0)        /* R[A] := sBx */ \
X(LOADF,     iAsBx, R, _, S, _,     A,     0)        /* R[A] := (float)sBx */ \
X(LOADK,     iABx,  R, _, K, _,     A,     0)        /* R[A] := K[Bx] */ \
X(LOADKX,    iABC,  R, _, _, _,     A,     BC_FEXTRA) /* R[A] := K[extra arg] */ \
X(LOADFALSE, iABC,  R, _, _, _,     A,     0)        /* R[A] := false */ \
X(LFALSESKIP,iABC,  R, _, _, _,     A,     BC_FSKIP) /* R[A] := false; pc++ */ \
X(LOADTRUE,  iABC,  R, _, _, _,     A,     0)        /* R[A] := true */ \
X(LOADNIL,   iABC,  R, I, _, _,     A_B,   0)        /* R[A .. A+B] := nil */ \
X(GETUPVAL,  iABC,  R, U, _, _,     A,     0)        /* R[A] := Up[B] */ \
X(SETUPVAL,  iABC,  R, U, _, A,     _,     0)        /* Up[B] := R[A] */ \
X(GETTABUP,  iABC,  R, U, K, _,     A,     BC_FRC)   /* R[A] := Up[B][K[C]] */ \
X(GETTABLE,  iABC,  R, R, R, BC,    A,     BC_FRC)   /* R[A] := R[B][R[C]] */ \
X(GETI,      iABC,  R, R, I, B,     A,     BC_FRC)   /* R[A] := R[B][C] */ \
X(GETFIELD,  iABC,  R, R, K, B,     A,     BC_FRC)   /* R[A] := R[B][K[C]] */ \
X(SETTABUP,  iABC,  U, K, RK, KC,   _,     BC_FRC)   /* Up[A][K[B]] := RK(C) */ \
X(SETTABLE,  iABC,  R, R, RK, ABKC, _,     BC_FRC)   /* R[A][R[B]] := RK(C) */ \
X(SETI,      iABC,  R, I, RK, AKC,  _,     BC_FRC)   /* R[A][B] := RK(C) */ \
X(SETFIELD,  iABC,  R, K, RK, AKC,  _,     BC_FRC)   /* R[A][K[B]] := RK(C) */ \
X(NEWTABLE,  iABC,  R, F, F, _,     A,     BC_FEXTRA) /* R[A] := {} */ \
X(SELF,      iABC,  R, R, RK, BKC,  A1,    BC_FRC)   /* R[A+1] := R[B]; R[A] := R[B][RK(C)] */ \
X(ADDI,      iABC,  R, R, S, B,     A,     BC_FMM)   /* R[A] := R[B] + sC */ \
X(ADDK,      iABC,  R, R, K, B,     A,     BC_FMM)   /* R[A] := R[B] + K[C] */ \
X(SUBK,      iABC,  R, R, K, B,     A,     BC_FMM)   /* R[A] := R[B] - K[C] */ \
X(MULK,      iABC,  R, R, K, B,     A,     BC_FMM)   /* R[A] := R[B] * K[C] */ \
X(MODK,      iABC,  R, R, K, B,     A,     BC_FMM|BC_FRAISE) /* R[A] := R[B] % K[C] */ \
X(POWK,      iABC,  R, R, K, B,     A,     BC_FMM)   /* R[A] := R[B] ^ K[C] */ \
X(DIVK,      iABC,  R, R, K, B,     A,     BC_FMM)   /* R[A] := R[B] / K[C] */ \
X(IDIVK,     iABC,  R, R, K, B,     A,     BC_FMM|BC_FRAISE) /* R[A] := R[B] // K[C] */ \
X(BANDK,     iABC,  R, R, K, B,     A,     BC_FMM)   /* R[A] := R[B] & K[C] */ \
X(BORK,      iABC,  R, R, K, B,     A,     BC_FMM)   /* R[A] := R[B] | K[C] */ \
X(BXORK,     iABC,  R, R, K, B,     A,     BC_FMM)   /* R[A] := R[B] ~ K[C] */ \
X(SHRI,      iABC,  R, R, S, B,     A,     BC_FMM)   /* R[A] := R[B] >> sC */ \
X(SHLI,      iABC,  R, R, S, B,     A,     BC_FMM)   /* R[A] := sC << R[B] */ \
X(ADD,       iABC,  R, R, R, BC,    A,     BC_FMM)   /* R[A] := R[B] + R[C] */ \
X(SUB,       iABC,  R, R, R, BC,    A,     BC_FMM)   /* R[A] := R[B] - R[C] */ \
X(MUL,       iABC,  R, R, R, BC,    A,     BC_FMM)   /* R[A] := R[B] * R[C] */ \
X(MOD,       iABC,  R, R, R, BC,    A,     BC_FMM|BC_FRAISE) /* R[A] := R[B] % R[C] */ \
X(POW,       iABC,  R, R, R, BC,    A,     BC_FMM)   /* R[A] := R[B] ^ R[C] */ \
X(DIV,       iABC,  R, R, R, BC,    A,     BC_FMM)   /* R[A] := R[B] / R[C] */ \
X(IDIV,      iABC,  R, R, R, BC,    A,     BC_FMM|BC_FRAISE) /* R[A] := R[B] // R[C] */ \
X(BAND,      iABC,  R, R, R, BC,    A,     BC_FMM)   /* R[A] := R[B] & R[C] */ \
X(BOR,       iABC,  R, R, R, BC,    A,     BC_FMM)   /* R[A] := R[B] | R[C] */ \
X(BXOR,      iABC,  R, R, R, BC,    A,     BC_FMM)   /* R[A] := R[B] ~ R[C] */ \
X(SHL,       iABC,  R, R, R, BC,    A,     BC_FMM)   /* R[A] := R[B] << R[C] */ \
X(SHR,       iABC,  R, R, R, BC,    A,     BC_FMM)   /* R[A] := R[B] >> R[C] */ \
X(MMBIN,     iABC,  R, R, E, AB,    _,     BC_FRC)   /* metamethod C over R[A], R[B]; result to previous A */ \
X(MMBINI,    iABC,  R, S, E, A,     _,     BC_FRC)   /* metamethod C over R[A], sB (k: flipped) */ \
X(MMBINK,    iABC,  R, K, E, A,     _,     BC_FRC)   /* metamethod C over R[A], K[B] (k: flipped) */ \
X(UNM,       iABC,  R, R, _, B,     A,     BC_FRC)   /* R[A] := -R[B] */ \
X(BNOT,      iABC,  R, R, _, B,     A,     BC_FRC)   /* R[A] := ~R[B] */ \
X(NOT,       iABC,  R, R, _, B,     A,     0)        /* R[A] := not R[B] */ \
X(LEN,       iABC,  R, R, _, B,     A,     BC_FRC)   /* R[A] := #R[B] */ \
X(CONCAT,    iABC,  R, I, _, A_B1,  A,     BC_FRC)   /* R[A] := R[A] .. ... .. R[A+B-1] */ \
X(CLOSE,     iABC,  R, _, _, _,     _,     BC_FRC)   /* close upvalues and tbc variables >= R[A] */ \
X(TBC,       iABC,  R, _, _, A,     _,     BC_FRAISE) /* mark R[A] to be closed */ \
X(JMP,       isJ,   J, _, _, _,     _,     BC_FJUMP) /* pc += sJ */ \
X(EQ,        iABC,  R, R, _, AB,    _,     BC_FSKIP|BC_FRC) /* if ((R[A] == R[B]) ~= k) then pc++ */ \
X(LT,        iABC,  R, R, _, AB,    _,     BC_FSKIP|BC_FRC) /* if ((R[A] <  R[B]) ~= k) then pc++ */ \
X(LE,        iABC,  R, R, _, AB,    _,     BC_FSKIP|BC_FRC) /* if ((R[A] <= R[B]) ~= k) then pc++ */ \
X(EQK,       iABC,  R, K, _, A,     _,     BC_FSKIP) /* if ((R[A] == K[B]) ~= k) then pc++ (raw) */ \
X(EQI,       iABC,  R, S, I, A,     _,     BC_FSKIP) /* if ((R[A] == sB) ~= k) then pc++; C: isfloat */ \
X(LTI,       iABC,  R, S, I, A,     _,     BC_FSKIP|BC_FRC) /* if ((R[A] <  sB) ~= k) then pc++ */ \
X(LEI,       iABC,  R, S, I, A,     _,     BC_FSKIP|BC_FRC) /* if ((R[A] <= sB) ~= k) then pc++ */ \
X(GTI,       iABC,  R, S, I, A,     _,     BC_FSKIP|BC_FRC) /* if ((R[A] >  sB) ~= k) then pc++ */ \
X(GEI,       iABC,  R, S, I, A,     _,     BC_FSKIP|BC_FRC) /* if ((R[A] >= sB) ~= k) then pc++ */ \
X(TEST,      iABC,  R, _, _, A,     _,     BC_FSKIP) /* if (not R[A] == k) then pc++ */ \
X(TESTSET,   iABC,  R, R, _, B,     A,     BC_FSKIP) /* if (not R[B] == k) then pc++ else R[A] := R[B] */ \
X(CALL,      iABC,  R, I, I, A_B1,  A_C2,  BC_FRC)   /* R[A .. A+C-2] := R[A](R[A+1 .. A+B-1]) */ \
X(TAILCALL,  iABC,  R, I, I, A_B1,  _,     BC_FRC|BC_FEND) /* return R[A](R[A+1 .. A+B-1]) */ \
X(RETURN,    iABC,  R, I, I, A_B2,  _,     BC_FRC|BC_FEND) /* return R[A .. A+B-2] (k: close first) */ \
X(RETURN0,   iABC,  _, _, _, _,     _,     BC_FEND)  /* return */ \
X(RETURN1,   iABC,  R, _, _, A,     _,     BC_FEND)  /* return R[A] */ \
X(FORLOOP,   iABx,  R, _, J, A3,    A3,    BC_FJUMP) /* update counters; if loop continues then pc -= Bx */ \
X(FORPREP,   iABx,  R, _, J, A2,    A3,    BC_FJUMP|BC_FRAISE) /* check and prepare counters; if not to run then pc += Bx+1 */ \
X(TFORPREP,  iABx,  R, _, J, A3_,   _,     BC_FJUMP|BC_FRAISE) /* create tbc upvalue for R[A+3]; pc += Bx */ \
X(TFORCALL,  iABC,  R, _, I, A2,    A4_C,  BC_FPAIR|BC_FRC) /* R[A+4 .. A+3+C] := R[A](R[A+1], R[A+2]); then TFORLOOP */ \
X(TFORLOOP,  iABx,  R, _, J, A4_,   A2_,   BC_FJUMP) /* if R[A+4] ~= nil then { R[A+2] := R[A+4]; pc -= Bx } */ \
X(SETLIST,   iABC,  R, I, I, A_B0,  _,     BC_FEXTRA) /* R[A][C+i] := R[A+i], 1 <= i <= B */ \
X(CLOSURE,   iABx,  R, _, P, _,     A,     0)        /* R[A] := closure(KPROTO[Bx]) */ \
X(VARARG,    iABC,  R, _, I, _,     A_C2,  0)        /* R[A .. A+C-2] := vararg */ \
X(VARARGPREP,iABC,  I, _, _, _,     _,     0)        /* adjust vararg parameters (A: numparams) */ \
X(EXTRAARG,  iAx,   I, _, _, _,     _,     0)        /* extra (larger) argument for previous opcode */

enum bc_OpCode {
#define BC_OPENUM(name, fmt, a, b, c, rd, wr, fl)	BC_OP_##name,
  BC_OPCODES(BC_OPENUM)
#undef BC_OPENUM
  BC_NUM_OPCODES
};

/* what a field holds (columns a, b, c) */
enum bc_ArgMode {
  BC_ARG__, BC_ARG_R, BC_ARG_K, BC_ARG_RK, BC_ARG_U, BC_ARG_I, BC_ARG_S,
  BC_ARG_J, BC_ARG_P, BC_ARG_E, BC_ARG_F
};

typedef struct bc_OpInfo {
  const char *name;
  unsigned char fmt;		/* enum bc_OpMode */
  unsigned char a, b, c;	/* enum bc_ArgMode */
  unsigned char rd, wr;		/* enum bc_RegSet */
  unsigned char flags;		/* BC_F* */
} bc_OpInfo;

/* Indexed by opcode; entries BC_NUM_OPCODES .. 127 are NULL-named. */
extern const bc_OpInfo bc_opinfo[128];

/* A run of registers: first .. last, or first .. top when 'totop'. */
typedef struct bc_RegSpan {
  int first, last, totop;
} bc_RegSpan;

/*
** Expands the register sets of instruction 'i' into spans: fills rd[0..3]
** and wr[0..1], stores their counts in *nrd and *nwr.
*/
void bc_opregs (bc_Instr i, bc_RegSpan rd[3], int *nrd,
                bc_RegSpan wr[1], int *nwr);

/*
** The last pc in [from, to) of 'code' whose instruction names register r
** in its A field, MMBIN/MMBINI/MMBINK excepted (their A is an operand), or
** -1.  In straight-line code, the instruction that set r last when it is a
** load; callers take any other instruction found (one that computes r, or
** only reads it) as "not a known load".
*/
int bc_lastA (const bc_Instr *code, int from, int to, int r);

/*
** The last pc in [from, to) of 'code' whose instruction writes register
** r (its register sets, bc_opregs: a CALL's results, a LOADNIL's range
** and a run up to the top included), or -1.  Says nothing of the jumps
** between it and 'to'.
*/
int bc_lastwriter (const bc_Instr *code, int from, int to, int r);

/* Jump target (a pc) of the jump instruction 'i' at 'pc'; 'i' must have
   BC_FJUMP.  For FORPREP it is the exit (after its FORLOOP). */
int bc_jumptarget (bc_Instr i, int pc);

#endif
