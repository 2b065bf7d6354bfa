/*
** guard_gf2.c -- the GF(2) ring of the guard.
**
** From the invariants' actual values the body becomes an affine map of the
** state's bits: xor, shifts by a fixed count and masks are affine by
** construction; x & y and x | y of two loop-carried values are affine
** exactly when no bit position depends on the state in both operands,
** which depends on the shift counts, so it is checked here on the
** symbolic "column forms" of the body (see colop).  The map is then
** evaluated on concrete words (Lua 5.4's semantics of each operator,
** lvm.c) and powered by mat_gf2.c.
**
** On LuaJIT the ops come from calls of the bit library (findjit.c lowers
** them to 32-bit ops: shifts by counts 0..31 and masks to 32 bits), a
** value is held as its 32 bits, zero-extended: every number the loop
** reads, entry values of the state and operands alike, is converted as
** LuaJIT's tobit converts it (lj_num2bit: the low word of x + 2^52 +
** 2^51), the results are signed 32-bit numbers, and each function called
** must be the library's own (GUARD_GF2_BITLIB).  That conversion is the
** value modulo 2^32 (rounded to nearest, ties to even) only below 2^51 in
** magnitude; there the interpreter and compiled traces agree, beyond it
** the library leaves the result unspecified (BitOp's "Semantics" page)
** and LuaJIT 2.1's traces differ from its interpreter: such a value runs
** the loop as written.  An entry value that is not already what a bit
** function returns (a 32-bit integer, not -0.0) is fine when no value
** the loop leaves can be a plain copy of it (see copydepth).
*/
#include <math.h>
#include <string.h>

#include "guard.h"
#include "guard_gf2.h"
#include "mat_gf2.h"
#include "plan_gf2.h"

/* Reasons (declared once). */
#define WHY_VM		"bitwise loops are computed on Lua 5.4 integers and " \
			"with LuaJIT's bit library only"
#if CPM_LUAJIT
#define WHY_STATE	"a loop value is not a number below 2^51 in magnitude"
#define WHY_OPERAND	"an operand of a bit function is not a number below " \
			"2^51 in magnitude"
#else
#define WHY_STATE	"a loop value is not an integer"
#define WHY_OPERAND	"an operand of a bitwise operation is not an integer"
#endif
#define WHY_COPIED	"a loop value that is not a 32-bit integer is " \
			"copied as it is"
#define WHY_NONLIN	"'&' or '|' of two loop-carried values that overlap"
#define WHY_LARGE	"loop body too large for the bitwise check"
#define WHY_ENGINE	"the bit-matrix engine failed"
#define WHY_FUNCTION	"a function called is not the bit library's own"

/* Most words of column forms the linearity check allocates. */
#define MAXCOLWORDS	(1 << 20)

/* The bits of a state's word that may be nonzero: on LuaJIT every value
   is held as 32 bits, zero-extended (entry values converted, every op's
   result masked to 32 bits), so the top bits depend on nothing (which
   lets `bit.bor(bit.lshift(h, 13), bit.rshift(l, 19))`, a 64-bit shift
   written in halves, pass the check). */
#if CPM_LUAJIT
#define STATEBITS	32
#else
#define STATEBITS	64
#endif


#if CPM_LUA54 || CPM_LUAJIT

/* The body compiled for concrete words, from the invariants' values. */
typedef enum Kind {
  K_ENTRY, K_XOR, K_AND, K_OR, K_NOT, K_SHL, K_SHR, K_ZERO,
  K_XSHL, K_XSHR, K_MOVE	/* x ~ (y << sh), x ~ (y >> sh), x: fused */
} Kind;

typedef struct Code {
  unsigned char kind;
  unsigned char sh;	/* shifts: the count, 0..63 */
  int d;		/* the form it computes */
  int x, y;		/* indices into Body.aval (K_ENTRY: the state) */
} Code;

struct GCache;

typedef struct Body {
  const plan_Plan *p;
  const struct GCache *gc;	/* its terms and tables */
  int k;		/* states */
  int kw;		/* 64-bit words the engine sees (ENGINEWORDS) */
  uint64_t *aval;	/* natoms: atoms as integers (those used) */
  uint64_t *val;	/* ngops: the value of each form (aval + natoms) */
  Code *code;		/* ncode <= ngops */
  int ncode;
  int *uses;		/* ngops: scratch of compile */
  int *upd;		/* nstate: index into aval of each state's update */
} Body;


/* x << c with Lua 5.4's semantics (luaV_shiftl): counts of 64 or more in
   either direction give 0, negative counts shift right, logically. */
static uint64_t shiftl (uint64_t x, int64_t c) {
  if (c < 0) return c <= -64 ? 0 : x >> (unsigned)(-c);
  return c >= 64 ? 0 : x << (unsigned)c;
}


