#!/bin/sh
# TAP test (one line per file): luacheck over every Lua file of the
# checkout, with .luacheckrc; any warning fails that file's test.
exec luacheck --formatter TAP --no-color . bin/cpm .busted
