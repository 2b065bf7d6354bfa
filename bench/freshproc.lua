-- bench/freshproc.lua -- the short loops of bench/neverslower.lua as a
-- program meets them: each measurement is a process of its own, which
-- loads cpm, takes the case's function (the original f, or
-- cpm.optimize(f) at the default options), calls it from a hot loop at
-- one n (the argument read from a table, the result kept, as
-- neverslower.lua does) and prints its best time per call.  No earlier
-- copy of the function has left trace history behind (LuaJIT's hot
-- counters and penalty cache are keyed by bytecode address and outlive
-- the functions that set them, which a run of many copies in one process
-- lets reach the next copy).  For each case and n, PROCS processes for f
-- and as many for g, alternating; the table gives the ratio of the mean
-- times of g and f (what a program pays on average: on LuaJIT at n = 3
-- a process lands in one of two trace layouts, 4-5 times apart, f as
-- often as g, so a median of one process's pair can fall either way) and,
-- in parentheses, the ratio of the median times.  Markdown on stdout.  Run from the repository root with
-- the VM to measure and the build's paths set as for the other scripts:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;examples/?.lua;bench/?.lua;;' \
--   LUA_CPATH='build/luajit/?.so;;' luajit bench/freshproc.lua
-- CPM_BENCH_PROCS: processes per cell (11); CPM_BENCH_NS: the n ("1,2,3");
-- CPM_BENCH_FRONTEND=source: the source front end instead of the default.
local fmt = string.format
local PROCS = tonumber(os.getenv("CPM_BENCH_PROCS")) or 11
local NS = { 1, 2, 3, 4, 6, 8, 16 }
if os.getenv("CPM_BENCH_NS") then
  NS = {}
  for v in os.getenv("CPM_BENCH_NS"):gmatch("[^,%s]+") do NS[#NS + 1] = assert(tonumber(v)) end
end
local CASES = { "sum", "fibint", "rec3int", "wsum", "wfibint" }

-- the interpreter running this script (arg[-1]), for the children
local vm = arg and arg[-1] or "lua5.4"
for i = -2, -10, -1 do  -- the first argument before the script's name
  if arg[i] == nil then break end
  vm = arg[i]
end

-- The child: best time per call, in nanoseconds, of 5 batches of calls
-- lasting about 0.02 s each.
local CHILD = [[
local cpm, loops = require "cpm", require "loops"
local f = loops[%q]
local fe = os.getenv("CPM_BENCH_FRONTEND")
if %s then f = cpm.optimize(f, fe and { frontend = fe } or nil) end
local clock, ns, r = os.clock, { %d, %d }, nil
local k = 1000
for i = 1, k do r = f(ns[i %% 2 + 1]) end
while true do
  local t0 = clock()
  for i = 1, k do r = f(ns[i %% 2 + 1]) end
  if clock() - t0 >= 0.02 then break end
  k = k * 2
end
local best = math.huge
for _ = 1, 5 do
  local t0 = clock()
  for i = 1, k do r = f(ns[i %% 2 + 1]) end
  best = math.min(best, (clock() - t0) / k)
end
io.write(string.format("%%.4f", best * 1e9), r and "" or "")
]]

local function run(case, optimized, n)
  local code = fmt(CHILD, case, tostring(optimized), n, n)
  local p = assert(io.popen(fmt("%s -e %q", vm, code:gsub("\n", " "))))
  local out = p:read("*a")
  p:close()
  return assert(tonumber(out), "child failed: " .. tostring(out))
end

local function mean(t)
  local s = 0
  for _, v in ipairs(t) do s = s + v end
  return s / #t
end

local function median(t)
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  local m = #s
  return m % 2 == 1 and s[(m + 1) / 2] or (s[m / 2] + s[m / 2 + 1]) / 2
end

local jit = rawget(_G, "jit")
local frontend = os.getenv("CPM_BENCH_FRONTEND")
print(fmt("#### Fresh processes: time of cpm.optimize(f) / time of f (%s%s; %d processes each)",
  jit and "LuaJIT" or "Lua 5.4", frontend and ", " .. frontend .. " front end" or "", PROCS))
print("")
print("| n | " .. table.concat(CASES, " | ") .. " |")
print("|" .. string.rep(" --: |", #CASES + 1))
local worst, where = 0, ""
for _, n in ipairs(NS) do
  local row = { tostring(n) }
  for _, case in ipairs(CASES) do
    local tf, tg = {}, {}
    for i = 1, PROCS do
      if i % 2 == 1 then tf[i] = run(case, false, n); tg[i] = run(case, true, n)
      else tg[i] = run(case, true, n); tf[i] = run(case, false, n) end
    end
    local m = mean(tg) / mean(tf)
    if m > worst then worst, where = m, fmt("%s at n = %d", case, n) end
    row[#row + 1] = fmt("%.2f (%.2f)", m, median(tg) / median(tf))
  end
  print("| " .. table.concat(row, " | ") .. " |")
end
print("")
print(fmt("Worst ratio of the means: %.2f (%s).", worst, where))
