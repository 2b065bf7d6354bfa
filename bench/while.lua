-- while.lua -- counted while loops: one call of an optimized while loop of
-- 10^16 passes (Lua 5.4; 10^15 on LuaJIT, where the counter is a float and
-- exact only below 2^53), and the cost of the rewritten code on short loops
-- (the distance check in front of the guard call) against the loop as
-- written; and one call of a while loop around a for loop (10^12 passes of
-- 10^6 inner iterations on Lua 5.4, of 100 on LuaJIT: its doubles are
-- exact only below 2^53) and around a triangular for loop (10^6 passes;
-- 10^5 on LuaJIT).  Run from the repository root, e.g.
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/lua5.4/?.so;;' \
--     lua5.4 bench/while.lua [frontend]
local cpm = require "cpm"
local clock = os.clock
local frontend = arg and arg[1] or nil
local VM = jit and "luajit" or "lua5.4"

local load = loadstring or load
local f = load([[
  return function(i, n, s)
    while i < n do
      s = s + 3
      i = i + 1
    end
    return i, s
  end]])()

-- Seconds per call of g(...), run for about 'budget' seconds.
local function measure(g, budget, ...)
  local calls = 1
  while true do
    local t0 = clock()
    for _ = 1, calls do g(...) end
    local t = clock() - t0
    if t > budget then return t / calls end
    calls = calls * 2
  end
end

local g = cpm.optimize(f, { frontend = frontend })
if g == f then
  print(("%s\t%s\tnot optimized by this front end"):format(VM, frontend or "default"))
  return
end
local n = jit and 1e15 or 10000000000000000
local i, s = g(0, n, 0)
assert(i == n and s == 3 * n, "wrong result")
print(("%s\t%s\twhile loop of %g passes\t%.2f us per call"):format(VM,
  frontend or "default", n, measure(g, 0.5, 0, n, 0) * 1e6))
for _, k in ipairs({ 0, 1, 10, 100 }) do
  print(("%s\t%s\t%d passes\tas written %.0f ns\toptimized %.0f ns"):format(VM,
    frontend or "default", k, measure(f, 0.3, 0, k, 0) * 1e9,
    measure(g, 0.3, 0, k, 0) * 1e9))
end

-- A while loop around for loops: computed by the nest guard (strict),
-- checked against the closed forms (Lua 5.4: in wrapping integers).
local idiv = jit and function(a, b) return math.floor(a / b) end
  or load("return function(a, b) return a // b end")()
local nested = {
  { "10^12 passes x %d inner", jit and 100 or 1000000, [[
  return function(i, n, m)
    local s = 0
    while i < n do
      for j = 1, m do s = s + j end
      i = i + 1
    end
    return i, s
  end]], function(p, m) return p * idiv(m * (m + 1), 2) end, 1000000000000 },
  { "triangular, %d passes", jit and 100000 or 1000000, [[
  return function(i, n)
    local s = 0
    while i < n do
      i = i + 1
      for j = 1, i do s = s + j end
    end
    return i, s
  end]], function(p) return idiv(p * (p + 1) * (p + 2), 6) end },
}
for _, c in ipairs(nested) do
  local h = cpm.optimize(load(c[3])(), { frontend = frontend, strict = true })
  local passes = c[5] or c[2]
  local i2, s2 = h(0, passes, c[2])
  assert(i2 == passes and s2 == c[4](passes, c[2]), "wrong result")
  print(("%s\t%s\twhile loop, %s\t%.2f us per call"):format(VM, frontend or "default",
    c[1]:format(c[2]), measure(h, 0.5, 0, passes, c[2]) * 1e6))
end
