#!/bin/sh
# Makes sure what the named Debian packages provide is there: each package
# is checked by what cpm needs of it (a command, a header, a Lua module),
# not by the package database, so any system with those things passes.
# What is missing is installed with apt-get when apt-get exists and may be
# used (root, or sudo without a password); otherwise the script says what
# is missing and fails.
#
# Environment (from the Makefile): LUA54, LUAJIT (interpreters),
# LUA54_INC, LUAJIT_INC (their header directories), CC.
set -e
LUA54=${LUA54-lua5.4}
LUAJIT=${LUAJIT-luajit}
LUA54_INC=${LUA54_INC:-/usr/include/lua5.4}
LUAJIT_INC=${LUAJIT_INC:-/usr/include/luajit-2.1}
CC=${CC:-cc}

have() { command -v "$1" >/dev/null 2>&1; }

# probe PACKAGE: true when what cpm needs of PACKAGE is there; sets need
# to a description of that thing
probe() {
  case "$1" in
    lua5.4)            need="the interpreter $LUA54";        have "$LUA54" ;;
    liblua5.4-dev)     need="$LUA54_INC/lua.h";              [ -f "$LUA54_INC/lua.h" ] ;;
    luajit)            need="the interpreter $LUAJIT";       have "$LUAJIT" ;;
    libluajit-5.1-dev) need="$LUAJIT_INC/lua.h";             [ -f "$LUAJIT_INC/lua.h" ] ;;
    libgmp-dev)        need="GMP's header and library (gmp.h, -lgmp)"
                       printf '#include <gmp.h>\nint main(void){mpz_t z; mpz_init(z); return 0;}\n' |
                         $CC -x c -o /dev/null - -lgmp >/dev/null 2>&1 ;;
    lua-lpeg)          need="LPeg (require \"lpeg\") for $LUA54 $LUAJIT"
                       for vm in $LUA54 $LUAJIT; do
                         ! have "$vm" || "$vm" -e 'require "lpeg"' >/dev/null 2>&1 || return 1
                       done ;;
    lua-busted)        need="the command busted";            have busted ;;
    luarocks)          need="the command luarocks";          have luarocks ;;
    lua-check)         need="the command luacheck";          have luacheck ;;
    gnuplot-nox)       need="the command gnuplot";           have gnuplot ;;
    *)                 need="the Debian package $1"
                       dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" ;;
  esac
}

missing=""
what=""
for p in "$@"; do
  if ! probe "$p"; then
    missing="$missing $p"
    what="$what
  $need (Debian: $p)"
  fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then SUDO=""
elif have sudo && sudo -n true 2>/dev/null; then SUDO="sudo"
else SUDO="no"; fi
if ! have apt-get || [ "$SUDO" = no ]; then
  echo "missing:$what" >&2
  if have apt-get; then echo "install them (as root: apt-get install$missing), then rerun" >&2
  else echo "install them with your system's package manager, then rerun" >&2; fi
  echo "(make test LUAJIT= or LUA54= leaves out a VM you do not have)" >&2
  exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq $missing
