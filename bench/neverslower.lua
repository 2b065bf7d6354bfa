-- bench/neverslower.lua -- is an optimized function ever slower than the
-- original?  For each short-loop case of bench/loops.lua and each n from 1
-- to 10^6, the original f and cpm.optimize(f) (default options) are timed
-- in alternation, several rounds; each round gives the ratio g/f of two
-- timings taken back to back, and the table shows the median and the
-- minimum of those ratios (below 1: cpm is faster).  Then a hot caller:
--   for r = 1, 2e6 do s = s + h(10 + r % 3) end
-- with h the original and the optimized sum.  Markdown on stdout.
-- CPM_BENCH_FRONTEND=source: the source front end instead of the default.
local cpm = require "cpm"
local loops = require "loops"
local fmt = string.format
local clock, collect = os.clock, collectgarbage
local quick = os.getenv("CPM_BENCH_QUICK") ~= nil
local frontend = os.getenv("CPM_BENCH_FRONTEND")
local opts = frontend and { frontend = frontend } or nil

local ROUNDS = quick and 3 or 7
local SLICE = quick and 0.002 or 0.01  -- seconds per timing, at least

local cases = {
  { name = "sum", f = loops.sum },
  { name = "fibint", f = loops.fibint },
  { name = "rec3int", f = loops.rec3int },
  { name = "fibbig", f = loops.fibbig },
}
local NS = { 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384,
  512, 1000, 10000, 100000, 1000000 }

-- Seconds per call of f(n), over k calls.
local function per_call(f, n, k)
  collect("collect")
  local t0 = clock()
  for _ = 1, k do f(n) end
  return (clock() - t0) / k
end

-- Calls per timing so that one timing of the slower of f, g lasts SLICE.
local function batch(f, g, n)
  local k = 1
  while true do
    local t = math.max(per_call(f, n, k), per_call(g, n, k)) * k
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
  local lo = math.min((table.unpack or unpack)(r))
  return median(r), lo
end

local out = {}
local function emit(s) out[#out + 1] = s end
local vmname = jit and "LuaJIT" or "Lua 5.4"
emit(fmt("#### Never slower: time of cpm.optimize(f) / time of f (%s%s; median and min of %d rounds)",
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
local worst, worstat = 0, ""
for _, n in ipairs(NS) do
  local row = { tostring(n) }
  for _, c in ipairs(cases) do
    if c.name == "fibbig" and n > 100000 then
      row[#row + 1] = "-"
    else
      assert(cpm.eq and cpm.eq(c.f(n), c.g(n)) or c.f(n) == c.g(n),
        c.name .. ": results differ at n = " .. n)
      local k = batch(c.f, c.g, n)
      local med, lo = ratios(function() return per_call(c.f, n, k) end,
        function() return per_call(c.g, n, k) end)
      if med > worst then worst, worstat = med, fmt("%s at n = %d", c.name, n) end
      row[#row + 1] = fmt("%.2f (%.2f)", med, lo)
    end
  end
  emit("| " .. table.concat(row, " | ") .. " |")
end
emit("")
emit(fmt("Worst median ratio: %.2f (%s).", worst, worstat))
emit("")

-- the hot caller
local function caller(h)
  return function()
    collect("collect")
    local t0, s = clock(), 0
    for r = 1, quick and 2e5 or 2e6 do s = s + h(10 + r % 3) end
    return clock() - t0, s
  end
end
local hf, hg = caller(loops.sum), caller(cases[1].g)
assert(select(2, hf()) == select(2, hg()), "hot caller: results differ")
local med, lo = ratios(function() return (hf()) end, function() return (hg()) end)
emit(fmt("Hot caller (`for r = 1, 2e6 do s = s + h(10 + r %% 3) end`, h = sum): %.2f (min %.2f).",
  med, lo))
print(table.concat(out, "\n"))
