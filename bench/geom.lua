-- bench/geom.lua -- sum of n terms of 3, 3*7, 3*7^2, ...: naive loop, cpm,
-- closed form.
local H = require "harness"
local cases, fast = require "cases", require "fast"

local cpmf, why = H.optimize(cases.geom)
H.run{
  name = "geom", title = "geometric sum, start 3, ratio 7, n terms, cpm.big",
  ns = {1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6},
  args = function(n) return {3, 7, n} end,
  methods = {
    {label = "naive", f = cases.geom},
    {label = "cpm", f = cpmf, missing = why},
    {label = "closed form", f = fast.geom},
  },
}
