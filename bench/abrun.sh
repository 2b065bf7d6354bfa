#!/bin/sh
# bench/abrun.sh -- before/after: runs one Lua benchmark alternately on the
# cpm of an older revision and on this checkout's build, so that a change
# of the machine's load hits both sides (the machine is shared: compare
# ratios within one run, never absolute times across runs).
#   sh bench/abrun.sh <revision> <bench/x.lua> [lua5.4|luajit] [pairs]
# The revision is extracted with git archive and built with make into
# $TMPDIR/cpm-ab-<revision>; this checkout must be built (make all).
set -e
REV=$1; BENCH=$2; VM=${3:-lua5.4}; PAIRS=${4:-3}
DIR=${TMPDIR:-/tmp}/cpm-ab-$REV
if [ ! -f "$DIR/build/$VM/cpm/core.so" ]; then
  rm -rf "$DIR"; mkdir -p "$DIR"
  git archive "$REV" | tar -x -C "$DIR"
  make -C "$DIR" all >/dev/null
fi
run () {  # run <root>: the benchmark on the cpm of <root>
  LUA_PATH="$1/lua/?.lua;$1/lua/?/init.lua;examples/?.lua;bench/?.lua;;" \
  LUA_CPATH="$1/build/$VM/?.so;build/bench/$VM/?.so;;" "$VM" "$BENCH"
}
i=0
while [ "$i" -lt "$PAIRS" ]; do
  echo "before ($REV):"; run "$DIR"
  echo "after (this checkout):"; run "$(pwd)"
  i=$((i + 1))
done
