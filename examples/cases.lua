-- examples/cases.lua -- the cases of the cpmoptimize article, written as
-- the plain Lua loops a user would write.  Nothing here knows about the
-- optimizer: examples/demo.lua and bench/ wrap them with cpm.optimize.
-- The syntax is common to Lua 5.4 and LuaJIT (no // or bitwise operators).
local cpm = require "cpm"
local big, range = cpm.big, cpm.range

local M = {}

-- Case 2 of the article: the n-th Fibonacci number, exact.
function M.fib(n)
  local a, b = big(0), big(1)
  for i = 1, n do
    a, b = b, a + b
  end
  return a
end

-- Case 1: a sequence whose rule is easy to state and tedious to solve.
function M.seq(n)
  local step1, step2, res = big(1), big(1), big(1)
  for i = 1, n do
    res = res + step2
    step2 = step2 + step1
    step1 = step1 + 1
  end
  return res
end

-- Case 1 again, over cpm.range so that n may be a bignum (10^1000).
function M.seq_range(n)
  local step1, step2, res = big(1), big(1), big(1)
  for i in range(n) do
    res = res + step2
    step2 = step2 + step1
    step1 = step1 + 1
  end
  return res
end

-- The 3-term recurrence cur = 7*(2*p1 + 3*p2) + 4*p3 + 5*i + 6.
function M.rec3(n)
  local p3, p2, p1 = big(0), big(1), big(1)
  for i = 3, n + 2 do
    local cur = 7 * (2 * p1 + 3 * p2) + 4 * p3 + 5 * i + 6
    p3, p2, p1 = p2, p1, cur
  end
  return p3
end

-- Case 3: the sum of 'count' terms of a geometric progression.
function M.geom(start, coeff, count)
  local res, elem = big(0), big(start)
  for i = 1, count do
    res = res + elem
    elem = elem * coeff
  end
  return res
end

-- Case 4: a^n by repeated multiplication.
function M.power(a, n)
  local res = big(1)
  for i = 1, n do
    res = res * a
  end
  return res
end

-- Not affine: the body multiplies two values that change in the loop.
function M.not_affine(n)
  local x, s = 1, 0
  for i = 1, n do
    s = s + x * i
    x = x * s
  end
  return s
end

return M
