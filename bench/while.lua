-- while.lua -- counted while loops: one call of an optimized while loop of
-- 10^16 passes (Lua 5.4; 10^15 on LuaJIT, where the counter is a float and
-- exact only below 2^53), and the cost of the rewritten code on short loops
-- (the distance check in front of the guard call) against the loop as
-- written.  Run from the repository root, e.g.
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
