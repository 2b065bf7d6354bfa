-- bench/gf2.lua -- random-number generator jump-ahead: xor/shift loop
-- bodies computed over GF(2) (src/core/mat_gf2.c), Lua 5.4 only.  Times
-- one call of an optimized function that runs its generator 10^18 steps,
-- against the loop as written (per step).  Prints one markdown section;
-- run by hand from the repository root (doc/performance.md, "GF(2)"):
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/lua5.4/?.so;;' \
--     lua5.4 bench/gf2.lua
local cpm = require "cpm"
local clock, fmt = os.clock, string.format

assert(not jit, "bench/gf2.lua needs Lua 5.4 (bitwise operators)")

-- Microseconds per call of f: the best of 'runs' batches of at least
-- 'least' seconds of CPU time each.
local function usec(f, runs, least)
  runs, least = runs or 7, least or 0.2
  local reps = 1
  local function batch()
    collectgarbage("collect")
    local t0 = clock()
    for _ = 1, reps do f() end
    return clock() - t0
  end
  while batch() < least do reps = reps * 2 end
  local best = math.huge
  for _ = 1, runs do best = math.min(best, batch() / reps) end
  return best * 1e6
end

local gens = {
  { name = "xorshift64 (Marsaglia 13, 7, 17)", nargs = 1, text = [[
return function(x, n)
  for _ = 1, n do
    x = x ~ (x << 13); x = x ~ (x >> 7); x = x ~ (x << 17)
  end
  return x
end]] },
  { name = "xoshiro256 (four words, a rotation)", nargs = 4, text = [[
return function(s0, s1, s2, s3, n)
  for _ = 1, n do
    local t = s1 << 17
    s2 = s2 ~ s0; s3 = s3 ~ s1; s1 = s1 ~ s2; s0 = s0 ~ s3
    s2 = s2 ~ t
    s3 = (s3 << 45) | (s3 >> 19)
  end
  return s0, s1, s2, s3
end]] },
  { name = "xorshift64 with a mask m (a new m each call: no cache)", nargs = 1, mask = true, text = [[
return function(x, n, m)
  for _ = 1, n do
    x = x ~ ((x << 13) & m); x = x ~ (x >> 7); x = x ~ (x << 17)
  end
  return x
end]] },
}

local N = 1000000000000000000
print("| generator | 10^18 steps, one call (us) | as written, one step (ns) |")
print("| --- | ---: | ---: |")
for _, g in ipairs(gens) do
  local f = load(g.text, "=" .. g.name)()
  local opt = cpm.optimize(f)
  assert(cpm.explain(f):find("loop optimized", 1, true), g.name)
  local s = { 0x0123456789abcdef, 0x1111, 0x2222, 0x3333 }
  local m = -1
  local jump
  if g.nargs == 1 then
    if g.mask then
      jump = function() m = m - 2; return opt(s[1], N, m) end
    else
      jump = function() return opt(s[1], N) end
    end
  else
    jump = function() return opt(s[1], s[2], s[3], s[4], N) end
  end
  local steps = 100000
  local plain
  if g.nargs == 1 then plain = function() return f(s[1], steps, -1) end
  else plain = function() return f(s[1], s[2], s[3], s[4], steps) end end
  print(fmt("| %s | %.2f | %.2f |", g.name, usec(jump), usec(plain, 3) * 1e3 / steps))
end
