-- bench/crossover.lua -- where does cpm start to win?  Short loops timed
-- three ways: the plain function, the optimized function forced to use the
-- matrix power at every n (iters_limit = 2), and the optimized function
-- that always falls back (iters_limit huge: the guard call plus the
-- original loop).  Once a function is optimized, the limit L only chooses
-- between the last two, so the default iters_limit is the L that minimizes
-- the worst slowdown against the better of those two, over every case and n:
--   cost_L(n) = fallback(n) if n < L else forced(n)
--   slowdown  = cost_L(n) / min(fallback(n), forced(n))
-- (fallback - naive, the price of the guard call itself, is reported apart.)
local H = require "harness"
local loops = require "loops"
local fmt = string.format

local cases = {
  {name = "sum", title = "s = s + i (integers)", f = loops.sum},
  {name = "fibint", title = "a, b = b, a + b (integers)", f = loops.fibint},
  {name = "rec3int", title = "3-term recurrence (integers)", f = loops.rec3int},
  {name = "fibbig", title = "a, b = b, a + b (cpm.big)", f = loops.fibbig},
}
local NS = {2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512}

local forced1 = H.optimize(cases[1].f, {iters_limit = 2})
if not forced1 then
  local _, why = H.optimize(cases[1].f)
  print(fmt("#### Crossover (%s)\n\n%s: not measured.\n", jit and "LuaJIT" or "Lua 5.4", why))
  return
end

local out = {}
local function emit(s) out[#out + 1] = s end
emit(fmt("#### Crossover: time of one call, microseconds (%s)", jit and "LuaJIT" or "Lua 5.4"))
emit("")
local head = {"n"}
for _, c in ipairs(cases) do
  head[#head + 1] = c.name .. " naive"
  head[#head + 1] = c.name .. " fallback"
  head[#head + 1] = c.name .. " cpm"
end
emit("| " .. table.concat(head, " | ") .. " |")
emit("|" .. string.rep(" --: |", #head))

local T = {}  -- T[case][n] = {naive=, fallback=, forced=}
for _, c in ipairs(cases) do
  c.forced = H.optimize(c.f, {iters_limit = 2})
  c.fallback = H.optimize(c.f, {iters_limit = 1000000000})
  T[c.name] = {}
end
local dat = {}
for _, n in ipairs(NS) do
  local row, d = {tostring(n)}, {tostring(n)}
  for _, c in ipairs(cases) do
    local tn, rn = H.time(c.f, {n, n = 1})
    local tb, rb = H.time(c.fallback, {n, n = 1})
    local tf, rf = H.time(c.forced, {n, n = 1})
    assert(rn == rb and rn == rf, c.name .. ": results differ at n = " .. n)
    T[c.name][n] = {naive = tn, fallback = tb, forced = tf}
    row[#row + 1] = fmt("%.3f", tn * 1e6)
    row[#row + 1] = fmt("%.3f", tb * 1e6)
    row[#row + 1] = fmt("%.3f", tf * 1e6)
    d[#d + 1] = fmt("%.6g\t%.6g\t%.6g", tn * 1e6, tb * 1e6, tf * 1e6)
  end
  emit("| " .. table.concat(row, " | ") .. " |")
  dat[#dat + 1] = table.concat(d, "\t")
end
emit("")

-- Per case: the smallest n of the grid from which the forced matrix power
-- is faster than the plain loop at every larger n of the grid.
emit("| case | loop | crossover n |")
emit("| --- | --- | --: |")
for _, c in ipairs(cases) do
  local x = nil
  for k = #NS, 1, -1 do
    local r = T[c.name][NS[k]]
    if r.forced < r.naive then x = NS[k] else break end
  end
  emit(fmt("| %s | `%s` | %s |", c.name, c.title, x and tostring(x) or "> " .. NS[#NS]))
end
emit("")

-- The limit minimizing the worst slowdown.
local bestL, bestW, bestAt = nil, math.huge, nil
local worst = {}
for _, L in ipairs(NS) do
  local w, at = 0, nil
  for _, c in ipairs(cases) do
    for _, n in ipairs(NS) do
      local r = T[c.name][n]
      local cost = n < L and r.fallback or r.forced
      local s = cost / math.min(r.fallback, r.forced)
      if s > w then w, at = s, c.name .. " at n = " .. n end
    end
  end
  worst[#worst + 1] = fmt("%d: %.2f", L, w)
  if w < bestW then bestL, bestW, bestAt = L, w, at end
end
emit("Worst slowdown for each candidate iters_limit L (L: slowdown): " ..
     table.concat(worst, ", ") .. ".")
emit("")
emit(fmt("**Proposed iters_limit: %d** (worst slowdown %.2fx, %s).", bestL, bestW, bestAt))
emit("")
local over = {}
for _, c in ipairs(cases) do
  local r = T[c.name][NS[1]]
  over[#over + 1] = fmt("%s %.3f", c.name, (r.fallback - r.naive) * 1e6)
end
emit("Price of the guard call when the loop falls back (fallback - naive at n = " ..
     NS[1] .. ", microseconds): " .. table.concat(over, ", ") .. ".")
emit("")
emit("- " .. H.facts())
emit("")
io.write(table.concat(out, "\n"), "\n")

local dir = os.getenv("CPM_BENCH_OUT")
if dir then
  local f = assert(io.open(dir .. "/crossover.dat", "w"))
  local cols = {"n"}
  for _, c in ipairs(cases) do
    cols[#cols + 1] = c.name .. "_naive\t" .. c.name .. "_fallback\t" .. c.name .. "_cpm"
  end
  f:write("# microseconds per call\n", table.concat(cols, "\t"), "\n", table.concat(dat, "\n"), "\n")
  f:close()
  f = assert(io.open(dir .. "/crossover.limit", "w"))
  f:write(bestL, "\n")
  f:close()
end