/*
** The count of shift 'o' by the count operand's value c (a word as
** tointeger gives it), as a shift to the left (negative: to the right)
** by Lua 5.4's rules (shiftl); ir.h, ir_Count.
*/
static int64_t leftcount (const plan_GOp *o, uint64_t c) {
  int64_t n;
  switch (o->count) {
    case IR_COUNT_BIT: n = (int64_t)(c & 31); break;
    case IR_COUNT_BIT32SUB: n = 32 - (int64_t)(c & 31); break;
    default: n = (int64_t)c; break;
  }
  /* x >> c is x << -c, the negation wrapping as lvm.c's */
  return o->aop == IR_SHL ? n : (int64_t)(0 - (uint64_t)n);
}


/* Index into aval of a plan_GOp operand. */
static int windex (const plan_Plan *p, int x) {
  return x >= 0 ? p->natoms + x : -1 - x;
}


/*
** A shift whose only use is an xor is done inside the xor (one dispatch
** instead of two: xorshift bodies are made of these); then the code is
** compacted, each op naming the form it computes.
*/
static void fuse (Body *b) {
  const plan_Plan *p = b->p;
  int i, nc = 0, *uses = b->uses;
  memset(uses, 0, (size_t)p->ngops * sizeof(int));
  for (i = 0; i < p->ngops; i++) {
    const plan_GOp *o = &p->gops[i];
    if (o->aop == PLAN_GENTRY) continue;
    if (o->x >= 0) uses[o->x]++;
    if (o->y >= 0 && o->aop != IR_BNOT) uses[o->y]++;
  }
  for (i = 0; i < p->nstate; i++)
    if (p->gupd[i] >= 0) uses[p->gupd[i]]++;
  for (i = 0; i < p->ngops; i++) {
    Code *c = &b->code[i];
    c->d = i;
    if (c->kind == K_XOR) {
      const plan_GOp *o = &p->gops[i];
      int side;
      for (side = 0; side < 2; side++) {
        int j = side ? o->y : o->x;
        Code *s = j >= 0 ? &b->code[j] : NULL;
        if (s != NULL && uses[j] == 1 &&
            (s->kind == K_SHL || s->kind == K_SHR || s->kind == K_ZERO)) {
          c->x = side ? c->x : c->y;  /* the other operand */
          c->kind = s->kind == K_SHL ? K_XSHL : s->kind == K_SHR ? K_XSHR
                                                                 : K_MOVE;
          c->y = s->x;
          c->sh = s->sh;
          s->d = -1;  /* computed inside c */
          break;
        }
      }
    }
  }
  for (i = 0; i < p->ngops; i++)  /* in place: nc <= i */
    if (b->code[i].d >= 0) b->code[nc++] = b->code[i];
  b->ncode = nc;
}


/* Compiles the body for the atoms' values in b->aval. */
static void compile (Body *b) {
  const plan_Plan *p = b->p;
  int i;
  for (i = 0; i < p->ngops; i++) {
    const plan_GOp *o = &p->gops[i];
    Code *c = &b->code[i];
    c->sh = 0;
    if (o->aop == PLAN_GENTRY) {
      c->kind = K_ENTRY; c->x = o->x; c->y = 0;
      continue;
    }
    c->x = windex(p, o->x); c->y = windex(p, o->y);
    switch (o->aop) {
      case IR_BXOR: c->kind = K_XOR; break;
      case IR_BAND: c->kind = K_AND; break;
      case IR_BOR: c->kind = K_OR; break;
      case IR_BNOT: c->kind = K_NOT; break;
      default: {  /* shifts: direction and count from the count's value */
        int64_t left = leftcount(o, b->aval[c->y]);
        if (left <= -64 || left >= 64) c->kind = K_ZERO;
        else if (left >= 0) { c->kind = K_SHL; c->sh = (unsigned char)left; }
        else { c->kind = K_SHR; c->sh = (unsigned char)-left; }
        break;
      }
    }
  }
  for (i = 0; i < p->nstate; i++) b->upd[i] = windex(p, p->gupd[i]);
  fuse(b);
}


/* One iteration on concrete words: out = T(in). */
static void body_map (void *ud, const uint64_t *in, uint64_t *out) {
  Body *b = (Body *)ud;
  const Code *c = b->code;
  uint64_t *w = b->aval, *v = b->val;
  int i, n = b->ncode;
  for (i = 0; i < n; i++, c++) {
    switch (c->kind) {
      case K_ENTRY: v[c->d] = in[c->x]; break;
      case K_XOR: v[c->d] = w[c->x] ^ w[c->y]; break;
      case K_XSHL: v[c->d] = w[c->x] ^ (w[c->y] << c->sh); break;
      case K_XSHR: v[c->d] = w[c->x] ^ (w[c->y] >> c->sh); break;
      case K_MOVE: v[c->d] = w[c->x]; break;
      case K_AND: v[c->d] = w[c->x] & w[c->y]; break;
      case K_OR: v[c->d] = w[c->x] | w[c->y]; break;
      case K_NOT: v[c->d] = ~w[c->x]; break;
      case K_SHL: v[c->d] = w[c->x] << c->sh; break;
      case K_SHR: v[c->d] = w[c->x] >> c->sh; break;
      default: v[c->d] = 0; break;
    }
  }
  for (i = 0; i < b->k; i++) out[i] = w[b->upd[i]];
}


