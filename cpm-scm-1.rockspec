rockspec_format = "3.0"
package = "cpm"
version = "scm-1"
source = {
  url = "git+https://example.invalid/cpm.git",
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
dependencies = {
  "lua >= 5.1, < 5.5",
}
-- Debian keeps gmp.h in a multiarch include directory luarocks 3.8 does not
-- search; the compiler finds it by itself, so GMP is declared by its library.
external_dependencies = {
  GMP = { library = "gmp" },
}
build = {
  type = "builtin",
  modules = {
    ["cpm"] = "lua/cpm/init.lua",
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
        "src/lua54/bc_read.c",
        "src/lua54/bc_tree.c",
        "src/lua54/bc_write.c",
        "src/core/big.c",
        "src/core/bound.c",
        "src/core/count.c",
        "src/lua54/find54.c",
        "src/core/guard.c",
        "src/core/mat_bound.c",
        "src/core/mat_charpoly.c",
        "src/core/mat_lua.c",
        "src/core/mat_mpz.c",
        "src/core/mat_u64.c",
        "src/core/module.c",
        "src/lua54/optimize54.c",
        "src/core/plan.c",
        "src/core/plan_lua.c",
        "src/core/range.c",
        "src/core/reasons.c",
        "src/lua54/rewrite54.c",
      },
      libraries = { "gmp", "m" },
      libdirs = { "$(GMP_LIBDIR)" },
      defines = { "_POSIX_C_SOURCE=200809L" },
      incdirs = { "src/core", "src/lua54" },
    },
  },
}
