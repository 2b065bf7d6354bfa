/*
** bc.h -- a Lua 5.4 binary chunk as an editable tree of prototypes: the
** reader (bc_read.c), the writer (bc_write.c), the editor (bc_edit.c), the
** tree's memory and traversal (bc_tree.c), the opcode facts
** (bc_opcodes.h).  The tree keeps everything lua_dump wrote, so an unedited
** tree is written back byte for byte.  Lua 5.4 only: on LuaJIT none of this
** is compiled.
*/
#ifndef bc_h
#define bc_h

#include "cpm.h"

#if CPM_LUA54

#include "bc_opcodes.h"

/* header facts (lundump.h): Lua 5.4, format 0, this platform's sizes */
#define BC_SIGNATURE	"\x1bLua"
#define BC_VERSION	0x54
#define BC_FORMAT	0
#define BC_DATA		"\x19\x93\r\n\x1a\n"
#define BC_INT		((lua_Integer)0x5678)
#define BC_NUM		((lua_Number)370.5)

/* constant variant tags as chunks store them (type | variant << 4) */
#define BC_VNIL		0x00
#define BC_VFALSE	0x01
#define BC_VTRUE	0x11
#define BC_VNUMINT	0x03
#define BC_VNUMFLT	0x13
#define BC_VSHRSTR	0x04
#define BC_VLNGSTR	0x14

#define BC_MAXSHORTLEN	40	/* longer strings are long strings */
#define BC_MAXUPVAL	255
#define BC_MAXSTACK	255
#define BC_MAXDEPTH	200	/* nesting of prototypes the reader accepts */
#define BC_ABSLINE	(-0x80)	/* lineinfo entry: see abslineinfo */
#define BC_LIMLINEDIFF	0x80	/* relative entries are in (-0x80, 0x80) */
#define BC_MAXIWTHABS	128	/* at most this many relative entries in a row */

/* a string of the chunk; 's' is NULL when absent (size 0 in the chunk) */
typedef struct bc_Str {
  char *s;
  size_t len;
} bc_Str;

typedef struct bc_Const {
  int tag;			/* BC_V* */
  union {
    lua_Integer i;
    lua_Number n;
    bc_Str s;
  } u;
} bc_Const;

typedef struct bc_Upval {
  unsigned char instack, idx, kind;
  bc_Str name;			/* written only when the proto has names */
} bc_Upval;

typedef struct bc_LocVar {
  bc_Str name;
  int startpc, endpc;		/* active in [startpc, endpc) */
} bc_LocVar;

typedef struct bc_AbsLine {
  int pc, line;
} bc_AbsLine;

/* A growable array: n used, size allocated. */
#define BC_VEC(T, name)	T *name; int n##name, sz##name

typedef struct bc_Proto {
  bc_Str source;		/* absent: stripped, or same as the parent's */
  int linedefined, lastlinedefined;
  unsigned char numparams, is_vararg, maxstacksize;
  int upnames;			/* the chunk has upvalue names for this proto */
  BC_VEC(bc_Instr, code);
  BC_VEC(bc_Const, k);
  BC_VEC(bc_Upval, up);
  BC_VEC(struct bc_Proto *, p);
  BC_VEC(signed char, lineinfo);
  BC_VEC(bc_AbsLine, absline);
  BC_VEC(bc_LocVar, locvar);
} bc_Proto;

typedef union bc_Block bc_Block;

typedef struct bc_Chunk {
  lua_Alloc allocf;
  void *allocud;
  bc_Block *blocks;		/* every allocation, to free them all at once */
  int nupvalues;		/* of the main closure (byte after the header) */
  bc_Proto *main;
} bc_Chunk;

#define BC_METATABLE	"cpm.bc"


/* {======================================================
** Tree memory and traversal (bc_tree.c)
** ======================================================= */

/*
** Pushes a new empty chunk (a userdata whose __gc and __close free all
** its memory) and returns it.  Raises on memory error.
*/
bc_Chunk *bc_newchunk (lua_State *L);

/* Checks that argument 'arg' is a chunk; returns it.  Raises otherwise. */
bc_Chunk *bc_checkchunk (lua_State *L, int arg);

/* Raises the formatted message (lua_pushfstring) without a position. */
int bc_error (lua_State *L, const char *fmt, ...);

/* Allocation in the chunk's arena; raise CPM_MSG_NOMEM. */
void *bc_alloc (lua_State *L, bc_Chunk *c, size_t size);
void *bc_realloc (lua_State *L, bc_Chunk *c, void *p, size_t size);
void bc_free (bc_Chunk *c, void *p);

/* Grows vector 'v' (with count n##v and capacity sz##v) of 'obj' to hold
   at least 'need' elements.  Raises on memory error or overflow. */