/*
** On LuaJIT a state is 32 bits (zero-extended, see STATEBITS): the
** engine, whose cost grows with the square of its words, gets two states
** a word, state i in the low (i even) or high (i odd) half of word i / 2
** (xorshift64 written in 32-bit halves is one word, as on Lua 5.4).  The
** packing is linear, so the packed map is affine when the body is.
*/
#if CPM_LUAJIT
#define ENGINEWORDS(k)	(((k) + 1) / 2)

static void pack (int k, const uint64_t *u, uint64_t *w) {
  int i;
  for (i = 0; i < ENGINEWORDS(k); i++) w[i] = 0;
  for (i = 0; i < k; i++) w[i >> 1] |= (u[i] & 0xffffffffu) << (32 * (i & 1));
}

static void unpack (int k, const uint64_t *w, uint64_t *u) {
  int i;
  for (i = 0; i < k; i++) u[i] = (w[i >> 1] >> (32 * (i & 1))) & 0xffffffffu;
}

static void engine_map (void *ud, const uint64_t *in, uint64_t *out) {
  Body *b = (Body *)ud;
  uint64_t u[PLAN_GF2_MAXWORDS], t[PLAN_GF2_MAXWORDS];
  unpack(b->k, in, u);
  body_map(b, u, t);
  pack(b->k, t, out);
}
#else
#define ENGINEWORDS(k)	(k)
#define engine_map	body_map
#endif


#if CPM_LUA54

/* A Lua value as a bitwise operand, as lvm.c converts it (an integer, or
   a float with an integral value); 0 when Lua would raise or call a
   metamethod. */
static int tointeger (lua_State *L, int idx, uint64_t *u) {
  int ok = 0;
  lua_Integer i;
  if (lua_type(L, idx) != LUA_TNUMBER) return 0;
  i = lua_tointegerx(L, idx, &ok);
  *u = (uint64_t)i;
  return ok;
}

/* A state's entry value: an integer ('*exact': always, as the integer
   is what the loop's operators give). */
static int tostate (lua_State *L, int idx, uint64_t *u, int *exact) {
  *exact = 1;
  if (!lua_isinteger(L, idx)) return 0;
  *u = (uint64_t)lua_tointeger(L, idx);
  return 1;
}

static void pushword (lua_State *L, uint64_t u) {
  lua_pushinteger(L, (lua_Integer)u);
}

static int isbitresult (lua_State *L, int idx) {
  return lua_isinteger(L, idx);
}

#else

/* Magnitudes from here on leave tobit's result unspecified (see above). */
#define TOBIT_RANGE	2251799813685248.0	/* 2^51 */

/* A number as LuaJIT's bit functions convert it (lj_num2bit: the low
   word of x + 2^52 + 2^51), zero-extended; 0 for any other value (the
   function raises) and for a number of TOBIT_RANGE or more in magnitude
   (NaN and the infinities too). */
static int tointeger (lua_State *L, int idx, uint64_t *u) {
  union { double d; uint64_t u; } o;
  double d;
  if (lua_type(L, idx) != LUA_TNUMBER) return 0;
  d = lua_tonumber(L, idx);
  if (!(d > -TOBIT_RANGE && d < TOBIT_RANGE)) return 0;
  o.d = d + 6755399441055744.0;
  *u = o.u & 0xffffffffu;
  return 1;
}

/* Is the value at idx what a bit function returns: a number that is a
   32-bit integer, not -0.0 (a move keeps -0.0, a bit function never
   gives it)? */
static int isbitresult (lua_State *L, int idx) {
  double d;
  if (lua_type(L, idx) != LUA_TNUMBER) return 0;
  d = lua_tonumber(L, idx);
  return d >= -2147483648.0 && d <= 2147483647.0 && d == (double)(int32_t)d &&
         !(d == 0 && signbit(d));
}

/* A state's entry value: converted as an operand ('*exact': it is already
   what a bit function returns, so that the loop may also copy it). */
static int tostate (lua_State *L, int idx, uint64_t *u, int *exact) {
  *exact = isbitresult(L, idx);
  return tointeger(L, idx, u);
}

static void pushword (lua_State *L, uint64_t u) {
  lua_pushnumber(L, (double)(int32_t)(uint32_t)u);
}

#endif


/* Column form of operand x (D words) into 'dst'. */
static void colarg (const Body *b, uint64_t *cols, int D, int x,
                    uint64_t *dst) {
  if (x >= 0) memcpy(dst, &cols[(size_t)x * D], (size_t)D * 8);
  else {
    memset(dst, 0, (size_t)D * 8);
    dst[D - 1] = b->aval[-1 - x];
  }
}


