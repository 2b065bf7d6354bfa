#!/bin/sh
# TAP test: cpm under allocation failure at every point of
# tools/alloctest.lua (tools/alloctest.c, built by make as
# $BUILD/lua5.4/alloctest), on Lua 5.4.
BUILD=${BUILD:-build}
echo "1..1"
unset LUA_PATH_5_4 LUA_CPATH_5_4
if out=$(LUA_PATH='lua/?.lua;lua/?/init.lua;tools/?.lua;;' LUA_CPATH="$BUILD/lua5.4/?.so;;" \
         ASAN_OPTIONS="detect_leaks=1:exitcode=23" \
         "$BUILD/lua5.4/alloctest" tools/alloctest.lua 1 2>&1); then
  echo "ok 1 - no crash, leak or wrong result when the k-th allocation fails, for every k"
else
  echo "not ok 1 - no crash, leak or wrong result when the k-th allocation fails, for every k"
fi
echo "$out" | sed 's/^/# /'
