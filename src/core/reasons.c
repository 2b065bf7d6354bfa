/*
** reasons.c -- the reasons of reasons.h, for C and (as cpm.core._reasons,
** NAME -> sentence) for the front ends written in Lua.
*/
#include "cpm.h"
#include "reasons.h"

static const char *const texts[] = {
#define CPM_R_TEXT(name, text)	text,
  CPM_REASONS(CPM_R_TEXT)
#undef CPM_R_TEXT
  NULL
};

static const char *const names[] = {
#define CPM_R_NAME(name, text)	#name,
  CPM_REASONS(CPM_R_NAME)
#undef CPM_R_NAME
  NULL
};


const char *cpm_reason (cpm_Reason r) {
  return (r >= 0 && r < CPM_R__COUNT) ? texts[r] : "?";
}


void reasons_open (lua_State *L, int mod, int cfg) {
  int i;
  (void)cfg;
  mod = cpm_absindex(L, mod);
  lua_createtable(L, 0, CPM_R__COUNT);
  for (i = 0; i < CPM_R__COUNT; i++) {
    lua_pushstring(L, texts[i]);
    lua_setfield(L, -2, names[i]);
  }
  lua_setfield(L, mod, "_reasons");
}