/*
** The column form of each form: word j < 64k says which bits of the value
** bit j of the state flips, word 64k is the constant part.  An op is
** affine on these exactly as on values, except & and | of two forms:
** affine iff no bit depends on the state in both (then each bit is one
** operand's bit or a constant).  Returns 0 when some bit does.
*/
static int linear (const Body *b, uint64_t *cols, uint64_t *x, uint64_t *y) {
  const plan_Plan *p = b->p;
  int D = 64 * b->k + 1, i, j;
  for (i = 0; i < p->ngops; i++) {
    const plan_GOp *o = &p->gops[i];
    uint64_t *r = &cols[(size_t)i * D];
    if (o->aop == PLAN_GENTRY) {
      memset(r, 0, (size_t)D * 8);
      for (j = 0; j < STATEBITS; j++) r[64 * o->x + j] = (uint64_t)1 << j;
      continue;
    }
    colarg(b, cols, D, o->x, x);
    colarg(b, cols, D, o->y, y);
    switch (o->aop) {
      case IR_BXOR: for (j = 0; j < D; j++) r[j] = x[j] ^ y[j]; break;
      case IR_SHL: case IR_SHR: {
        int64_t c = leftcount(o, b->aval[-1 - o->y]);
        for (j = 0; j < D; j++) r[j] = shiftl(x[j], c);
        break;
      }
      case IR_BNOT:
        memcpy(r, x, (size_t)D * 8);
        r[D - 1] = ~r[D - 1];
        break;
      default: {  /* IR_BAND, IR_BOR */
        uint64_t vx = 0, vy = 0, cx = x[D - 1], cy = y[D - 1], sx, sy, ones;
        for (j = 0; j < D - 1; j++) { vx |= x[j]; vy |= y[j]; }
        if (vx & vy) return 0;
        if (o->aop == IR_BAND) {  /* a bit is x's where y is 1, y's where x is 1 */
          sx = ~vy & cy;
          sy = ~vx & cx & ~sx;
          ones = 0;
        }
        else {  /* x's where y is 0, y's where x is 0, else 1 */
          sx = ~vy & ~cy;
          sy = ~vx & ~cx & ~sx;
          ones = ~(sx | sy);
        }
        for (j = 0; j < D; j++) r[j] = (x[j] & sx) | (y[j] & sy);
        r[D - 1] |= ones;
        break;
      }
    }
  }
  return 1;
}


/* {======================================================
** The body as terms.  Once linear() holds (or no & or | of two forms is
** there), every value of the body is c ^ (t1 ^ t2 ^ ...) with each term
** (x_j shifted by s) & m over the states' entry words: a state's entry is
** one term; xor merges the terms (same j and s: masks xored); a shift
** moves each term (its mask, shifted too, keeps only the bits that came
** from x_j); & and | with a constant mask the masks and the constant;
** ~ flips the constant; & and | of two values whose state-dependent bits
** are apart take each bit from one side (as in linear()).  Each update of
** the state is then computed by a shift, an and and an xor per term,
** without the dispatch of body_map over every op of the body: bodies of
** many small ops (LuaJIT's, where each bit call is 2 to 13 ops) become a
** few terms.
** ======================================================= */

typedef struct Term {
  uint64_t m;
  int16_t j;	/* the state */
  int16_t s;	/* the shift: to the left when >= 0 (-63..63) */
} Term;

/* One value as terms: 'n' terms from 'first' in the arena, sorted by j
   then s, and the constant. */
typedef struct Lin {
  int first, n;
  uint64_t c;
} Lin;

/* Most terms built for one body (all values), and kept for its updates. */
#define MAXBUILDTERMS	4096
#define MAXTERMS	256

/* Terms are used when at most this many per op of the compiled body (a
   term is a shift, an and and an xor; an op a dispatch and one or two) */
#ifndef TERMSPEROP
#define TERMSPEROP	2
#endif

typedef struct Build {
  Term *t;
  int n;	/* used in the arena (MAXBUILDTERMS) */
} Build;


static int termless (const Term *a, const Term *b) {
  return a->j != b->j ? a->j < b->j : a->s < b->s;
}


/* A new value: x ^ y (y may be NULL: x's terms with masks and 'c'). */
static int tmerge (Build *bd, const Lin *x, const Lin *y, uint64_t mx,
                   uint64_t my, uint64_t c, Lin *r) {
  int i = 0, j = 0, ny = y != NULL ? y->n : 0;
  r->first = bd->n; r->n = 0; r->c = c;
  while (i < x->n || j < ny) {
    Term t;
    const Term *a = i < x->n ? &bd->t[x->first + i] : NULL;
    const Term *b = j < ny ? &bd->t[y->first + j] : NULL;
    if (b == NULL || (a != NULL && termless(a, b))) { t = *a; t.m &= mx; i++; }
    else if (a == NULL || termless(b, a)) { t = *b; t.m &= my; j++; }
    else { t = *a; t.m = (a->m & mx) ^ (b->m & my); i++; j++; }
    if (t.m == 0) continue;
    if (bd->n >= MAXBUILDTERMS) return 0;
    bd->t[bd->n++] = t;
    r->n++;
  }
  return 1;
}


