-- bench/seq.lua -- the step1/step2/res sequence: naive loop, cpm, closed form.
local H = require "harness"
local cases, fast = require "cases", require "fast"

local cpmf, why = H.optimize(cases.seq)
H.run{
  name = "seq", title = "step1/step2/res sequence, cpm.big",
  ns = {1e3, 1e4, 1e5, 1e6, 1e7, 1e9, 1e12, 1e15, 1e18},
  args = function(n) return {n} end,
  methods = {
    {label = "naive", f = cases.seq},
    {label = "cpm", f = cpmf, missing = why},
    {label = "closed form", f = fast.seq},
  },
}
