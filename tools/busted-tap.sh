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
# A spec file still running after CPM_SPEC_TIMEOUT seconds (default 1800:
# the whole of make test takes minutes, make asan a few times that) is
# stopped and reported as a failure, so that a hang names its file.
limit=${CPM_SPEC_TIMEOUT:-1800}
timeout "$limit" busted --lua="$CPM_VM" -o TAP "$1"
rc=$?
if [ "$rc" -eq 124 ]; then
  echo "not ok - $1 still running after $limit s on $CPM_VM: stopped (a hang)"
fi
exit $rc
