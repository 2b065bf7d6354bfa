/*
** gmpmem.c -- GMP's memory, so that running out of it ends in a Lua
** "not enough memory" error instead of GMP's abort().
**
** GMP cannot recover from a failed allocation: its allocation function
** must return the memory or not return at all (GMP manual, "Custom
** Allocation"), and raising a Lua error from inside it would leave GMP's
** own state half updated.  So the failure is moved out of GMP:
**
**   - before a GMP call whose result may be large, gmpmem_check probes
**     that the memory can be had (an allocation of a few times the bound
**     on the result, freed at once) and raises before GMP is called;
**   - for the many small calls nobody probes, GMP's allocations go
**     through functions that keep an emergency reserve: when malloc
**     fails, the reserve is released and the allocation retried, so the
**     GMP call finishes; the next gmpmem_check (every bignum result is
**     pushed through one) sees the reserve spent, tries to take it back,
**     and raises when it cannot.
**
** mp_set_memory_functions is process-wide: the functions are installed
** once (pthread_once) and the reserve is one process-wide atomic pointer,
** shared by every lua_State and thread; no per-state data is global.  The
** functions are malloc, realloc and free as GMP's defaults are, so memory
** allocated before cpm was loaded is freed correctly.  A host that sets
** its own GMP memory functions after loading cpm keeps only the probes.
**
** Once GMP holds pointers to these functions, this library must stay
** loaded: lua_close unloads a C module (dlclose), which would leave GMP
** calling into unmapped code (and the next load would install a second
** reserve).  install() pins the library with RTLD_NODELETE.
*/
#define _GNU_SOURCE	/* dladdr, RTLD_NODELETE */

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "gmpmem.h"

static pthread_once_t installed = PTHREAD_ONCE_INIT;
static _Atomic(void *) reserve = NULL;	/* NULL: spent (or never had) */


/* Frees the reserve; returns whether there was one to free. */
static int release (void) {
  void *r = atomic_exchange(&reserve, NULL);
  free(r);
  return r != NULL;
}


/* GMP may not be told of a failure: the only alternative to memory is
   ending the process, as GMP's own functions do. */
static void outofmemory (size_t n) {
  fprintf(stderr, "cpm: GMP cannot allocate %zu bytes even after releasing "
                  "its reserve\n", n);
  abort();
}


static void *gmp_alloc (size_t n) {
  void *p = malloc(n);
  while (p == NULL && release())
    p = malloc(n);
  if (p == NULL) outofmemory(n);
  return p;
}


static void *gmp_realloc (void *old, size_t oldn, size_t n) {
  void *p = realloc(old, n);
  (void)oldn;
  while (p == NULL && release())
    p = realloc(old, n);
  if (p == NULL) outofmemory(n);
  return p;
}


static void gmp_free (void *p, size_t n) {
  (void)n;
  free(p);
}


/* Takes the reserve back when it is spent; returns whether one is held. */
static int refill (void) {
  void *r, *none = NULL;
  if (atomic_load_explicit(&reserve, memory_order_relaxed) != NULL)
    return 1;
  if ((r = malloc(GMPMEM_RESERVE)) == NULL)
    return 0;
  if (!atomic_compare_exchange_strong(&reserve, &none, r))
    free(r);  /* another thread refilled it first */
  return 1;
}


/* Keeps the shared object holding this code loaded until the process
   ends; nothing to do when cpm is linked into the host. */
static void pin (void) {
  Dl_info info;
  if (dladdr((void *)&pin, &info) != 0 && info.dli_fname != NULL)
    (void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NODELETE);
}


static void install (void) {
  pin();
  refill();
  mp_set_memory_functions(gmp_alloc, gmp_realloc, gmp_free);
}


void gmpmem_init (void) {
  pthread_once(&installed, install);
}


int gmpmem_can (uint64_t bits) {
  uint64_t bytes = bits / 8 + 1;
  void *p;
  if (!refill())
    return 0;
  if (bytes < GMPMEM_PROBE_MIN)
    return 1;
  if (bytes > (SIZE_MAX - 1) / GMPMEM_SLACK)
    return 0;
  p = malloc((size_t)bytes * GMPMEM_SLACK);
  free(p);
  return p != NULL;
}


void gmpmem_check (lua_State *L, uint64_t bits) {
  if (!gmpmem_can(bits))
    cpm_nomem(L);
}
