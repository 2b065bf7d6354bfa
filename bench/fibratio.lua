-- bench/fibratio.lua -- Fibonacci with cpm.big through the optimizer
-- (cpm.optimize(cases.fib), guard included) against GMP's mpz_fib_ui into
-- a cpm.big (gmpref.fib), at n = 10^5 .. 10^8, 9 interleaved runs
-- (os.clock): min and median times, the ratio of the minimum times and
-- the median of the 9 ratios.  Needs the gmpref helper of
-- `make bench`; run by hand from the repository root:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;examples/?.lua;bench/?.lua;;' \
--   LUA_CPATH='build/lua5.4/?.so;build/bench/lua5.4/?.so;;' lua5.4 bench/fibratio.lua
-- (or the same with luajit and build/luajit)
local cpm = require "cpm"
local gmp = require "gmpref"
local cases = require "cases"
local clock = os.clock

local g = cpm.optimize(cases.fib, { strict = true })
local RUNS = 9

-- seconds per call of f(n), 'reps' calls
local function time(f, n, reps)
  collectgarbage("collect")
  local t0 = clock()
  for _ = 1, reps do f(n) end
  return (clock() - t0) / reps
end

print("| n | mpz_fib_ui, ms min / median | cpm, ms min / median | ratio of the minima / median ratio |")
print("| --- | --- | --- | --- |")
for _, n in ipairs { 1e5, 1e6, 1e7, 1e8 } do
  n = math.floor(n)
  assert(cpm.eq(g(n), gmp.fib(n)), "F(n) differs")
  local reps = math.max(1, math.floor(0.05 / time(gmp.fib, n, 1)))
  local tg, tc, ratio = {}, {}, {}
  for r = 1, RUNS do
    tg[r] = time(gmp.fib, n, reps)
    tc[r] = time(g, n, reps)
    ratio[r] = tc[r] / tg[r]
  end
  table.sort(tg); table.sort(tc); table.sort(ratio)
  local m = math.floor((RUNS + 1) / 2)
  print(("| 10^%d | %.4g / %.4g | %.4g / %.4g | **%.3f** / %.3f |"):format(
    math.floor(math.log(n, 10) + 0.5), tg[1] * 1e3, tg[m] * 1e3, tc[1] * 1e3, tc[m] * 1e3,
    tc[1] / tg[1], ratio[m]))
end
