-- bench/harness.lua -- what every benchmark script shares: timing (the
-- minimum and the median of several runs), skipping what would take too
-- long, comparing results, and writing one markdown table (stdout) plus
-- one data file for gnuplot.
--
-- A script calls H.run{...} (see the scripts for the fields).  Environment:
--   CPM_BENCH_OUT   directory for <name>.dat (default: no data file)
--   CPM_BENCH_QUICK set to shrink the budget (for trying a script by hand)
local cpm = require "cpm"

local H = {}

local clock, collect = os.clock, collectgarbage
local unpack = table.unpack or unpack
local floor, log, huge = math.floor, math.log, math.huge
local fmt = string.format

H.vm = cpm.vm
H.quick = os.getenv("CPM_BENCH_QUICK") ~= nil
-- A method is not run at an n where its predicted time exceeds this.
H.budget = H.quick and 0.2 or 1.0

-- The GMP helper, when `make bench` has built it for this VM.
do
  local ok, g = pcall(require, "gmpref")
  H.gmp = ok and g or nil
end

-- cpm.optimize(f, opts), or nil and the reason when it raises or gives f
-- back unchanged (the scripts then print that and carry on without cpm).
function H.optimize(f, opts)
  local ok, g = pcall(cpm.optimize, f, opts)
  if not ok then return nil, tostring(g) end
  if g == f then return nil, "not optimized: " .. cpm.explain(f, opts) end
  return g
end

-- Seconds of CPU time of one call f(...), after a full collection; returns
-- the time and the first result.
local function once(f, args)
  collect("collect")
  local t0 = clock()
  local r = f(unpack(args, 1, args.n))
  return clock() - t0, r
end
-- The first run of f(args) under a deadline: a count hook raises once
-- 'limit' CPU seconds have passed.  Returns the time and the result, or
-- nil when the deadline struck.
local STOP = {}
local function bounded(f, args, limit)
  collect("collect")
  local t0 = clock()
  debug.sethook(function()
    if clock() - t0 > limit then error(STOP) end
  end, "", 10000)
  local ok, r = pcall(f, unpack(args, 1, args.n))
  local t = clock() - t0
  debug.sethook()
  if ok then return t, r end
  collect("collect")
  if r == STOP then return nil end
  error(r, 0)
end

