#!/bin/sh
# bench/run.sh -- `make bench`: every benchmark on Lua 5.4 and LuaJIT, the
# plots (bench/plots/*.png, gnuplot) and doc/performance.md, rewritten from
# bench/performance.md.in (bench/overhead.lua: the fixed costs of
# cpm.optimize and of the guard).  Expects the build of `make all` and the GMP
# helper under $BUILD/bench/<vm>/gmpref.so (the Makefile's bench recipe).
set -e
BUILD=${BUILD:-build}
LUA54=${LUA54:-lua5.4}
LUAJIT=${LUAJIT:-luajit}
OUT=$BUILD/bench/out
CASES="fib seq rec3 geom power"

# the plots need gnuplot (`make bench` installs it where it may); said
# before the runs, not after them
if ! command -v gnuplot >/dev/null 2>&1; then
  echo "bench: gnuplot is missing (Debian: apt-get install gnuplot-nox); the plots need it" >&2
  exit 1
fi

run_vm () {  # run_vm <dir name> <interpreter>
  mkdir -p "$OUT/$1"
  for s in $CASES crossover neverslower freshproc overhead reach; do
    echo "bench: $s on $2" >&2
    LUA_PATH='lua/?.lua;lua/?/init.lua;examples/?.lua;bench/?.lua;;' \
    LUA_CPATH="$BUILD/$1/?.so;$BUILD/bench/$1/?.so;;" \
    CPM_BENCH_OUT="$OUT/$1" "$2" "bench/$s.lua" > "$OUT/$1/$s.md"
  done
  echo "bench: neverslower (source front end) on $2" >&2
  LUA_PATH='lua/?.lua;lua/?/init.lua;examples/?.lua;bench/?.lua;;' \
  LUA_CPATH="$BUILD/$1/?.so;$BUILD/bench/$1/?.so;;" \
  CPM_BENCH_FRONTEND=source "$2" bench/neverslower.lua > "$OUT/$1/neverslower-source.md"
  {
    grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'
    echo "$(nproc) CPU(s)"
    "$2" -v 2>&1 | head -1 | sed 's/ *-* *Copyright.*//'
  } > "$OUT/$1/facts.txt"
}

mkdir -p "$OUT"
date -u '+%Y-%m-%d %H:%M UTC' > "$OUT/date.txt"
run_vm lua5.4 "$LUA54"
run_vm luajit "$LUAJIT"

# plots: bench/plots/<case>.png (Lua 5.4) and <case>-luajit.png
mkdir -p bench/plots
for vm in lua5.4 luajit; do
  if [ "$vm" = lua5.4 ]; then sfx=; name="Lua 5.4"; else sfx=-luajit; name=LuaJIT; fi
  for s in $CASES; do
    dat=$OUT/$vm/$s.dat
    # columns: n, then a minimum and a median per method
    nm=$(awk -F '\t' '!/^#/ && ++k == 2 { print (NF - 1) / 2; exit }' "$dat")
    ttl=$(sed -n '1s/^# //p' "$dat")
    gnuplot -e "dat='$dat'; out='bench/plots/$s$sfx.png'; ttl='$ttl ($name)'; nm=$nm" \
      bench/plot-case.gp
  done
  if [ -f "$OUT/$vm/crossover.dat" ]; then
    gnuplot -e "dat='$OUT/$vm/crossover.dat'; out='bench/plots/crossover$sfx.png'; limit=$(cat "$OUT/$vm/crossover.limit"); vm='$name'" \
      bench/plot-crossover.gp
  fi
done

"$LUA54" bench/report.lua bench/performance.md.in "$OUT" > doc/performance.md.new
mv doc/performance.md.new doc/performance.md
echo "bench: wrote doc/performance.md and bench/plots/" >&2
