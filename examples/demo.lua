-- examples/demo.lua -- `make demo`: the cases of the article, written as
-- plain Lua loops in examples/cases.lua, each run naive and optimized.
-- The naive loop runs only where it finishes within a second;
-- times are CPU seconds, best of several runs (bench/harness.lua, the same
-- timing as `make bench`, so the figures can be compared with
-- doc/performance.md).
local cpm = require "cpm"
local H = require "harness"
local cases = require "cases"
local big = cpm.big
local fmt = string.format

print(fmt("cpm demo on %s", jit and jit.version or _VERSION))
print(H.facts())
print()

do
  local g, why = H.optimize(cases.fib)
  if not g then
    print("cpm cannot optimize the tour's loops on this VM: " .. why)
    return
  end
end

-- "ends ...<last 12 digits>" and the size, without printing a million digits.
local TEN12 = big(10) ^ 12
local function digest(r)
  if not cpm.isbig(r) then return tostring(r) end
  if r:bits() <= 64 then return tostring(r) end
  local low = tostring(r % TEN12)
  return fmt("%d bits, ends ...%s%s", r:bits(), ("0"):rep(12 - #low), low)
end

local function pow10(n)
  local e = 0
  while n >= 10 and n % 10 == 0 do n, e = n / 10, e + 1 end
  if n == 1 then return "10^" .. e end
  return tostring(n)
end

-- Runs one case: for each n, cpm always; the naive loop is abandoned when
-- it has not finished after one CPU second, and not tried again at larger n.
-- (LuaJIT calls no hook in compiled code, so there the deadline may not
-- strike: the naive loop is also skipped when its last runs predict
-- more than a second.)
local function tour(title, f, ns, args)
  local g = cpm.optimize(f)
  print(title)
  print(fmt("  %8s  %10s  %10s  %9s  %s", "n", "naive, s", "cpm, s", "speed-up", "result"))
  local given_up, prev = false, {}
  for _, n in ipairs(ns) do
    n = math.tointeger and math.tointeger(n) or n  -- 1e6 is a float on 5.4
    local a = args(n)
    a.n = #a
    local tn
    given_up = given_up or (H.predict(prev, n) or 0) > 1.0
    if not given_up then
      tn = H.time(f, a, 1.0)
      given_up = tn == nil
      if tn then prev[#prev + 1] = { n = n, t = tn } end
    end
    local tc, r = H.time(g, a)
    print(fmt("  %8s  %10s  %10s  %9s  %s", pow10(n), tn and H.sec(tn) or "(> 1 s)",
              H.sec(tc), tn and fmt("%.0fx", tn / tc) or "", digest(r)))
  end
  print()
end

local function n1(n) return {n} end
tour("Fibonacci: a, b = b, a + b (cpm.big)", cases.fib, {1e4, 1e5, 1e6, 1e7}, n1)
-- (LuaJIT counts a loop in doubles: past 2^53, i + 1 == i and the loop as
-- written never ends, so there the last n is 10^15)
tour("Case 1: res += step2; step2 += step1; step1 += 1", cases.seq,
     {1e3, 1e5, 1e7, jit and 1e15 or 1e18}, n1)
tour("3-term recurrence: cur = 7*(2*p1 + 3*p2) + 4*p3 + 5*i + 6", cases.rec3,
     {1e3, 1e4, 1e5, 1e6}, n1)
tour("Geometric sum: 3 + 3*7 + ... + 3*7^(n-1)", cases.geom,
     {1e3, 1e4, 1e5, 1e6}, function(n) return {3, 7, n} end)
tour("Power: res = res * 3, n times", cases.power, {1e4, 1e5, 1e6, 1e7},
     function(n) return {3, n} end)

do  -- no naive run here: 10^1000 iterations
  local n = big(10) ^ 1000
  local g = cpm.optimize(cases.seq_range)
  print("Case 1 over cpm.range(10^1000): a loop of 10^1000 iterations")
  local t, r = H.time(g, {n, n = 1})
  print(fmt("  cpm: %s s, result %s", H.sec(t), digest(r)))
  print(fmt("  closed form 1 + n + n(n-1)/2 + n(n-1)(n-2)/6 agrees: %s",
    tostring(r == 1 + n + (n * (n - 1)):idiv(2) + (n * (n - 1) * (n - 2)):idiv(6))))
  print()
end

print("A loop that cannot be optimized (examples/cases.lua, not_affine):")
print(cpm.explain(cases.not_affine))
print("cpm.optimize keeps such a loop as written: same results, same errors.")
