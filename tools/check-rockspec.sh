#!/bin/sh
# TAP test: the rockspec builds and installs offline into a temporary tree,
# and `require "cpm"` works from that tree under lua5.4.
# luarocks compiles next to the sources, so it works on a copy.
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
echo "1..3"
missing=""
for f in src/*/*.c lua/cpm/*.lua lua/cpm/*/*.lua; do
  [ -f "$f" ] || continue
  grep -q "\"$f\"" cpm-scm-1.rockspec || missing="$missing $f"
done
if [ -z "$missing" ]; then echo "ok 1 - the rockspec lists every source file"
else echo "not ok 1 - the rockspec lists every source file"; echo "# missing:$missing"; fi
mkdir "$tree/src"
cp -r cpm-scm-1.rockspec src lua "$tree/src/"
if (cd "$tree/src" && luarocks --lua-version 5.4 make --tree "$tree/rocks" cpm-scm-1.rockspec) >"$tree/log" 2>&1; then
  echo "ok 2 - luarocks make installs cpm into a temporary tree"
else
  echo "not ok 2 - luarocks make installs cpm into a temporary tree"
  sed 's/^/# /' "$tree/log"
fi
out=$(LUA_PATH="$tree/rocks/share/lua/5.4/?.lua;$tree/rocks/share/lua/5.4/?/init.lua;;" \
      LUA_CPATH="$tree/rocks/lib/lua/5.4/?.so;;" \
      lua5.4 -e 'local cpm = require "cpm"; io.write(tostring(cpm.big(2) ^ 100), " ", package.searchpath("cpm.core", package.cpath))' 2>&1)
case "$out" in
  "1267650600228229401496703205376"[[:space:]]"$tree/rocks/"*) echo "ok 3 - require \"cpm\" works from the installed tree" ;;
  *) echo "not ok 3 - require \"cpm\" works from the installed tree"; echo "# $out" ;;
esac