-- The median of the numbers in list (sorted in place).
local function median(list)
  table.sort(list)
  local m = #list
  local h = floor(m / 2)  -- (no // on LuaJIT)
  if m % 2 == 1 then return list[h + 1] end
  return (list[h] + list[h + 1]) / 2
end
H.median = median

-- Time of one call f(args): the minimum and the median of several runs,
-- and the result.  Calls shorter than 10 ms are repeated in batches so
-- that the clock's resolution does not matter (each batch one run); long
-- calls run fewer times (a single run: min and median are that run).
-- With 'limit', a first run longer than 'limit' CPU seconds is abandoned
-- and nil returned.
function H.time(f, args, limit)
  local t, r
  if limit then
    t, r = bounded(f, args, limit)
    if t == nil then return nil end
  else
    t, r = once(f, args)
  end
  local runs = {}
  if t < 0.01 then
    local k = floor(0.01 / (t > 1e-7 and t or 1e-7)) + 1
    for i = 1, 5 do
      collect("collect")
      local t0 = clock()
      for _ = 1, k do f(unpack(args, 1, args.n)) end
      runs[i] = (clock() - t0) / k
    end
  else
    runs[1] = t
    for i = 2, t < 0.3 and 5 or t < 1.5 and 3 or 1 do runs[i] = once(f, args) end
  end
  local best = huge
  for _, x in ipairs(runs) do if x < best then best = x end end
  return best, r, median(runs)
end

-- Predicted seconds at n from the last two points {n =, t =} of a method's
-- history (growth exponent between 1 and 2.5); nil when there is too
-- little to predict or the last run took under a millisecond (the deadline
-- still applies).
function H.predict(hist, n)
  local a, b = hist[#hist - 1], hist[#hist]
  if not b or b.t < 1e-3 then return nil end  -- cheap so far: just run it
  local e = 2
  if a and a.t > 1e-3 and b.n > a.n then
    e = log(b.t / a.t) / log(b.n / a.n)
    if e < 1 then e = 1 elseif e > 2.5 then e = 2.5 end
  end
  return b.t * (n / b.n) ^ e
end

-- "1.23e-05" style for small times, fixed point otherwise.
function H.sec(t)
  if t == nil then return "-" end
  if t >= 0.01 then return fmt("%.3f", t) end
  return fmt("%.2e", t)
end

-- "min / median" of a time; "-" when not run.
function H.minmed(t, med)
  if t == nil then return "-" end
  return H.sec(t) .. " / " .. H.sec(med or t)
end

function H.ratio(a, b)
  if a == nil or b == nil or b <= 0 then return "" end
  local r = a / b
  if r >= 100 then return fmt(" (%.0fx)", r) end
  return fmt(" (%.1fx)", r)
end

local function same(a, b)
  if cpm.isbig(a) or cpm.isbig(b) then return cpm.eq(a, b) end
  return a == b
end

-- Machine facts printed with every table.
function H.facts()
  local cpu = "?"
  local f = io.open("/proc/cpuinfo")
  if f then
    for line in f:lines() do
      local m = line:match("^model name%s*:%s*(.-)%s*$")
      if m then cpu = m break end
    end
    f:close()
  end
  local p = io.popen("nproc 2>/dev/null")
  local nproc = p and p:read("*l") or "?"
  if p then p:close() end
  return fmt("%s, %s CPU(s); %s%s", cpu, nproc,
             jit and jit.version or _VERSION,
             H.gmp and "; GMP " .. H.gmp.version or "")
end

--[[ H.run{
  name    = "fib",                      -- data file <name>.dat
  title   = "Fibonacci numbers F(n)",
  ns      = { 1000, ... },              -- the values of n, increasing
  args    = function(n) return {n} end, -- arguments of every method at n
  methods = { {label=, f=, cpm=true} ... },  -- first: the naive loop
}
The column after the first compares each method with the one before it:
naive/cpm is cpm's speed-up, cpm/fast and cpm/GMP how far cpm is from the
hand-written method and from GMP.  'match': every result equals the others. ]]
function H.run(spec)
  local methods = {}
  local notes = {}
  for _, m in ipairs(spec.methods) do
    if m.f then methods[#methods + 1] = m
    elseif m.missing then notes[#notes + 1] = m.label .. ": " .. m.missing end
  end
  local out = {}
  local function emit(s) out[#out + 1] = s end
  emit(fmt("#### %s (%s)", spec.title, jit and "LuaJIT" or "Lua 5.4"))
  emit("")
  local head, rule = {"n"}, {"--:"}
  for i, m in ipairs(methods) do
    head[#head + 1] = m.label .. ", s, min / median" .. (i == 1 and "" or
      " (" .. methods[i == 2 and 1 or 2].label .. "/" .. m.label .. ")")
    rule[#rule + 1] = "--:"
  end
  head[#head + 1] = "match"
  rule[#rule + 1] = ":-:"
  emit("| " .. table.concat(head, " | ") .. " |")
  emit("| " .. table.concat(rule, " | ") .. " |")

  local dat = {}
  local hist = {}
  for i = 1, #methods do hist[i] = {} end
  local allmatch = true
  for _, n in ipairs(spec.ns) do
    n = math.tointeger and math.tointeger(n) or n  -- 1e6 is a float on 5.4
    local args = spec.args(n)
    args.n = args.n or #args
    local times, meds, results = {}, {}, {}
    for i, m in ipairs(methods) do
      local p = H.predict(hist[i], n)
      if not hist[i].stopped and (p == nil or p <= H.budget) then
        local t, r, med = H.time(m.f, args, 2 * H.budget)
        times[i], results[i], meds[i] = t, r, med
        if t then hist[i][#hist[i] + 1] = {n = n, t = t} end
        if t == nil or t > H.budget then hist[i].stopped = true end
      else
        hist[i].stopped = true
      end
    end
    local ref, match = nil, true
    for i = 1, #methods do
      if results[i] ~= nil then
        if ref == nil then ref = results[i]
        elseif not same(ref, results[i]) then match = false end
      end
    end
    allmatch = allmatch and match
    local row = {spec.nlabel and spec.nlabel(n) or fmt("%.0f", n)}
    for i = 1, #methods do
      local cell = H.minmed(times[i], meds[i])
      if i > 1 then cell = cell .. H.ratio(times[i == 2 and 1 or 2], times[i]) end
      row[#row + 1] = cell
    end
    row[#row + 1] = match and "yes" or "**NO**"
    emit("| " .. table.concat(row, " | ") .. " |")
    local d = {fmt("%.17g", n)}
    for i = 1, #methods do d[#d + 1] = times[i] and fmt("%.6g", times[i]) or "-" end
    for i = 1, #methods do d[#d + 1] = meds[i] and fmt("%.6g", meds[i]) or "-" end
    dat[#dat + 1] = table.concat(d, "\t")
  end
  emit("")
  for _, s in ipairs(notes) do emit("- " .. s) end
  emit("- " .. H.facts())
  emit("- '-': not run (its predicted time is above " .. H.budget ..
       " s) or stopped after " .. 2 * H.budget .. " s.  Ratios are of the minima.")
  emit("")
  io.write(table.concat(out, "\n"), "\n")

  local dir = os.getenv("CPM_BENCH_OUT")
  if dir then
    local f = assert(io.open(dir .. "/" .. spec.name .. ".dat", "w"))
    -- columns: n, each method's minimum, then each method's median
    local cols = {"n"}
    for _, m in ipairs(methods) do cols[#cols + 1] = '"' .. m.label .. '"' end
    for _, m in ipairs(methods) do cols[#cols + 1] = '"' .. m.label .. ' median"' end
    f:write("# ", spec.title, "\n", table.concat(cols, "\t"), "\n",
            table.concat(dat, "\n"), "\n")
    f:close()
  end
  if not allmatch then
    io.stderr:write(spec.name, ": results differ\n")
    os.exit(1)
  end
end

return H
