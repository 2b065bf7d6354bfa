/*
** range.c -- cpm.range: the loop range for bignum counts (placeholder).
*/
#include "cpm.h"

void range_open (lua_State *L, int mod, int cfg) {
  (void)L; (void)mod; (void)cfg;
}
