-- bench/rec3.lua -- cur = 7*(2*p1 + 3*p2) + 4*p3 + 5*i + 6: naive loop, cpm,
-- explicit 5x5 matrix power.
local H = require "harness"
local cases, fast = require "cases", require "fast"

local cpmf, why = H.optimize(cases.rec3)
H.run{
  name = "rec3", title = "3-term recurrence, cpm.big",
  ns = {1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6},
  args = function(n) return {n} end,
  methods = {
    {label = "naive", f = cases.rec3},
    {label = "cpm", f = cpmf, missing = why},
    {label = "matrix power", f = fast.rec3},
  },
}
