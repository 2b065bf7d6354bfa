-- bench/reach.lua -- time per call of optimized loops beyond affine
-- bodies, at counts no loop could run: a sum of squares (polynomial
-- terms) and recurrences modulo a prime (Z/m).  Prints a markdown table.
-- On LuaJIT the counts are lowered to where the loop's doubles stay exact
-- integers (a float loop is counted only below 2^53).
local cpm = require "cpm"
local LUA54 = not jit
local clock = os.clock

local function compile(src) return assert((loadstring or load)(src))() end

local cases = {
  { name = "`s = s + i*i`", n = LUA54 and math.floor(10^15) or 200000, args = { 0 },
    src = [[return function(n, s) for i = 1, n do s = s + i * i end return s end]] },
  { name = "Fibonacci mod 10^9+7", n = LUA54 and math.floor(10^18) or 2^52, args = { 1000000007 },
    src = [[return function(n, m) local a, b = 0, 1
      for _ = 1, n do a, b = b, (a + b) % m end return a end]] },
  { name = "3-term recurrence mod 2^30-35", n = LUA54 and math.floor(10^18) or 2^52,
    args = { 1073741789 },
    src = [[return function(n, m) local a, b, c = 1, 2, 3
      for _ = 1, n do a, b, c = b, c, (5*a + 3*b + 7*c) % m end return c end]] },
  { name = "`x = (a*x + b) % m` (LCG, m = 2^31-1)", n = LUA54 and math.floor(10^18) or 2^52,
    args = { 2147483647, 48271, 12345 },
    src = [[return function(n, m, a, x) for _ = 1, n do x = (a * x + 11) % m end return x end]] },
}

local unpack = table.unpack or unpack
print("| loop | n | result | us per call |")
print("| --- | --- | --- | --- |")
for _, c in ipairs(cases) do
  local f = compile(c.src)
  local g = cpm.optimize(f, { strict = true })
  local r = g(c.n, unpack(c.args))
  local reps, t0 = 0, clock()
  repeat
    for _ = 1, 1000 do g(c.n, unpack(c.args)) end
    reps = reps + 1000
  until clock() - t0 > 0.5
  local us = (clock() - t0) / reps * 1e6
  print(("| %s | %.0f | %s | %.2f |"):format(c.name, c.n, tostring(r), us))
end