#define bc_growvec(L, c, obj, v, need) \
  ((need) > (obj)->sz##v ? (void)((obj)->v = bc_growarray(L, (c), (obj)->v, \
      &(obj)->sz##v, (need), sizeof(*(obj)->v))) : (void)0)
void *bc_growarray (lua_State *L, bc_Chunk *c, void *a, int *size, int need,
                    size_t elem);

/* A new zeroed prototype in the chunk's arena. */
bc_Proto *bc_newproto (lua_State *L, bc_Chunk *c);

/*
** Visits every prototype, depth first, parents before children.  'path'
** holds the indices (0-based, into each parent's p) from the main
** function, 'depth' of them.  A visitor returning non-zero stops the walk;
** bc_foreach returns that value (0 when all were visited).
*/
typedef int (*bc_Visitor) (bc_Proto *p, const int *path, int depth,
                           void *ud);
int bc_foreach (bc_Chunk *c, bc_Visitor f, void *ud);

/* The prototype at 'path' ('depth' indices), or NULL when there is none. */
bc_Proto *bc_find (bc_Chunk *c, const int *path, int depth);

/* }====================================================== */


/* {======================================================
** Reader and writer (bc_read.c, bc_write.c)
** ======================================================= */

/*
** Reads a Lua 5.4 binary chunk of 'len' bytes.  Pushes the chunk userdata
** and returns it.  Raises "cpm: bad binary format (why)" on anything that
** is not exactly a Lua 5.4 chunk of this platform (or on memory errors);
** the partial tree is then freed by the GC.  Call it under lua_pcall.
*/
bc_Chunk *bc_read (lua_State *L, const char *s, size_t len);

/*
** Raises "cpm: bad binary format (why)" (or a line information error of
** bc_getlines) when an instruction, upvalue description, scope or line
** entry of 'c' names anything outside the sizes the chunk gives, or the
** header's upvalue count is not main's (bc_check.c lists the checks).
** bc_read calls it: every tree the passes see has passed it.
*/
void bc_check (lua_State *L, bc_Chunk *c);

/* Writes chunk 'c' and pushes the bytes as a string.  Raises on memory
   error. */
void bc_write (lua_State *L, const bc_Chunk *c);

/* }====================================================== */


/* {======================================================
** Editing (bc_edit.c).  Functions that raise do so before changing the
** tree, except for memory errors.
** ======================================================= */

/*
** Fills lines[0 .. p->ncode-1] with the absolute line of each
** instruction.  Returns 1 on success, 0 when the proto has no line
** information (stripped); raises when the information is inconsistent.
*/
int bc_getlines (lua_State *L, const bc_Proto *p, int *lines);

/*
** Rebuilds p's lineinfo and abslineinfo from lines[0 .. p->ncode-1],
** with lcode.c's rule.
*/
void bc_setlines (lua_State *L, bc_Chunk *c, bc_Proto *p,
                  const int *lines);

/* Where jumps (and variable scopes) that reach exactly the insertion pc
   go after an insertion. */
#define BC_LANDBEFORE	0	/* on the first inserted instruction */
#define BC_LANDAFTER	1	/* on the old instruction, past the new ones */

/*
** Why 'n' instructions cannot be inserted before 'pc' of 'p' (a static
** string), or NULL when they can: pc out of [0, ncode], pc splitting an
** instruction from the one that completes it (a test and its jump, an
** arithmetic and its MMBIN, LOADKX and EXTRAARG, ...), pc 0 before
** VARARGPREP, or a relocated jump that would no longer fit its field.
*/
const char *bc_caninsert (const bc_Proto *p, int pc, int n, int land);

/*
** Inserts ins[0 .. n-1] before 'pc' (pc == ncode appends).  Relocates
** every jump of the old code (JMP, FORPREP, FORLOOP, TFORPREP, TFORLOOP)
** and the scopes of local variables (TFORPREP keeps landing on its
** TFORCALL, which the VM runs without dispatching it, whatever 'land'
** says); the new instructions carry 'line'
** (ignored when the proto is stripped) and are not relocated: their jump
** offsets are taken as final.  Raises "cpm: cannot insert (why)".
*/
void bc_insert (lua_State *L, bc_Chunk *c, bc_Proto *p, int pc,
                const bc_Instr *ins, int n, int line, int land);

/* Index of a constant equal to 'k' (same variant, same bits), adding it
   when there is none.  Strings are copied. */
int bc_addconst (lua_State *L, bc_Chunk *c, bc_Proto *p, const bc_Const *k);

/* Adds an upvalue description; returns its index.  'name' may be NULL.
   Raises when the proto has BC_MAXUPVAL already. */
int bc_addupval (lua_State *L, bc_Chunk *c, bc_Proto *p, int instack,
                 int idx, int kind, const char *name, size_t namelen);

/* Raises maxstacksize to at least 'size'; raises when size > BC_MAXSTACK. */
void bc_needstack (lua_State *L, bc_Proto *p, int size);

/* }====================================================== */

#endif

#endif
