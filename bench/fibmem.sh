#!/bin/sh
# bench/fibmem.sh -- peak memory of F(n): mpz_fib_ui against the engine,
# heap and stack together (valgrind's massif with --stacks=yes), each
# minus a run that computes nothing.  matpow_bench's counting allocator
# sees only heap blocks, and GMP keeps its temporaries below 64 KiB on the
# stack (n = 10^5); massif sees both.  Run by hand from the repository
# root; prints one markdown row per n:
#   sh bench/fibmem.sh [/tmp/matpow_bench]
set -e
BIN=${1:-/tmp/matpow_bench}
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Isrc/core -o "$BIN" \
  bench/matpow_bench.c src/core/mat_u64.c src/core/mat_mpz.c src/core/mat_charpoly.c \
  src/core/mat_bound.c src/core/mat_toom.c src/core/mat_mod.c -lgmp -lm
peak () {  # peak <n> <which>: bytes, heap + stack
  out=$(mktemp)
  valgrind --tool=massif --stacks=yes --peak-inaccuracy=0 --max-snapshots=1000 --massif-out-file="$out" "$BIN" fibmem "$1" "$2" >/dev/null 2>&1
  awk -F= '/^mem_heap_B=/ { h = $2 } /^mem_heap_extra_B=/ { x = $2 }
           /^mem_stacks_B=/ { s = $2; t = h + x + s; if (t > m) m = t } END { print m }' "$out"
  rm -f "$out"
}
echo "| n | mpz_fib_ui, bytes | engine (F(n) wanted), bytes | engine / mpz_fib_ui |"
echo "|---|---|---|---|"
for n in 100000 1000000 10000000; do
  base=$(peak "$n" none)
  g=$(peak "$n" gmp)
  e=$(peak "$n" engine)
  awk -v n="$n" -v b="$base" -v g="$g" -v e="$e" \
    'BEGIN { printf "| %d | %d | %d | **%.2f** |\n", n, g - b, e - b, (e - b) / (g - b) }'
done
