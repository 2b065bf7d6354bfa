-- bench/gf2.lua -- random-number generator jump-ahead: xor/shift loop
-- bodies computed over GF(2) (src/core/mat_gf2.c).  Times one call of an
-- optimized function that runs its generator 10^18 steps, against the
-- loop as written (per step).  Prints one markdown section; run by hand
-- from the repository root (doc/performance.md, "GF(2)"):
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/lua5.4/?.so;;' \
--     lua5.4 bench/gf2.lua [bytecode|source]
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/luajit/?.so;;' \
--     luajit bench/gf2.lua [bytecode|source]
-- On LuaJIT the same 64-bit generators are written with the bit library
-- on 32-bit halves (a 64-bit shift is two 32-bit shifts or'ed; the
-- results are checked against the 64-bit values Lua 5.4 gives), and the
-- 10^18 steps are a generic for over cpm.range with a cpm.big count (a
-- numeric for on doubles stops counting at 2^53).
local cpm = require "cpm"
local clock, fmt = os.clock, string.format
local frontend = arg and arg[1] or nil

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

if jit then
  local gens = {
    { name = "xorshift64 (Marsaglia 13, 7, 17) in 32-bit halves", nargs = 2,
      want = { 0xed4b384c, 0xcade65ef }, text = [[
local bit, cpm = require "bit", require "cpm"
return function(h, l, n, range)
  local bxor, bor, lshift, rshift = bit.bxor, bit.bor, bit.lshift, bit.rshift
  for _ in (range or cpm.range)(n) do
    h = bxor(h, bor(lshift(h, 13), rshift(l, 19))); l = bxor(l, lshift(l, 13))
    l = bxor(l, bor(rshift(l, 7), lshift(h, 25))); h = bxor(h, rshift(h, 7))
    h = bxor(h, bor(lshift(h, 17), rshift(l, 15))); l = bxor(l, lshift(l, 17))
  end
  return h, l
end]] },
    { name = "xoshiro256 (four words, a rotation) in 32-bit halves", nargs = 8,
      text = [[
local bit, cpm = require "bit", require "cpm"
return function(ah, al, bh, bl, ch, cl, dh, dl, n, range)
  local bxor, bor, lshift, rshift = bit.bxor, bit.bor, bit.lshift, bit.rshift
  for _ in (range or cpm.range)(n) do
    local th, tl = bor(lshift(bh, 17), rshift(bl, 15)), lshift(bl, 17)
    ch = bxor(ch, ah); cl = bxor(cl, al); dh = bxor(dh, bh); dl = bxor(dl, bl)
    bh = bxor(bh, ch); bl = bxor(bl, cl); ah = bxor(ah, dh); al = bxor(al, dl)
    ch = bxor(ch, th); cl = bxor(cl, tl)
    dh, dl = bor(lshift(dl, 13), rshift(dh, 19)), bor(lshift(dh, 13), rshift(dl, 19))
  end
  return ah, al, bh, bl, ch, cl, dh, dl
end]] },
  }
  local N = cpm.big(10) ^ 18
  local function steps(n)  -- a plain counter: the loop as written
    return function(_, i) if i < n then return i + 1 end end, nil, 0
  end
  print(fmt("LuaJIT, %s front end:", frontend or "bytecode"))
  print("")
  print("| generator | 10^18 steps, one call (us) | as written, one step (ns) |")
  print("| --- | ---: | ---: |")
  for _, g in ipairs(gens) do
    -- (the source front end reads the text from the chunk name)
    local f = load(g.text, frontend == "source" and g.text or "=" .. g.name)()
    local opt = cpm.optimize(f, { frontend = frontend, strict = true })
    local s = { 0x01234567, 0x89abcdef - 2 ^ 32, 0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666 }
    local jump, plain
    local K = 100000
    if g.nargs == 2 then
      local h, l = opt(s[1], s[2], N)  -- Lua 5.4's xorshift64 jumped by 10^18
      assert(h % 2 ^ 32 == g.want[1] and l % 2 ^ 32 == g.want[2], g.name)
      jump = function() return opt(s[1], s[2], N) end
      plain = function() return f(s[1], s[2], K, steps) end
    else
      jump = function() return opt(s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], N) end
      plain = function() return f(s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], K, steps) end
    end
    print(fmt("| %s | %.2f | %.2f |", g.name, usec(jump), usec(plain, 3) * 1e3 / K))
  end
  return
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
  -- (the source front end reads the text from the chunk name)
  local f = load(g.text, frontend == "source" and g.text or "=" .. g.name)()
  local opt = cpm.optimize(f, { frontend = frontend })
  assert(cpm.explain(f, { frontend = frontend }):find("loop optimized", 1, true), g.name)
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
