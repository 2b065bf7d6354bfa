-- bench/fast.lua -- the hand-written fast methods the benchmarks compare
-- cpm with: what a programmer who knows the trick would write instead of
-- the plain loop (fast doubling, explicit matrix power, closed forms).
-- Plain cpm.big arithmetic, no optimizer; syntax common to both VMs.
local cpm = require "cpm"
local big = cpm.big

local M = {}

-- F(n) by fast doubling: F(2k) = F(k) (2 F(k+1) - F(k)),
-- F(2k+1) = F(k)^2 + F(k+1)^2, from the top bit of n down.
function M.fib(n)
  local a, b = big(0), big(1)  -- F(k), F(k+1), k = 0
  local bit = 1
  while bit * 2 <= n do bit = bit * 2 end
  if n == 0 then return a end
  while bit >= 1 do
    local c = a * (2 * b - a)
    local d = a * a + b * b
    if n % (2 * bit) >= bit then a, b = d, c + d else a, b = c, d end
    bit = bit / 2
  end
  return a
end

-- k x k matrices as flat arrays of cpm.big, row-major.
local function matmul(k, x, y)
  local r = {}
  for i = 0, k - 1 do
    for j = 0, k - 1 do
      local s = big(0)
      for l = 0, k - 1 do
        local xv, yv = x[i * k + l + 1], y[l * k + j + 1]
        if xv:sign() ~= 0 and yv:sign() ~= 0 then s = s + xv * yv end
      end
      r[i * k + j + 1] = s
    end
  end
  return r
end

-- B^n v by binary powering of the full matrix (the textbook method).
local function matpow_apply(k, b, n, v)
  local r = {}
  for i = 0, k - 1 do
    for j = 0, k - 1 do r[i * k + j + 1] = big(i == j and 1 or 0) end
  end
  local p = b
  while n > 0 do
    if n % 2 == 1 then r = matmul(k, r, p) end
    n = (n - n % 2) / 2
    if n > 0 then p = matmul(k, p, p) end
  end
  local out = {}
  for i = 0, k - 1 do
    local s = big(0)
    for j = 0, k - 1 do s = s + r[i * k + j + 1] * v[j + 1] end
    out[i + 1] = s
  end
  return out
end

-- The 3-term recurrence by an explicit 5x5 matrix over (p3, p2, p1, i, 1):
-- one iteration maps it to (p2, p1, 4 p3 + 21 p2 + 14 p1 + 5 i + 6, i+1, 1).
local REC3 = {
  0, 1, 0, 0, 0,
  0, 0, 1, 0, 0,
  4, 21, 14, 5, 6,
  0, 0, 0, 1, 1,
  0, 0, 0, 0, 1,
}
function M.rec3(n)
  local b = {}
  for i, c in ipairs(REC3) do b[i] = big(c) end
  local v = matpow_apply(5, b, n, {big(0), big(1), big(1), big(3), big(1)})
  return v[1]
end

-- The step1/step2/res sequence in closed form: after n steps
-- res = 1 + n + n(n-1)/2 + n(n-1)(n-2)/6.
function M.seq(n)
  local m = big(n)
  return 1 + m + (m * (m - 1)):idiv(2) + (m * (m - 1) * (m - 2)):idiv(6)
end

-- Geometric sum in closed form: start (coeff^count - 1) / (coeff - 1).
function M.geom(start, coeff, count)
  if coeff == 1 then return big(start) * count end
  return (big(start) * (big(coeff) ^ count - 1)):idiv(coeff - 1)
end

-- a^n by binary powering (square and multiply), n >= 0.
function M.power(a, n)
  local r, p = big(1), big(a)
  while n > 0 do
    if n % 2 == 1 then r = r * p end
    n = (n - n % 2) / 2
    if n > 0 then p = p * p end
  end
  return r
end

return M
