#!/bin/sh
# TAP test: the rockspec lists every file, and luarocks installs the rock
# offline (--deps-mode=none: no registry here) into temporary trees, for
# Lua 5.4 and for LuaJIT, from which `require "cpm"`, an optimized loop and
# the installed `cpm` command work on the VM the tree is for.
#
# LuaJIT is checked twice: as its users install rocks, with luarocks
# pointed at a LuaJIT installation (--lua-dir: LuaJIT's own headers), and
# with plain `luarocks --lua-version 5.1`, which compiles against Lua 5.1's
# headers (where the module once crashed at the first optimized call).
# The Lua 5.4 install finds GMP through GMP_DIR, as off Debian.
#
# Environment: LUA54, LUAJIT (interpreters; empty skips that VM, as
# `make test LUAJIT=` does), LUAJIT_INC (LuaJIT's header directory).
# luarocks compiles next to the sources, so each build works on a copy.
LUA54=${LUA54-lua5.4}
LUAJIT=${LUAJIT-luajit}
LUAJIT_INC=${LUAJIT_INC:-/usr/include/luajit-2.1}
ROCKSPEC=cpm-0.2.0-1.rockspec
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "$l" | sed 's/^/# /'; done; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
echo "1..10"

missing=""
for f in src/*/*.c lua/cpm/*.lua lua/cpm/*/*.lua bin/cpm; do
  [ -f "$f" ] || continue
  grep -q "\"$f\"" $ROCKSPEC || missing="$missing $f"
done
if [ -z "$missing" ]; then ok "the rockspec lists every source file"
else notok "the rockspec lists every source file" "missing:$missing"; fi

# make NAME ARGS...: luarocks make in a fresh copy, into $tmp/NAME/rocks
make_rock() {
  name=$1; shift
  mkdir -p "$tmp/$name/src"
  cp -r $ROCKSPEC src lua bin "$tmp/$name/src/"
  (cd "$tmp/$name/src" && luarocks "$@" make --deps-mode=none --tree "$tmp/$name/rocks" $ROCKSPEC) \
    >"$tmp/$name/log" 2>&1
}

# on VM with the tree of NAME for Lua version V: an optimized loop, a bignum
# and where cpm.core came from
CHECK='local cpm = require "cpm"
local f = cpm.load("return function(n) local s = 0 for i = 1, n do s = s + 3 end return s end", "=t")()
io.write(cpm.explain(f), " ", f(10^6), " ", tostring(cpm.big(2) ^ 100), " ", package.searchpath("cpm.core", package.cpath))'
run_in_tree() {
  vm=$1; name=$2; v=$3
  LUA_PATH="$tmp/$name/rocks/share/lua/$v/?.lua;$tmp/$name/rocks/share/lua/$v/?/init.lua;;" \
  LUA_CPATH="$tmp/$name/rocks/lib/lua/$v/?.so;;" "$vm" -e "$CHECK" 2>&1
}
expect_check() {
  case "$1" in
    "t:1: loop optimized: computed when "*" 3000000 1267650600228229401496703205376 $tmp/$2/rocks/"*) return 0 ;;
  esac
  return 1
}
# the installed command runs a script on the tree's VM (with the tree on
# the paths, as `luarocks path` sets them: under --deps-mode=none the
# wrapper luarocks writes adds no tree of its own)
SCRIPT='local s = 0 for i = 1, 100 do s = s + i end print(s, jit and jit.version or _VERSION, ...)'
run_command() {
  echo "$SCRIPT" >"$tmp/script.lua"
  LUA_PATH="$tmp/$1/rocks/share/lua/$2/?.lua;$tmp/$1/rocks/share/lua/$2/?/init.lua;;" \
  LUA_CPATH="$tmp/$1/rocks/lib/lua/$2/?.so;;" "$tmp/$1/rocks/bin/cpm" "$tmp/script.lua" x 2>&1
}

if [ -z "$LUA54" ]; then
  for t in "luarocks make installs cpm for Lua 5.4 (GMP_DIR)" "require \"cpm\" works from the Lua 5.4 tree" \
           "the installed cpm command runs scripts on Lua 5.4"; do skip "$t" "LUA54 is empty"; done
