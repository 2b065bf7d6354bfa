-- bench/neverslower.lua -- is an optimized function ever slower than the
-- original?  For each short-loop case of bench/loops.lua and each n from 1
-- to 10^6, the original f and cpm.optimize(f) (default options) are timed
-- in alternation, several rounds; each round gives the ratio g/f of two
-- timings taken back to back, and the table shows the median of those
-- ratios and the ratio of the best times (below 1: cpm is faster).  Then
-- a hot caller:
--   for r = 1, 2e6 do s = s + h(10 + r % 3) end
-- with h the original and the optimized sum.  Markdown on stdout.
-- CPM_BENCH_FRONTEND=source: the source front end instead of the default.
-- CPM_BENCH_ROUNDS: rounds (9, LuaJIT 15); CPM_BENCH_NS="1,2,8": only those n.
--
-- Every measurement starts afresh: for each case and n, f is a new copy of
-- the case's function (string.dump and load, its upvalues joined), g is
-- cpm.optimize of another copy, and each is timed by a loop of its own
-- (a new chunk).  On LuaJIT a trace belongs to a prototype: with one timing
-- loop and one f for every n, the first function timed gets the root trace
-- and the other a side trace, and the traces formed at one n shape the
-- next n's, so the ratios measured the order and the history (two copies
-- of the same f differed by up to 2x).  The null row -- a second copy of f
-- timed against f the same way -- shows the noise that remains.
local cpm = require "cpm"
local loops = require "loops"
local fmt = string.format
local quick = os.getenv("CPM_BENCH_QUICK") ~= nil
local frontend = os.getenv("CPM_BENCH_FRONTEND")
local opts = frontend and { frontend = frontend } or nil

-- (LuaJIT: 15, for its two trace layouts at n = 3-8: a round whose two
-- copies landed in different layouts is an outlier the median must outvote)
local ROUNDS = tonumber(os.getenv("CPM_BENCH_ROUNDS")) or (quick and 3 or jit and 15 or 9)
local SLICE = quick and 0.002 or 0.01  -- seconds per timing, at least

local cases = {
  { name = "sum", f = loops.sum },
  { name = "fibint", f = loops.fibint },
  { name = "rec3int", f = loops.rec3int },
  { name = "fibbig", f = loops.fibbig },
  { name = "wsum", f = loops.wsum },
  { name = "wfibint", f = loops.wfibint },
}
local NS = { 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384,
  512, 1000, 10000, 100000, 1000000 }
