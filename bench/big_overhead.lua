-- big_overhead.lua -- the cost of `a + b` and `a * b` on cpm.big values of
-- 1000 and 1,000,000 bits, per operation, with the cost of the empty loop
-- subtracted.  Compare with bench/big_overhead_gmp.c (the bare GMP calls).
-- Run from the repository root, e.g.
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/lua5.4/?.so;;' \
--     lua5.4 bench/big_overhead.lua
local cpm = require "cpm"
local clock = os.clock

-- A value of exactly 'bits' bits with pseudo-random digits.
local function value(bits, seed)
  local digits, x = {}, seed
  local n = math.ceil(bits / 4)
  for i = 1, n do
    x = (x * 1103515245 + 12345) % 2147483648
    digits[i] = string.format("%x", math.floor(x / 65536) % 16)
  end
  digits[1] = "8"  -- top bit set; bits is a multiple of 4 here
  return cpm.big(table.concat(digits), 16)
end

-- Nanoseconds per iteration of f(n), run for about 'budget' seconds.
local function measure(f, budget)
  local n = 1
  while true do
    local t0 = clock()
    f(n)
    local t = clock() - t0
    if t > budget then return t / n * 1e9 end
    n = n * 2
  end
end

local a1, b1
local function empty(n) local c for _ = 1, n do c = a1 end return c end
local function add(n) local a, b, c = a1, b1 for _ = 1, n do c = a + b end return c end
local function mul(n) local a, b, c = a1, b1 for _ = 1, n do c = a * b end return c end

print(("%s\tbits\top\tns"):format(jit and "luajit" or "lua5.4"))
for _, bits in ipairs {1000, 1000000} do
  a1, b1 = value(bits, 1), value(bits, 2)
  collectgarbage()
  local base = measure(empty, 0.3)
  for _, case in ipairs {{"+", add}, {"*", mul}} do
    print(("\t%d\t%s\t%.1f"):format(bits, case[1], measure(case[2], 1.0) - base))
  end
end
