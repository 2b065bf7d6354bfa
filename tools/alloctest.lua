-- The script tools/alloctest.c runs under allocation failure at every
-- point: cpm.optimize, cpm.explain, cpm.load, an optimized loop's guard
-- (integers, floats, bignums), a nest's, every cpm.big operator and method and the
-- refusal of a crafted chunk, each result asserted, so that a wrong value
-- under memory pressure is an assertion error (reported) instead of "not
-- enough memory" (expected).
local cpm = require "cpm"
local B = cpm.big

local function fib(n, a, b)
  for _ = 1, n do a, b = b, a + b end
  return a
end
local function affine(n, x, y)
  for i = 1, n do x, y = 3 * x + y + i, y - 2 end
  return x, y
end

local g = cpm.optimize(fib, { iters_limit = 2 })
assert(g ~= fib)
assert(g(90, 0, 1) == 2880067194370816120)
assert(g(10, 0.5, 1.5) == fib(10, 0.5, 1.5))
assert(tostring(g(100, B(0), B(1))) == "354224848179261915075")
local h = cpm.optimize(affine, { iters_limit = 2 })
local x1, y1 = h(20, B(1), B(5))
local x2, y2 = affine(20, B(1), B(5))
assert(x1 == x2 and y1 == y2)
assert(cpm.explain(affine):find("loop optimized", 1, true))

-- a nest (src/core/plan_nest.c): planned whole, its guard computing it
-- (integers, then floats with their exactness bounds)
local function nest(n, m, s)
  for i = 1, n do
    for j = 1, m do s = s + j end
    s = s - i
  end
  return s
end
do
  local q = cpm.optimize(nest, { iters_limit = 2 })
  assert(q ~= nest)
  assert(q(1000, 100, 0) == 1000 * 5050 - 500500)
  assert(q(1000, 100, 0.0) == 1000 * 5050 - 500500)
end
assert(cpm.explain(print) == "no loops")

local chunk = cpm.load([[
  local n = ...
  local s = 0
  for i = 1, n do s = s + 2 * i end
  return s
]], "=alloc")
assert(chunk(1000) == 1001000)

-- every operator and method of cpm.big, on values of a few limbs
local a, b = B(2) ^ 130 + 12345, -(B(3) ^ 50)
local s = tostring(a)
assert(s == "1361129467683753853853498429727072858169")
assert(B(s) == a and cpm.eq(a, B(s)) and cpm.isbig(a) and not cpm.isbig(1))
assert((a + b) - b == a and a - a == B(0))
assert((a * b) // b == a and (a * b) % b == B(0))
assert(a % 1000 == B(169) and a // B(2) ^ 129 == B(2))
assert(a / b < 0 and math.type(a / b) == "float")
assert(-(-a) == a and (a ^ 3) // (a ^ 2) == a)
assert((a & b) + (a | b) == a + b and (a ~ b) == (a | b) - (a & b))
assert(~a == -a - 1)
assert((a << 70) >> 70 == a and a >> 200 == B(0))
assert(a > b and b < a and a >= a and b <= b and cpm.cmp(a, b) == 1)
assert(a .. "" == s and "x" .. a == "x" .. s)
assert(a:add(1) == a + 1 and a:sub(1) == a - 1 and a:mul(2) == a + a)
assert(a:div(a) == 1.0 and a:idiv(a) == B(1) and a:mod(a) == B(0))
assert(a:pow(2) == a * a and a:unm() == -a)
assert(a:band(255) == B(0x39) and a:bor(0) == a and a:bxor(a) == B(0))
assert(a:shl(1) == a * 2 and a:shr(1) == a // 2 and a:bnot() == ~a)
assert(a:tostring() == s and a:bits() == 131 and b:sign() == -1)
assert(B(7):tointeger() == 7 and B(7):tonumber() == 7)
assert(a:tointeger() == nil and a:tonumber() > 1e39)

local total = 0
for i in cpm.range(B(2) ^ 70, B(2) ^ 70 + 4) do total = total + (i - B(2) ^ 70) end
assert(total == B(10))

-- a crafted chunk (a jump past the end of the code): refused, f unchanged
local C = require "chunk54"
local d = string.dump(affine)
local P = C.parse(d)
local j = C.find(P.main, C.OP.FORPREP)
local bad = load(C.set(d, j, C.setarg(j.value, "Bx", 99999)), "=bad", "b")
assert(cpm.optimize(bad) == bad)
assert(cpm.explain(bad):find("loop exit out of the code", 1, true))