-- only the n of CPM_BENCH_NS (a quick look at a few rows)
if os.getenv("CPM_BENCH_NS") then
  NS = {}
  for v in os.getenv("CPM_BENCH_NS"):gmatch("[^,%s]+") do NS[#NS + 1] = assert(tonumber(v)) end
end

local load = loadstring or load
local unpack = table.unpack or unpack

-- A new copy of f: its own prototype (own traces on LuaJIT), the same
-- upvalues.
local function copy(f)
  local c = assert(load(string.dump(f)))
  for i = 1, math.huge do
    if debug.getupvalue(f, i) == nil then break end
    debug.upvaluejoin(c, i, f, i)
  end
  return c
end

-- A new timing loop: timer()(f, n, k) gives the seconds per call of f(n)
-- over k calls.  (The argument is read from a table and the last result
-- kept: with f(n) and no result, LuaJIT hoists or drops a short loop that
-- it inlines into the timing loop's trace, and the call costs nothing.)
local TIMER = [[
local clock, collect = os.clock, collectgarbage
return function(f, n, k)
  collect("collect")
  local ns, t0, r = { n, n }, clock(), nil
  for i = 1, k do r = f(ns[i % 2 + 1]) end
  return (clock() - t0) / k, r
end]]
local function timer() return assert(load(TIMER))() end

-- Calls per timing so that one timing of the slower of f, g (timed by tf,
-- tg) lasts SLICE.
local function batch(tf, f, tg, g, n)
  local k = 1
  while true do
    local t = math.max((tf(f, n, k)), (tg(g, n, k))) * k
    if t >= SLICE or k >= 2^24 then return k end
    k = k * (t > 0 and math.min(16, math.ceil(SLICE / t * 1.2)) or 16)
  end
end

local function median(t)
  table.sort(t)
  local m = #t
  return m % 2 == 1 and t[(m + 1) / 2] or (t[m / 2] + t[m / 2 + 1]) / 2
end

-- Median and minimum over ROUNDS rounds of time(g) / time(f), the two
-- timed back to back in each round (their order alternating).
local function ratios(tf, tg)
  local r = {}
  for i = 1, ROUNDS do
    local a, b
    if i % 2 == 1 then a = tf(); b = tg() else b = tg(); a = tf() end
    r[i] = b / a
  end
  local lo = math.min(unpack(r))
  return median(r), lo
end

local out = {}
local function emit(s) out[#out + 1] = s end
local vmname = jit and "LuaJIT" or "Lua 5.4"
emit(fmt("#### Never slower: time of cpm.optimize(f) / time of f (%s%s; medians and minima of %d rounds)",
  vmname, frontend and ", " .. frontend .. " front end" or "", ROUNDS))
emit("")
local head = { "n" }
for _, c in ipairs(cases) do
  c.g = cpm.optimize(c.f, opts)
  assert(c.g ~= c.f, c.name .. " not optimized")
  head[#head + 1] = c.name
end
emit("| " .. table.concat(head, " | ") .. " |")
emit("|" .. string.rep(" --: |", #head))
-- The median over ROUNDS rounds of the ratio g/f of the two times of a
-- round, and the ratio of their best times.  Each round takes new copies
-- (mk()) of f and g, each timed by a loop of its own after a warm-up at
-- the same n, the two back to back, their order alternating.  Why the
-- ratios of rounds and not the ratio of the median times: the machine's
-- speed drifts within a run (shared cores: f's own time at n = 2 moved
-- between 1.5 and 3.2 ns from one round to the next), which the two
-- timings of one round share; and on LuaJIT, at n = 3-8, a new copy lands
-- in one of two trace layouts (the short loop unrolled into the timing
-- loop's trace, or a trace of its own entered through a side exit, 4-5
-- times slower), f as often as g.  With about as many copies of each in
-- the slower layout the median times of f and g each fall in either, and
-- their ratio swung between 0.2 and 4.8 for f against a second copy of f;
-- a round's ratio mixes layouts only when the two copies differ, as often
-- above 1 as below, so the median round compares like with like.  A g
-- that landed in the slower layout more often than f would still show:
-- its rounds above 1 would outnumber those below.
local function measure(mkf, mkg, n)
  local k = batch(timer(), mkf(), timer(), mkg(), n)
  local function timing(mk)
    local tm, h = timer(), mk()
    tm(h, n, math.ceil(k / 4))
    return function() return (tm(h, n, k)) end
  end
  local a, b = {}, {}
  for i = 1, ROUNDS do
    if i % 2 == 1 then
      local tf, tg = timing(mkf), timing(mkg)
      a[i] = tf(); b[i] = tg()
    else
      local tg, tf = timing(mkg), timing(mkf)
      b[i] = tg(); a[i] = tf()
    end
  end
  local lo = math.min(unpack(b)) / math.min(unpack(a))
  local r = {}
  for i = 1, ROUNDS do r[i] = b[i] / a[i] end
  return median(r), lo
end

local worst, worstat, nullworst, nullat = 0, "", 0, ""
for _, n in ipairs(NS) do
  local row = { tostring(n) }
  for _, c in ipairs(cases) do
    if c.name == "fibbig" and n > 100000 then
      row[#row + 1] = "-"
    else
      local function mkf() return copy(c.f) end
      local function mkg() return cpm.optimize(copy(c.f), opts) end
      assert(cpm.eq and cpm.eq(c.f(n), c.g(n)) or c.f(n) == c.g(n),
        c.name .. ": results differ at n = " .. n)
      local med, lo = measure(mkf, mkg, n)
      if med > worst then worst, worstat = med, fmt("%s at n = %d", c.name, n) end
      row[#row + 1] = fmt("%.2f (%.2f)", med, lo)
      med = measure(mkf, mkf, n)
      if med > nullworst then nullworst, nullat = med, fmt("%s at n = %d", c.name, n) end
    end
  end
  emit("| " .. table.concat(row, " | ") .. " |")
end
emit("")
emit(fmt("Worst median ratio: %.2f (%s).  Null experiment (a second copy of f "
  .. "timed against f the same way, every case and n): worst median %.2f (%s).",
  worst, worstat, nullworst, nullat))
emit("")

-- the hot caller: each h in a caller of its own (a new chunk)
local CALLER = [[
local h, rounds = ...
local clock, collect = os.clock, collectgarbage
return function()
  collect("collect")
  local t0, s = clock(), 0
  for r = 1, rounds do s = s + h(10 + r % 3) end
  return clock() - t0, s
end]]
local function caller(h)
  return assert(load(CALLER))(h, quick and 2e5 or 2e6)
end
local hf, hg = caller(copy(loops.sum)), caller(cpm.optimize(copy(loops.sum), opts))
assert(select(2, hf()) == select(2, hg()), "hot caller: results differ")
local med, lo = ratios(function() return (hf()) end, function() return (hg()) end)
emit(fmt("Hot caller (`for r = 1, 2e6 do s = s + h(10 + r %% 3) end`, h = sum): %.2f (min %.2f).",
  med, lo))
print(table.concat(out, "\n"))
