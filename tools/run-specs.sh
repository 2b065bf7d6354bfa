#!/bin/sh
# Runs every spec under each interpreter named on the command line, through
# prove reading busted's TAP output, then the allocation-failure test
# (tools/alloctest.sh, when a Lua 5.4 VM is named), luacheck (one test per
# file) and the rockspec.  Ends with one line "N passed, N failed" over all
# of it, and exits non-zero when anything failed.  BUILD names the build
# directory (default build); ASAN=1 preloads the sanitizer runtime (and
# skips luacheck and the rockspec check).  LUA54 and LUAJIT (environment)
# tell the rockspec check which VMs to install for; empty skips one.
set -u
BUILD=${BUILD:-build}
status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for vm in "$@"; do
  case "$vm" in *jit*) dir=luajit ;; *) dir=lua5.4 ;; esac
  echo "== specs on $vm"
  CPM_VM=$vm CPM_BUILD=$BUILD/$dir prove -j2 -f -e "sh tools/busted-tap.sh" spec/*_spec.lua \
    2>&1 | tee -a "$log" || status=1
done
for vm in "$@"; do
  case "$vm" in *jit*) ;; *)
    echo "== allocation failure at every point (tools/alloctest.c)"
    BUILD=$BUILD prove -f -e sh tools/alloctest.sh 2>&1 | tee -a "$log" || status=1
    break ;;
  esac
done
if [ -z "${ASAN:-}" ]; then
  echo "== luacheck"
  prove -f -e sh tools/luacheck-tap.sh 2>&1 | tee -a "$log" || status=1
  echo "== rockspec"
  prove -f -e sh tools/check-rockspec.sh 2>&1 | tee -a "$log" || status=1
fi
# prove's own summaries: "Files=.., Tests=N," and "Failed K/M subtests"
total=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
failed=$(sed -n 's/^Failed \([0-9]*\)\/[0-9]* subtests.*/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
if grep -q "^Result: FAIL" "$log"; then
  status=1
  [ "$failed" -gt 0 ] || failed=1
fi
echo "$((total - failed)) passed, $failed failed"
exit $status
