-- nest.lua -- one call of an optimized nest (src/core/plan_nest.c):
-- rectangular of depth 2 and depth 3, each loop 10^6 iterations on Lua 5.4
-- (on LuaJIT, whose numbers are exact only below 2^53, 10^5), and
-- triangular (`for j = 1, i`, `for j = i + 1, n`: n = 10^6 on Lua 5.4,
-- 10^5 on LuaJIT), tetrahedral (`for k = 1, j` inside `for j = 1, i`:
-- 10^6, 10^4 on LuaJIT), each call computed by the guard (strict: a call run as
-- written would raise); the depth-2 and triangular nests again with an
-- invariant branch around their inner body.
-- Run from the repository root, e.g.
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/lua5.4/?.so;;' \
--     lua5.4 bench/nest.lua [frontend]
local cpm = require "cpm"
local clock = os.clock
local frontend = arg and arg[1] or nil

local function two(n, m)
  local s, t = 0, 0
  for i = 1, n do
    for _ = 1, m do s = s + 1 end
    t = t + s + i
  end
  return s, t
end

local function three(n, m, p)
  local s, t = 0, 0
  for i = 1, n do
    local u = i * 2
    for _ = 1, m do
      for _ = 1, p do s = s + 1 end
      t = t + u
    end
  end
  return s, t
end

-- two and triangle again, their inner body behind an invariant branch
-- (src/core/plan_branch.c: the guard takes the path of c, then plans it as
-- a nest): c true takes the arm that two and triangle run
local function two_branch(n, m, c)
  local s, t = 0, 0
  for i = 1, n do
    for _ = 1, m do
      if c then s = s + 1 else s = s - 1 end
    end
    t = t + s + i
  end
  return s, t
end

local function triangle_branch(n, c)
  local s = 0
  for i = 1, n do
    for j = 1, i do
      if not c then s = s - 1 elseif c == "x" then s = s + 2 else s = s + j end
    end
  end
  return s
end

local function triangle(n)
  local s = 0
  for i = 1, n do
    for j = 1, i do s = s + j end
  end
  return s
end

-- tetrahedral: a triangular loop below the first level (prodloop)
local function tetra(n)
  local s = 0
  for i = 1, n do
    for j = 1, i do
      for k = 1, j do s = s + k end
    end
  end
  return s
end

local function pairs_above(n)
  local s, c = 0, 0
  for i = 1, n do
    for j = i + 1, n do s = s + j - i; c = c + 1 end
  end
  return s, c
end

-- Microseconds per call of f(...), run for about 'budget' seconds.
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

-- C(x, 4) as the loops compute it (Lua 5.4 integers: mod 2^64): the
-- factors of 24 divided out of the four factors before multiplying
local idiv = not jit and load("return function(a, b) return a // b end")()
  or function(a, b) return math.floor(a / b) end
local function binom4(x)
  local f = { x, x - 1, x - 2, x - 3 }
  for _, d in ipairs({ 3, 4, 2 }) do
    for i = 1, 4 do
      if f[i] % d == 0 then f[i] = idiv(f[i], d); break end
    end
  end
  return f[1] * f[2] * f[3] * f[4]
end

local vm = jit and "luajit" or "lua5.4"
local big = jit and 100000 or 1000000
print(("%s\tfrontend\tnest\tus per call"):format(vm))
local size = jit and "10^5" or "10^6"
local tri = big * (big + 1) * (big + 2) / 6
for _, case in ipairs {
  { size .. " x " .. size .. ", 2 loops", two, big, big },
  { size .. " x " .. size .. ", 2 loops, if/else inside", two_branch, big, big,
    true, want = big * big },
  { size .. " x " .. size .. " x " .. size .. ", 3 loops", three, big, big, big },
  { "triangle, n = " .. size, triangle, big },
  { "triangle, n = " .. size .. ", if/elseif/else inside", triangle_branch,
    big, 1, want = tri },
  { "pairs above the diagonal, n = " .. size, pairs_above, big },
  { "tetrahedral (i, j <= i, k <= j), n = " .. (jit and "10^4" or size), tetra,
    jit and 10000 or big },
} do
  local ok, g = pcall(cpm.optimize, case[2], { frontend = frontend, strict = true })
  if not ok then
    print(("%s\t%s\t%s\tnot planned: %s"):format(vm, frontend or "default",
      case[1], tostring(g)))
  else
    local a, b = g(30, 20, 10)
    local c, d = case[2](30, 20, 10)
    assert(a == c and b == d, case[1])
    local n4 = case[3]
    local want = case.want or case[5] and big * big * big
      or case[2] == tetra and binom4(n4 + 3)
      or case[4] and big * big
      or case[2] == triangle and tri
      or (big - 1) * big * (big + 1) / 6
    assert(g(case[3], case[4], case[5]) == want, case[1])
    print(("%s\t%s\t%s\t%.2f"):format(vm, frontend or "default", case[1],
      measure(g, 0.5, case[3], case[4], case[5])))
  end
end
