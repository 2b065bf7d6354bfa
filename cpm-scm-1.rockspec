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
        "src/bc_edit.c",
        "src/bc_lua.c",
        "src/bc_opcodes.c",
        "src/bc_read.c",
        "src/bc_tree.c",
        "src/bc_write.c",
        "src/big.c",
        "src/bound.c",
        "src/count.c",
        "src/find54.c",
        "src/guard.c",
        "src/mat_bound.c",
        "src/mat_charpoly.c",
        "src/mat_lua.c",
        "src/mat_mpz.c",
        "src/mat_u64.c",
        "src/module.c",
        "src/optimize54.c",
        "src/plan.c",
        "src/plan_lua.c",
        "src/range.c",
        "src/rewrite54.c",
      },
      libraries = { "gmp", "m" },
      libdirs = { "$(GMP_LIBDIR)" },
      defines = { "_POSIX_C_SOURCE=200809L" },
    },
  },
}
