/*
** report.h -- the report of cpm.optimize's bytecode drivers
** (src/lua54/optimize54.c, src/luajit/optimizejit.c): one entry a loop
** ({ line =, optimized =, reason = | depends =, kind =, iters_limit = },
** doc/manual.md, cpm.optimize), and strict's refusal.
*/
#ifndef report_h
#define report_h

#include "cpm.h"
#include "ir.h"

/* The refused loop strict raises for: the first in the source (the
   outer loop of a nest, which a driver sees after its inner loops). */
typedef struct report_Strict {
  int line;		/* 0: none */
  char why[256];
} report_Strict;

/*
** Appends the entry of the loop at 'line' to the list at stack index
** 'list' (*n entries so far); 'why', when not NULL, is a refused loop's
** reason or what computing an optimized one needs; 'limit' > 0 is noted
** as iters_limit.  With 'st' (strict), a refusal is kept there when it
** comes first in the source.  Raises memory errors only.
*/
void report_loop (lua_State *L, int list, int *n, int line, int optimized,
                  const char *why, lua_Integer limit, ir_Kind kind,
                  report_Strict *st);

/* Raises "cpm: <where>:<line>: <reason>" for the refusal 'st' keeps, if
   any. */
void report_strictraise (lua_State *L, const report_Strict *st,
                         const char *where);

#endif
