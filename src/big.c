/*
** big.c -- cpm.big: exact integers backed by GMP (placeholder).
*/
#include "cpm.h"

void big_open (lua_State *L, int mod, int cfg) {
  (void)L; (void)mod; (void)cfg;
}
