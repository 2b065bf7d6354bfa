-- bench/fib.lua -- F(n): the naive loop, cpm, fast doubling, GMP's mpz_fib_ui.
local H = require "harness"
local cases, fast = require "cases", require "fast"

local cpmf, why = H.optimize(cases.fib)
H.run{
  name = "fib", title = "Fibonacci numbers F(n), cpm.big",
  ns = {1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7},
  args = function(n) return {n} end,
  methods = {
    {label = "naive", f = cases.fib},
    {label = "cpm", f = cpmf, missing = why},
    {label = "fast doubling", f = fast.fib},
    {label = "GMP", f = H.gmp and H.gmp.fib, missing = "gmpref not built"},
  },
}
