-- branch.lua -- the cost of one call of an optimized loop with an invariant
-- branch, against the same loop written without the branch (the arm the
-- branch takes), and against the bare condition evaluated in Lua.  The
-- loops run 10^6 iterations, so every call is computed by the guard.
-- Run from the repository root, e.g.
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/lua5.4/?.so;;' \
--     lua5.4 bench/branch.lua [frontend]
local cpm = require "cpm"
local clock = os.clock
local frontend = arg and arg[1] or nil

local load = loadstring or load
local function make(body)
  return load("return function(n, a, b, c)\n  local s, t = 0, 1\n" ..
    "  for i = 1, n do\n" .. body .. "\n  end\n  return s, t\nend")()
end

local plain = make("    s = s + a; t = t + s")
local branched = make([[
    if a < b and c then s = s + a; t = t + s
    else s = s - i end]])
local nested = make([[
    if a > b then s = s - i
    elseif c == "x" then t = t - 1
    elseif not c or b <= 0 then s = s + 3
    else s = s + a; t = t + s end]])

-- Microseconds per call of f(n, ...), run for about 'budget' seconds.
local function measure(f, budget, ...)
  local calls = 1
  while true do
    local t0 = clock()
    for _ = 1, calls do f(...) end
    local t = clock() - t0
    if t > budget then return t / calls * 1e6 end
    calls = calls * 2
  end
end

local opts = { frontend = frontend }
local n = 1000000
print(("%s\tfrontend\tloop\tus per call"):format(jit and "luajit" or "lua5.4"))
for _, case in ipairs {
  { "no branch", plain },
  { "if/else, 2 conditions", branched },
  { "if/elseif x3/else, 5 conditions", nested },
} do
  local g = cpm.optimize(case[2], opts)
  assert(g ~= case[2], case[1] .. ": not optimized")
  local s = g(n, 3, 5, true)
  local s0, t0 = case[2](1000, 3, 5, true)
  assert(s0 == 3000 and t0 == 1 + 3 * 500500, case[1])
  assert(s == 3 * n, case[1])
  print(("%s\t%s\t%s\t%.2f"):format(jit and "luajit" or "lua5.4",
    frontend or "default", case[1], measure(g, 0.5, n, 3, 5, true)))
end