/* x shifted by 'left' (Lua 5.4's rules). */
static int tshift (Build *bd, const Lin *x, int64_t left, Lin *r) {
  int i;
  r->first = bd->n; r->n = 0; r->c = shiftl(x->c, left);
  for (i = 0; i < x->n; i++) {
    Term t = bd->t[x->first + i];
    t.m = shiftl(t.m, left);
    if (t.m == 0) continue;  /* shifted out (so |s + left| < 64 below) */
    t.s = (int16_t)(t.s + left);
    if (bd->n >= MAXBUILDTERMS) return 0;
    bd->t[bd->n++] = t;
    r->n++;
  }
  return 1;
}


/* The value of plan_GOp operand 'x' as terms (an atom: its constant). */
static Lin targ (const Body *b, const Lin *lin, int x) {
  Lin r;
  if (x >= 0) return lin[x];
  r.first = 0; r.n = 0; r.c = b->aval[-1 - x];
  return r;
}


/*
** The updates of the states as terms, into 'out' (at most MAXTERMS),
** 'first' (k + 1 offsets) and 'c' (k constants); 'lin' and 'arena' are
** scratch (ngops and MAXBUILDTERMS).  0 when there are too many terms or
** an & or | of two values whose bits are not apart (then body_map).
*/
static int terms (const Body *b, Lin *lin, Term *arena, Term *out,
                  int *first, uint64_t *c) {
  const plan_Plan *p = b->p;
  Build bd;
  int i, nout = 0;
  bd.t = arena; bd.n = 0;
  for (i = 0; i < p->ngops; i++) {
    const plan_GOp *o = &p->gops[i];
    Lin x, y, *r = &lin[i];
    int ok;
    if (o->aop == PLAN_GENTRY) {
      if (bd.n >= MAXBUILDTERMS) return 0;
      bd.t[bd.n].m = ~(uint64_t)0 >> (64 - STATEBITS);  /* the bits it has */
      bd.t[bd.n].j = (int16_t)o->x; bd.t[bd.n].s = 0;
      r->first = bd.n++; r->n = 1; r->c = 0;
      continue;
    }
    x = targ(b, lin, o->x);
    y = targ(b, lin, o->y);
    switch (o->aop) {
      case IR_BXOR: ok = tmerge(&bd, &x, &y, ~(uint64_t)0, ~(uint64_t)0, x.c ^ y.c, r); break;
      case IR_SHL: case IR_SHR:
        ok = tshift(&bd, &x, leftcount(o, b->aval[-1 - o->y]), r);
        break;
      case IR_BNOT: *r = x; r->c = ~x.c; ok = 1; break;
      default: {  /* IR_BAND, IR_BOR: as in linear() */
        uint64_t vx = 0, vy = 0, sx, sy, ones;
        int t;
        for (t = 0; t < x.n; t++) vx |= bd.t[x.first + t].m;
        for (t = 0; t < y.n; t++) vy |= bd.t[y.first + t].m;
        if (vx & vy) return 0;
        if (o->aop == IR_BAND) { sx = ~vy & y.c; sy = ~vx & x.c & ~sx; ones = 0; }
        else { sx = ~vy & ~y.c; sy = ~vx & ~x.c & ~sx; ones = ~(sx | sy); }
        ok = tmerge(&bd, &x, &y, sx, sy, (x.c & sx) ^ (y.c & sy) ^ ones, r);
        break;
      }
    }
    if (!ok) return 0;
  }
  for (i = 0; i < b->k; i++) {
    Lin u = targ(b, lin, p->gupd[i]);
    first[i] = nout;
    c[i] = u.c;
    if (nout + u.n > MAXTERMS) return 0;
    memcpy(&out[nout], &bd.t[u.first], (size_t)u.n * sizeof(Term));
    nout += u.n;
  }
  first[b->k] = nout;
  return 1;
}

/* }====================================================== */


/*
** The engine's cache, kept in the guard's upvalue between calls, with the
** atoms' values it was made for (the map depends on nothing else), and
** the updates as terms for those values (nterms -1: none, use body_map).
*/
/* Engine words up to which the map is also tabled: 8 kw tables of 256
   entries of kw words (64 KB at 2). */
#define TABLEWORDS	2
#define TABLESIZE(kw)	((kw) <= TABLEWORDS ? (size_t)2048 * (kw) * (kw) : 0)

/* ... and when its compiled body has more ops than this a word (8 table
   lookups a word; xorshift64's 4 fused ops on Lua 5.4 are as fast) */
#define TABLEOPS	8
#define TABLED(b)	(TABLESIZE((b)->kw) > 0 && (b)->ncode > TABLEOPS * (b)->kw)

