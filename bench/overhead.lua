-- bench/overhead.lua -- the fixed costs of cpm, apart from the loops it
-- speeds up: what one cpm.optimize call costs (a small function, a typical
-- one, a whole module chunk), and what the guard adds at each entry of a
-- rewritten loop (below iters_limit, where the original loop then runs;
-- and a long loop computed by the guard: 10^18 integer iterations in Z/2^64 on
-- Lua 5.4, the longest exact loops of doubles on LuaJIT).
-- Prints one markdown section; run by bench/run.sh (`make bench`), or by
-- hand from the repository root:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;examples/?.lua;bench/?.lua;;' \
--   LUA_CPATH='build/lua5.4/?.so;;' lua5.4 bench/overhead.lua
local cpm = require "cpm"
local H = require "harness"
local clock, fmt = os.clock, string.format
local unpack = table.unpack or unpack

local vmname = jit and "LuaJIT" or "Lua 5.4"

-- Seconds of one batch: f() repeated 'reps' times, after a collection.
local function batch(f, reps)
  collectgarbage("collect")
  local t0 = clock()
  for _ = 1, reps do f() end
  return clock() - t0
end

-- Microseconds per call of each function of the list, measured
-- interleaved (the machine's load changes over a run: interleaving keeps
-- the comparison fair): 'runs' rounds, each timing one batch of every
-- function; a batch repeats the call until it lasts 'least' seconds of
-- CPU time.  Returns the best time of each, in the order given.
local function usec(fs, runs, least)
  runs, least = runs or 7, least or (H.quick and 0.01 or 0.05)
  local reps, best = {}, {}
  for k, f in ipairs(fs) do
    local r = 1
    while batch(f, r) < least do r = r * 2 end
    reps[k], best[k] = r, math.huge
  end
  for _ = 1, runs do
    for k, f in ipairs(fs) do
      local t = batch(f, reps[k]) / reps[k]
      if t < best[k] then best[k] = t end
    end
  end
  for k = 1, #fs do best[k] = best[k] * 1e6 end
  return unpack(best, 1, #fs)
end

-- The loops (integers on Lua 5.4, doubles on LuaJIT).
local loops = require "loops"
local sum, fibint, rec3int = loops.sum, loops.fibint, loops.rec3int

-- A typical function: ordinary code around three loops, one of which the
-- planner refuses, and a nested function with a loop of its own.
local function typical(n, k, t)
  if type(n) ~= "number" or n < 0 then error("n must be a number >= 0") end
  local names = {}
  for i = 1, #t do names[#names + 1] = tostring(t[i]) end
  local s, w = 0, 1
  for i = 1, n do
    s = s + k * i + w
    w = w + 3
  end
  local a, b, c = 0, 1, 2
  for _ = 1, n do
    a, b, c = b, c, a + 2 * b - c
  end
  local function scale(m)
    local x = 1
    for _ = 1, m do x = x * k end
    return x
  end
  local header = table.concat(names, ", ")
  if #header > 40 then header = header:sub(1, 37) .. "..." end
  return header, s, a, scale(n)
end

local out = {}
local function emit(s) out[#out + 1] = s end

if not H.optimize(sum) then
  local _, why = H.optimize(sum)
  print(fmt("#### Overhead (%s)\n\n%s: not measured.", vmname, why))
  return
end

-- 1. cpm.optimize itself.
local chunk = assert(loadfile("examples/cases.lua"))
local function loops_of(f)
  local n = 0
  for _ in cpm.explain(f):gmatch("loop ") do n = n + 1 end
  return n
end
local subjects = {
  {"small: `fibint` (1 loop, 5 lines)", fibint},
  {"typical: `typical` (4 loops, 1 refused, a nested function; 22 lines)", typical},
  {fmt("module: the chunk of examples/cases.lua (%d loops)", loops_of(chunk)), chunk},
}
emit(fmt("#### Overhead: the cost of cpm.optimize (%s)", vmname))
emit("")
emit("| function | microseconds per cpm.optimize call | cpm.explain, microseconds |")
emit("| --- | --: | --: |")
for _, s in ipairs(subjects) do
  local f = s[2]
  local topt, texp = usec { function() return cpm.optimize(f) end,
                            function() return cpm.explain(f) end }
  emit(fmt("| %s | %.1f | %.1f |", s[1], topt, texp))
end
-- LuaJIT: the same through the source front end, for comparison
if jit and pcall(require, "cpm.source") then
  local src = { frontend = "source" }
  for _, s in ipairs(subjects) do
    local f = s[2]
    local topt, texp = usec { function() return cpm.optimize(f, src) end,
                              function() return cpm.explain(f, src) end }
    emit(fmt("| %s, source front end | %.1f | %.1f |", s[1], topt, texp))
  end
end
-- The source front end keeps a parsed file until the collector takes it,
-- so the calls above parse each file about once a batch: its own price.
local okg, grammar = pcall(require, "cpm.source.grammar")
if jit and okg then
  local files = {"bench/loops.lua", "bench/overhead.lua", "examples/cases.lua"}
  for _, path in ipairs(files) do
    local h = assert(io.open(path, "rb"))
    local text = h:read("*a")
    h:close()
    local t = usec { function() return grammar.parse(text, "@" .. path) end }
    emit(fmt("| parsing %s (%d lines), included once in the first call for a file | %.1f | |",
      path, select(2, text:gsub("\n", "")), t))
  end
end

-- 2. The guard at loop entry, below iters_limit: on Lua 5.4 the guard
-- counts the iterations, sees too few, and the original loop runs; on
-- LuaJIT the rewritten code counts them itself and calls no guard.  It does not look
-- at the values' types before that, so integer loops measure it: a bignum
-- loop's own time varies (allocation, collection) by more than the guard
-- costs.
emit("")
emit(fmt("#### Overhead: the guard at each loop entry (%s)", vmname))
emit("")
emit("| loop | n | plain function, us | optimized, us | guard, us |")
emit("| --- | --: | --: | --: | --: |")
local numbers = jit and "(doubles)" or "(integers)"
local below = {
  {"`s = s + i` " .. numbers, sum, 16},
  {"`a, b = b, a + b` " .. numbers, fibint, 16},
  {"3-term recurrence " .. numbers, rec3int, 16},
}
for _, c in ipairs(below) do
  local f, n = c[2], c[3]
  local g = cpm.optimize(f)
  assert(g(n) == f(n), "the optimized function disagrees")
  local tf, tg = usec { function() return f(n) end,
                        function() return g(n) end }
  emit(fmt("| %s | %d (< iters_limit) | %.3f | %.3f | %.3f |", c[1], n, tf, tg, tg - tf))
end

-- 3. A long loop, computed by the guard.  Lua 5.4: integer loops of 10^18
-- iterations, the power in Z/2^64.  LuaJIT, whose numbers are doubles: the
-- largest n at which every value stays an exact integer below 2^53 (the
-- guard computes only then), with iters_limit = 2 where that n is short.
-- The plain function cannot run 10^18 iterations: its call with n = 0 (the
-- loop not entered) is the baseline of a call.
local huge = jit and {
  {"`s = s + i` (doubles)", sum, 100000000, "10^8"},
  {"`a, b = b, a + b` (doubles)", fibint, 76, "76"},
  {"3-term recurrence (doubles)", rec3int, 11, "11"},
} or {
  {"`s = s + i` (integers)", sum, 1000000000000000000, "10^18"},
  {"`a, b = b, a + b` (integers)", fibint, 1000000000000000000, "10^18"},
  {"3-term recurrence (integers)", rec3int, 1000000000000000000, "10^18"},
}
for _, c in ipairs(huge) do
  local f, n = c[2], c[3]
  local g = cpm.optimize(f, {strict = true, iters_limit = 2})
  local t0, tg = usec { function() return f(0) end,
                        function() return g(n) end }
  emit(fmt("| %s | %s | %.3f (n = 0) | %.3f | %.3f |", c[1], c[4], t0, tg, tg - t0))
end
-- the one sum a check is cheap for: n (n + 1) / 2 (modulo 2^64 on Lua 5.4)
do
  local g = cpm.optimize(sum, {strict = true})
  local n = huge[1][3]
  local h = jit and n / 2 or 500000000000000000  -- n / 2, an integer (no // on LuaJIT)
  assert(g(n) == h * (n + 1), "the optimized sum disagrees with n (n + 1) / 2")
end

emit("")
emit("- guard = optimized - plain: the guard call (counting the iterations, "
  .. "and above iters_limit the invariants, the type checks and the matrix "
  .. "power) and the instructions the rewrite added before the loop.")
emit("- Below iters_limit the guard only counts the iterations, whatever "
  .. "the values, so its cost is the same for bignum loops (whose own time "
  .. "varies by more than that from run to run).")
emit(fmt("- %s; microseconds per call, best of 7 interleaved batches of at "
  .. "least %.2f s each; measured %s.", H.facts(), H.quick and 0.01 or 0.05,
  os.date("!%Y-%m-%d %H:%M UTC")))
print(table.concat(out, "\n"))
