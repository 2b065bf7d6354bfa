-- bench/reach.lua -- time per call of optimized loops beyond affine
-- bodies, at counts no loop could run: a sum of squares (polynomial
-- terms), recurrences modulo a prime (Z/m) and, on Lua 5.4, xorshift64
-- jumped ahead (GF(2)).  Prints a markdown table: microseconds per call,
-- min and median of 5 rounds (each round times every case in turn, so a
-- change of load hits them all).  On LuaJIT the counts are lowered to
-- where the loop's doubles stay exact integers (a float loop is counted
-- only below 2^53).
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
if LUA54 then
  cases[#cases + 1] = { name = "xorshift64 (13, 7, 17)", n = math.floor(10^18),
    args = { 0x0123456789abcdef },
    src = [[return function(n, x) for _ = 1, n do
      x = x ~ (x << 13); x = x ~ (x >> 7); x = x ~ (x << 17) end return x end]] }
end

local unpack = table.unpack or unpack
local ROUNDS = 5
for _, c in ipairs(cases) do
  c.g = cpm.optimize(compile(c.src), { strict = true })
  c.r = c.g(c.n, unpack(c.args))
  c.t = {}
  local reps, t0 = 0, clock()  -- calls per batch: about 0.1 s
  repeat
    for _ = 1, 100 do c.g(c.n, unpack(c.args)) end
    reps = reps + 100
  until clock() - t0 > 0.1
  c.reps = reps
end
for _ = 1, ROUNDS do
  for _, c in ipairs(cases) do
    local g, n, a1, a2, a3 = c.g, c.n, unpack(c.args)
    local t0 = clock()
    for _ = 1, c.reps do g(n, a1, a2, a3) end
    c.t[#c.t + 1] = (clock() - t0) / c.reps * 1e6
  end
end
print("| loop | n | result | us per call, min / median of " .. ROUNDS .. " |")
print("| --- | --- | --- | --- |")
for _, c in ipairs(cases) do
  table.sort(c.t)
  print(("| %s | %.0f | %s | %.2f / %.2f |"):format(c.name, c.n, tostring(c.r), c.t[1],
    c.t[math.floor((ROUNDS + 1) / 2)]))
end
