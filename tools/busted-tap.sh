#!/bin/sh
# prove's exec hook: runs one spec file under $CPM_VM with the build in
# $CPM_BUILD, printing TAP.
unset LUA_PATH_5_4 LUA_CPATH_5_4
export LUA_PATH='lua/?.lua;lua/?/init.lua;;'
export LUA_CPATH="$CPM_BUILD/?.so;;"
if [ -n "${ASAN:-}" ]; then
  export LD_PRELOAD="$(cc -print-file-name=libasan.so) $(cc -print-file-name=libubsan.so)"
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=23"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
fi
exec busted --lua="$CPM_VM" -o TAP "$1"