else
  # a GMP prefix of one's own: its header and library, linked
  gmph=$(printf '#include <gmp.h>\n' | cc -E -x c - 2>/dev/null | sed -n 's/^# [0-9]* "\(.*\/gmp\.h\)".*/\1/p' | head -1)
  mkdir -p "$tmp/gmp/include" "$tmp/gmp/lib"
  ln -s "$gmph" "$tmp/gmp/include/gmp.h"
  ln -s "$(cc -print-file-name=libgmp.so)" "$tmp/gmp/lib/libgmp.so"
  if make_rock lua54 --lua-version 5.4 GMP_DIR="$tmp/gmp" && grep -q -- "-I$tmp/gmp/include" "$tmp/lua54/log" \
     && grep -q -- "-L$tmp/gmp/lib" "$tmp/lua54/log"; then
    ok "luarocks make installs cpm for Lua 5.4 (GMP_DIR)"
  else notok "luarocks make installs cpm for Lua 5.4 (GMP_DIR)" "$(cat "$tmp/lua54/log")"; fi
  out=$(run_in_tree "$LUA54" lua54 5.4)
  if expect_check "$out" lua54; then ok "require \"cpm\" works from the Lua 5.4 tree"
  else notok "require \"cpm\" works from the Lua 5.4 tree" "$out"; fi
  out=$(run_command lua54 5.4)
  case "$out" in "5050	Lua 5.4	x") ok "the installed cpm command runs scripts on Lua 5.4" ;;
    *) notok "the installed cpm command runs scripts on Lua 5.4" "$out" ;; esac
fi

if [ -z "$LUAJIT" ]; then
  for t in "luarocks make installs cpm for LuaJIT (--lua-dir)" "an optimized function works from the LuaJIT tree" \
           "the installed cpm command runs scripts on LuaJIT" "luarocks --lua-version 5.1 make (Lua 5.1 headers)" \
           "the module built against Lua 5.1's headers works on LuaJIT" "require \"cpm\" on plain Lua 5.1 raises a clear error"; do
    skip "$t" "LUAJIT is empty"
  done
else
  # a LuaJIT installation as luarocks looks for one: bin/luajit and
  # include/luajit-2.1 under one prefix
  mkdir -p "$tmp/lj/bin" "$tmp/lj/include"
  ln -s "$(command -v "$LUAJIT")" "$tmp/lj/bin/luajit"
  ln -s "$LUAJIT_INC" "$tmp/lj/include/luajit-2.1"
  if make_rock luajit --lua-version 5.1 --lua-dir="$tmp/lj" && grep -q -- "-I$LUAJIT_INC\|-I$tmp/lj/include/luajit-2.1" "$tmp/luajit/log"; then
    ok "luarocks make installs cpm for LuaJIT (--lua-dir)"
  else notok "luarocks make installs cpm for LuaJIT (--lua-dir)" "$(cat "$tmp/luajit/log")"; fi
  out=$(run_in_tree "$LUAJIT" luajit 5.1)
  if expect_check "$out" luajit; then ok "an optimized function works from the LuaJIT tree"
  else notok "an optimized function works from the LuaJIT tree" "$out"; fi
  out=$(run_command luajit 5.1)
  case "$out" in "5050	LuaJIT "*"	x") ok "the installed cpm command runs scripts on LuaJIT" ;;
    *) notok "the installed cpm command runs scripts on LuaJIT" "$out" ;; esac
  if make_rock lua51 --lua-version 5.1 && grep -q -- "-I[^ ]*lua5\.1" "$tmp/lua51/log"; then
    ok "luarocks --lua-version 5.1 make (Lua 5.1 headers)"
  elif [ -f "$tmp/lua51/log" ] && grep -q "Failed finding Lua header" "$tmp/lua51/log"; then
    skip "luarocks --lua-version 5.1 make (Lua 5.1 headers)" "no Lua 5.1 headers"
  else notok "luarocks --lua-version 5.1 make (Lua 5.1 headers)" "$(cat "$tmp/lua51/log")"; fi
  if [ -f "$tmp/lua51/rocks/lib/lua/5.1/cpm/core.so" ]; then
    out=$(run_in_tree "$LUAJIT" lua51 5.1)
    if expect_check "$out" lua51; then ok "the module built against Lua 5.1's headers works on LuaJIT"
    else notok "the module built against Lua 5.1's headers works on LuaJIT" "$out"; fi
  else skip "the module built against Lua 5.1's headers works on LuaJIT" "not built"; fi
  if command -v lua5.1 >/dev/null && [ -f "$tmp/lua51/rocks/lib/lua/5.1/cpm/core.so" ]; then
    out=$(run_in_tree lua5.1 lua51 5.1)
    case "$out" in *"cpm: needs Lua 5.4 or LuaJIT 2.1 (this is Lua 5.1)"*)
      ok "require \"cpm\" on plain Lua 5.1 raises a clear error" ;;
      *) notok "require \"cpm\" on plain Lua 5.1 raises a clear error" "$out" ;; esac
  else skip "require \"cpm\" on plain Lua 5.1 raises a clear error" "no lua5.1"; fi
fi