typedef struct GCache {
  mat_gf2_Cache mc;
  const plan_Plan *plan;	/* the plan it was made for */
  int natoms;
  int built;		/* terms and tables tried (for these atoms' values) */
  int tabled;		/* tab holds the map */
  uint64_t *tab;	/* TABLESIZE(kw) words: the map's tables */
  uint64_t tc[TABLEWORDS];	/* the map's constant, T(0) */
  int nterms;
  int first[PLAN_GF2_MAXWORDS + 1];
  uint64_t c[PLAN_GF2_MAXWORDS];
  Term terms[MAXTERMS];
  uint64_t words[1];	/* natoms key words, then the engine's storage */
} GCache;


/*
** On LuaJIT the terms of the states become terms of the engine's packed
** words (pack): state j's bits sit at offset oj = 32 (j & 1) of word
** j / 2, so a term (j, s, m) of state i is the term (j / 2, s + oi - oj,
** m << oi) of word i / 2 (m keeps only bits that came from state j's 32,
** so the other half of word j / 2 never gets in).  Same source word and
** shift: one term.  0 when there are too many.
*/
#if CPM_LUAJIT
static int packterms (GCache *gc, int k) {
  Term t[MAXTERMS];
  int first[PLAN_GF2_MAXWORDS + 1], i, n = 0, w;
  uint64_t c[PLAN_GF2_MAXWORDS];
  for (w = 0; w < ENGINEWORDS(k); w++) {
    first[w] = n;
    c[w] = 0;
    for (i = 2 * w; i < 2 * w + 2 && i < k; i++) {
      int oi = 32 * (i & 1), e;
      c[w] |= (gc->c[i] & 0xffffffffu) << oi;
      for (e = gc->first[i]; e < gc->first[i + 1]; e++) {
        Term u = gc->terms[e];
        int oj = 32 * (u.j & 1), f;
        u.s = (int16_t)(u.s + oi - oj);
        u.j = (int16_t)(u.j / 2);
        u.m = (u.m & 0xffffffffu) << oi;
        for (f = first[w]; f < n && (t[f].j != u.j || t[f].s != u.s); f++) ;
        if (f < n) t[f].m ^= u.m;
        else if (n >= MAXTERMS) return 0;
        else t[n++] = u;
      }
    }
  }
  first[ENGINEWORDS(k)] = n;
  memcpy(gc->terms, t, (size_t)n * sizeof(Term));
  memcpy(gc->first, first, sizeof(first));
  memcpy(gc->c, c, sizeof(c));
  gc->nterms = n;
  return 1;
}
#endif


/* One iteration from the terms: out = T(in) over the engine's words. */
static void terms_map (void *ud, const uint64_t *in, uint64_t *out) {
  const GCache *gc = ((const Body *)ud)->gc;
  const Term *t = gc->terms;
  int i, k = ((const Body *)ud)->kw;
  for (i = 0; i < k; i++) {
    uint64_t acc = gc->c[i];
    const Term *e = gc->terms + gc->first[i + 1];
    for (; t < e; t++)
      acc ^= (t->s >= 0 ? in[t->j] << t->s : in[t->j] >> -t->s) & t->m;
    out[i] = acc;
  }
}


/*
** The map T over the engine's kw words as tables (Arlazarov, Dinic,
** Kronrod, Faradzev's "four Russians" grouping of a matrix's columns, by
** bytes): table q's entry x is the xor of T's columns for the set bits of
** byte x at byte position q, so that T(v) = T(0) ^ the entries of v's
** 8 kw bytes.  A column is T(e_b) ^ T(0), from the map itself; entries
** of several bits xor those of fewer, in increasing order.
*/
static void maketables (Body *b, GCache *gc, mat_gf2_Map map) {
  uint64_t zero[PLAN_GF2_MAXWORDS], e[PLAN_GF2_MAXWORDS];
  int kw = b->kw, q, x, i;
  memset(zero, 0, sizeof(zero));
  map(b, zero, gc->tc);
  for (q = 0; q < 8 * kw; q++) {
    uint64_t *t = gc->tab + (size_t)q * 256 * kw;
    memset(t, 0, (size_t)kw * 8);
    for (x = 1; x < 256; x++) {
      uint64_t *r = t + (size_t)x * kw;
      if ((x & (x - 1)) == 0) {  /* one bit: a column */
        int bit = 8 * q;
        while ((1 << (bit - 8 * q)) != x) bit++;
        memset(e, 0, sizeof(e));
        e[bit / 64] = (uint64_t)1 << (bit % 64);
        map(b, e, r);
        for (i = 0; i < kw; i++) r[i] ^= gc->tc[i];
      }
      else {
        const uint64_t *u = t + (size_t)(x & (x - 1)) * kw,
                       *w = t + (size_t)(x & -x) * kw;
        for (i = 0; i < kw; i++) r[i] = u[i] ^ w[i];
      }
    }
  }
  gc->tabled = 1;
}


