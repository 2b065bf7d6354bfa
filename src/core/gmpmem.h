/*
** gmpmem.h -- GMP's memory: allocation functions with an emergency
** reserve, and the check made before GMP is called (gmpmem.c says why).
*/
#ifndef gmpmem_h
#define gmpmem_h

#include <gmp.h>

#include "cpm.h"

/* Bytes kept back for GMP's small allocations when malloc fails: more
   than every temporary of a call nobody probes (results below
   GMPMEM_PROBE_MIN bytes) needs. */
#define GMPMEM_RESERVE		((size_t)4 << 20)

/* Results of at least this many bytes are probed before GMP is called. */
#define GMPMEM_PROBE_MIN	((uint64_t)64 << 10)

/* The probe asks for this many times the result's bound: the result and
   the temporaries of a multiplication or power (GMP's FFT and Toom-Cook
   scratch stay below twice the operands). */
#define GMPMEM_SLACK		3

/* Installs GMP's memory functions, once per process (thread-safe). */
void gmpmem_init (void);

/*
** Can GMP have the memory of a result of at most 'bits' bits (and its
** temporaries)?  0 when the reserve is spent and cannot be taken back, or
** when a probe of GMPMEM_SLACK times the result's size fails.
*/
int gmpmem_can (uint64_t bits);

/*
** Raises CPM_MSG_NOMEM (a Lua error, before GMP is called) unless
** gmpmem_can(bits).  Call it before every GMP call that allocates.
*/
void gmpmem_check (lua_State *L, uint64_t bits);

#endif
