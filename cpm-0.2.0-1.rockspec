rockspec_format = "3.0"
package = "cpm"
version = "0.2.0-1"
source = {
  url = "git+https://github.com/cpm-lua/cpm.git",
  tag = "v0.2.0",
}
description = {
  summary = "Automatic O(log n) speed-ups for affine loops in Lua",
  detailed = [[
cpm.optimize(f) replaces every numeric for loop of f whose body is an affine
recurrence by a matrix power, with exactly the result the loop would give.
Ships cpm.big (GMP-backed exact integers) and cpm.range (bignum loop ranges).
]],
  license = "MIT",
}
-- Lua 5.4, or LuaJIT 2.1 (which luarocks calls Lua 5.1): `require "cpm"`
-- on plain Lua 5.1 raises an error naming the VMs it supports, and the C
-- module refuses to compile for Lua 5.2 and 5.3.  LPeg is needed by the
-- source front end (the one LuaJIT uses).
dependencies = {
  "lua >= 5.1, < 5.5",
  "lpeg",
}
-- GMP_DIR=/prefix (or GMP_INCDIR and GMP_LIBDIR) points luarocks at a GMP
-- of one's own.  The header is not listed: Debian keeps gmp.h in a
-- multiarch directory (/usr/include/x86_64-linux-gnu) that luarocks 3.8
-- does not search, so listing it would fail a plain `luarocks make` there;
-- the compiler finds it by itself, and GMP_INCDIR still comes first.
external_dependencies = {
  GMP = { library = "gmp" },
}
build = {
  type = "builtin",
  modules = {
    ["cpm"] = "lua/cpm/init.lua",
    ["cpm.auto"] = "lua/cpm/auto.lua",
    ["cpm.source"] = "lua/cpm/source/init.lua",
    ["cpm.source.ast"] = "lua/cpm/source/ast.lua",
    ["cpm.source.emit"] = "lua/cpm/source/emit.lua",
    ["cpm.source.fingerprint"] = "lua/cpm/source/fingerprint.lua",
    ["cpm.source.grammar"] = "lua/cpm/source/grammar.lua",
    ["cpm.source.locate"] = "lua/cpm/source/locate.lua",
    ["cpm.source.lower"] = "lua/cpm/source/lower.lua",
    ["cpm.source.scope"] = "lua/cpm/source/scope.lua",
    ["cpm.core"] = {
      sources = {
        "src/lua54/bc_edit.c",
        "src/lua54/bc_lua.c",
        "src/lua54/bc_opcodes.c",
        "src/lua54/bc_check.c",
        "src/lua54/bc_read.c",
        "src/lua54/bc_tree.c",
        "src/lua54/bc_write.c",
        "src/core/big.c",
        "src/core/bound.c",
        "src/core/count.c",
        "src/lua54/find54.c",
        "src/luajit/findjit.c",
        "src/core/gmpmem.c",
        "src/core/guard.c",
        "src/core/guard_gf2.c",
        "src/core/guard_while.c",
        "src/core/ir_text.c",
        "src/luajit/jitbc_edit.c",
        "src/luajit/jitbc_lua.c",
        "src/luajit/jitbc_read.c",
        "src/luajit/jitbc_write.c",
        "src/core/mat_bound.c",
        "src/core/mat_charpoly.c",
        "src/core/mat_gf2.c",
        "src/core/mat_lua.c",
        "src/core/mat_mod.c",
        "src/core/mat_mpz.c",
        "src/core/mat_toom.c",
        "src/core/mat_unipot.c",
        "src/core/mat_u64.c",
        "src/core/module.c",
        "src/lua54/names54.c",
        "src/luajit/namesjit.c",
        "src/lua54/optimize54.c",
        "src/luajit/optimizejit.c",
        "src/core/plan.c",
        "src/core/plan_branch.c",
        "src/core/plan_while.c",
        "src/core/plan_nest.c",
        "src/core/plan_depends.c",
        "src/core/plan_gf2.c",
        "src/core/plan_lua.c",
        "src/core/range.c",
        "src/core/reasons.c",
        "src/core/report.c",
        "src/core/runner.c",
        "src/lua54/rewrite54.c",
        "src/luajit/rewritejit.c",
      },
      libraries = { "gmp", "m", "dl" },
      libdirs = { "$(GMP_LIBDIR)" },
      defines = { "_POSIX_C_SOURCE=200809L" },
      incdirs = { "src/core", "src/lua54", "src/luajit", "$(GMP_INCDIR)" },
    },
  },
  -- a Lua script: luarocks installs a wrapper that runs it on the VM the
  -- rock is built for
  install = {
    bin = { cpm = "bin/cpm" },
  },
}
-- `luarocks test`: builds the checkout for the VM luarocks is set up for
-- and runs the specs with busted on it (tools/luarocks-test.lua)
test = {
  type = "command",
  script = "tools/luarocks-test.lua",
}