/* One iteration from the tables: out = T(in) over the engine's words. */
static void table_map (void *ud, const uint64_t *in, uint64_t *out) {
  const GCache *gc = ((const Body *)ud)->gc;
  int kw = ((const Body *)ud)->kw, w, r, i;
  const uint64_t *t = gc->tab;
  for (i = 0; i < kw; i++) out[i] = gc->tc[i];
  for (w = 0; w < kw; w++) {
    uint64_t word = in[w];
    for (r = 0; r < 8; r++, t += 256 * (size_t)kw) {
      const uint64_t *e = t + (size_t)((word >> (8 * r)) & 255) * kw;
      for (i = 0; i < kw; i++) out[i] ^= e[i];
    }
  }
}


/* The cache for b's plan, made at the first call; '*fresh' when it was
   made for other atoms' values (or is new): then it is emptied and keyed
   to these. */
static GCache *getcache (lua_State *L, int idx, const Body *b, int *fresh) {
  const plan_Plan *p = b->p;
  GCache *gc = (GCache *)lua_touserdata(L, idx);
  size_t na = (size_t)p->natoms;
  *fresh = 0;
  if (gc == NULL || gc->plan != p) {  /* one plan a guard: made once */
    /* room for tables when this body would get them (its compiled
       length may change with the counts: then it has none) */
    size_t cw = mat_gf2_cachewords(b->kw), tw = TABLED(b) ? TABLESIZE(b->kw) : 0;
    gc = (GCache *)cpm_newuserdata(L, sizeof(GCache) + (na + cw + tw) *
                                      sizeof(uint64_t));
    gc->plan = p;
    gc->natoms = p->natoms;
    mat_gf2_cacheinit(&gc->mc, b->kw, gc->words + na);
    gc->tab = tw > 0 ? gc->words + na + cw : NULL;
    lua_replace(L, idx);
  }
  else if (gc->mc.dp >= 0 && memcmp(gc->words, b->aval, na * 8) == 0)
    return gc;
  memcpy(gc->words, b->aval, na * 8);
  gc->mc.dp = -1;
  gc->nterms = -1;
  gc->tabled = 0;
  gc->built = 0;
  *fresh = 1;
  return gc;
}

#endif


/*
** For how many iterations may some state still hold state s's entry value
** as it is?  A move (x = y) copies the value itself, not its conversion,
** which the state's words hold; every other use of it is an op, which
** reads it converted.  The copies form chains (xorshift128's x, y, z =
** y, z, w): after more iterations than the longest chain from s, no
** value the loop leaves is s's entry value.  -1: for ever (a cycle of
** moves, x, y = y, x).  A state's update is one value, so a cycle met
** from s goes through s.
*/
static int copydepth (const plan_Plan *p, int s) {
  unsigned cur = 1u << s, next;
  int depth = 0, t;
  for (;;) {
    next = 0;
    for (t = 0; t < p->nstate; t++) {
      int f = p->gupd[t];
      if (f >= 0 && p->gops[f].aop == PLAN_GENTRY && (cur >> p->gops[f].x & 1))
        next |= 1u << t;
    }
    if (next == 0) return depth;
    if ((next >> s & 1) || depth > p->nstate) return -1;
    cur = next;
    depth++;
  }
}


/* Is every function called the library's own?  (An atom, evaluated at
   entry; the library's functions in the registry, GUARD_GF2_BITLIB.) */
