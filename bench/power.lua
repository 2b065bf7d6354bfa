-- bench/power.lua -- 3^n: naive loop, cpm, square-and-multiply, mpz_pow_ui.
local H = require "harness"
local cases, fast = require "cases", require "fast"

local cpmf, why = H.optimize(cases.power)
H.run{
  name = "power", title = "power 3^n, cpm.big",
  ns = {1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7},
  args = function(n) return {3, n} end,
  methods = {
    {label = "naive", f = cases.power},
    {label = "cpm", f = cpmf, missing = why},
    {label = "square and multiply", f = fast.power},
    {label = "GMP", f = H.gmp and H.gmp.pow, missing = "gmpref not built"},
  },
}
