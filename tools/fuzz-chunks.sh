#!/bin/sh
# Runs the chunk fuzzer (tools/fuzz-chunks.lua) for SECONDS on each
# interpreter named after it, over the Lua files of the repository.
# BUILD names the build directory; ASAN=1 preloads the sanitizer runtime
# (as tools/busted-tap.sh does); FUZZ_SEED fixes the seed (default: the
# time); FUZZ_MODE is the fuzzer's --mode (mixed, fields or bytes; default
# mixed).  Each mutant is written to $BUILD/fuzz-last-<vm>.dump before
# anything reads it, so a run that crashes leaves its reproducer there
# (replay it with --replay=).  Exits non-zero when any run fails.
set -u
seconds=$1
shift
BUILD=${BUILD:-build}
if [ -n "${ASAN:-}" ]; then
  export LD_PRELOAD="$(cc -print-file-name=libasan.so) $(cc -print-file-name=libubsan.so)"
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=23"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
fi
unset LUA_PATH_5_4 LUA_CPATH_5_4
files=$(find lua spec bench examples -name '*.lua' | sort)
status=0
mkdir -p "$BUILD"
for vm in "$@"; do
  case "$vm" in *jit*) dir=luajit ;; *) dir=lua5.4 ;; esac
  last="$BUILD/fuzz-last-$dir.dump"
  LUA_CPATH="$BUILD/$dir/?.so;;" "$vm" tools/fuzz-chunks.lua \
    --mode="${FUZZ_MODE:-mixed}" --last="$last" "$seconds" \
    "${FUZZ_SEED:-$(date +%s)}" $files || {
    echo "fuzz-chunks failed on $vm; the last mutant is in $last, replay it with"
    echo "  LUA_CPATH='$BUILD/$dir/?.so;;' $vm tools/fuzz-chunks.lua --replay=$last"
    status=1; }
done
exit $status