static int ownfunctions (lua_State *L, const plan_Plan *p, int abase) {
  static const char *const names[] = { NULL,
#define IR_FN_NAME(name, str)	str,
    IR_FNS(IR_FN_NAME)
#undef IR_FN_NAME
  };
  int i, ok = 1;
  if (p->ncalls == 0) return 1;
  lua_getfield(L, LUA_REGISTRYINDEX, GUARD_GF2_BITLIB);
  for (i = 0; ok && i < p->ncalls; i++) {
    int fn = p->calls[2 * i + 1];
    if (!lua_istable(L, -1) || fn <= IR_FN_NONE || fn >= IR_NFN) ok = 0;
    else {
      lua_getfield(L, -1, names[fn]);
      ok = lua_isfunction(L, -1) && lua_rawequal(L, -1, abase + p->calls[2 * i]);
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  return ok;
}


int guard_gf2 (lua_State *L, const plan_Plan *p, int abase, int ibase,
               mpz_srcptr n, int cache, const char **why) {
#if CPM_LUA54 || CPM_LUAJIT
  Body b;
  uint64_t v[PLAN_GF2_MAXWORDS], small[512];  /* most bodies: no allocation */
  int upd[PLAN_GF2_MAXWORDS], i, twoforms = 0, fresh;
  size_t size;
  GCache *gc;
  mat_gf2_Cache *mc;
  mat_gf2_Map map;
  b.p = p;
  b.k = p->nstate;
  b.kw = ENGINEWORDS(b.k);
#if CPM_LUAJIT
  /* LuaJIT has no bitwise operators: only calls of the bit library, which
     findjit.c lowers to 32-bit ops, make such a plan */
  if (p->ncalls == 0) return *why = WHY_VM, 0;
#endif
  if (!ownfunctions(L, p, abase)) return *why = WHY_FUNCTION, 0;
  for (i = 0; i < p->nstate; i++) {
    const plan_State *st = &p->state[i];
    int exact;
    v[i] = 0;
    if (st->kind == PS_SLOT) {
      if (!tostate(L, ibase + p->slot_in[st->slot], &v[i], &exact))
        return *why = WHY_STATE, 0;
      if (!exact) {
        int d = copydepth(p, i);
        if (d < 0 || mpz_cmp_ui(n, (unsigned long)d) <= 0)
          return *why = WHY_COPIED, 0;
      }
    }
    /* an invariant assigned to a state must be what the ops give too: it
       is what the state holds after the loop, and types are not tracked
       here */
    if (p->gupd[i] < 0 && !isbitresult(L, abase - 1 - p->gupd[i]))
      return *why = WHY_STATE, 0;
  }
  size = ((size_t)p->natoms + (size_t)p->ngops + 1) * 8 +
         (size_t)p->ngops * (sizeof(Code) + sizeof(int));
  b.aval = size <= sizeof(small) ? small
                                 : (uint64_t *)cpm_newbuffer(L, size);
  b.val = b.aval + p->natoms;
  b.code = (Code *)(b.val + p->ngops + 1);
  b.uses = (int *)(b.code + p->ngops);
  b.upd = upd;
  memset(b.aval, 0, (size_t)p->natoms * 8);
  for (i = 0; i < p->ngops; i++) {
    const plan_GOp *o = &p->gops[i];
    int j, args[2];
    if (o->aop == PLAN_GENTRY) continue;
    args[0] = o->x; args[1] = o->y;
    for (j = 0; j < 2; j++)
      if (args[j] < 0 &&
          !tointeger(L, abase - 1 - args[j], &b.aval[-1 - args[j]]))
        return *why = WHY_OPERAND, 0;
    if ((o->aop == IR_BAND || o->aop == IR_BOR) && o->x >= 0 && o->y >= 0)
      twoforms = 1;
  }
  for (i = 0; i < p->nstate; i++)
    if (p->gupd[i] < 0)
      tointeger(L, abase - 1 - p->gupd[i], &b.aval[-1 - p->gupd[i]]);
  /* the cache holds a polynomial only for atoms whose map passed the check */
  compile(&b);
  gc = getcache(L, cache, &b, &fresh);
  mc = &gc->mc;
  if (twoforms && fresh) {
    size_t D = 64 * (size_t)b.k + 1, words = ((size_t)p->ngops + 2) * D;
    uint64_t *cols;
    if (words > MAXCOLWORDS) return *why = WHY_LARGE, 0;
    cols = (uint64_t *)cpm_newbuffer(L, words * 8);
    if (!linear(&b, cols, cols + (size_t)p->ngops * D,
                cols + ((size_t)p->ngops + 1) * D))
      return *why = WHY_NONLIN, 0;
  }
  b.gc = gc;
  /* terms and tables pay when the map is used again: they are made at the
     second call with the same values (a new mask each call makes none) */
  if (!fresh && !gc->built) {
    Lin *lin = (Lin *)cpm_newbuffer(L, (size_t)p->ngops * sizeof(Lin) +
                                         MAXBUILDTERMS * sizeof(Term));
    if (terms(&b, lin, (Term *)(lin + p->ngops), gc->terms, gc->first, gc->c) &&
        gc->first[b.k] <= TERMSPEROP * b.ncode)
      gc->nterms = gc->first[b.k];
#if CPM_LUAJIT
    if (gc->nterms >= 0 && !packterms(gc, b.k)) gc->nterms = -1;
#endif
    if (gc->tab != NULL && TABLED(&b))
      maketables(&b, gc, gc->nterms >= 0 ? terms_map : engine_map);
    gc->built = 1;
  }
  map = gc->tabled ? table_map : gc->nterms >= 0 ? terms_map : engine_map;
#if CPM_LUAJIT
  {
    uint64_t w[PLAN_GF2_MAXWORDS];
    pack(b.k, v, w);
    if (mat_gf2_powapply(b.kw, map, &b, w, n, mc, NULL) != MAT_OK)
      return *why = WHY_ENGINE, 0;
    unpack(b.k, w, v);
  }
#else
  if (mat_gf2_powapply(b.kw, map, &b, v, n, mc, NULL) != MAT_OK)
    return *why = WHY_ENGINE, 0;
#endif
  guard_pushok(L, p->nout);
  for (i = 0; i < p->nout; i++) {
    const plan_Out *o = &p->out[i];
    if (o->state >= 0) pushword(L, v[o->state]);
    else lua_pushvalue(L, abase + o->atom);
  }
  return 1 + p->nout;
#else
  (void)L; (void)p; (void)abase; (void)ibase; (void)n; (void)cache;
  *why = WHY_VM;
  return 0;
#endif
}
