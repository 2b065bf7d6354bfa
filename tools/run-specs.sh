#!/bin/sh
# Runs every spec under each interpreter named on the command line, through
# prove reading busted's TAP output, then checks the rockspec.  Exits non-zero
# when anything failed.  BUILD names the build directory (default build);
# ASAN=1 preloads the sanitizer runtime.
set -u
BUILD=${BUILD:-build}
status=0
for vm in "$@"; do
  case "$vm" in *jit*) dir=luajit ;; *) dir=lua5.4 ;; esac
  echo "== specs on $vm"
  CPM_VM=$vm CPM_BUILD=$BUILD/$dir prove -j2 -f -e "sh tools/busted-tap.sh" spec/*_spec.lua || status=1
done
if [ -z "${ASAN:-}" ]; then
  echo "== rockspec"
  prove -f -e sh tools/check-rockspec.sh || status=1
fi
exit $status
