-- bench/report.lua -- fills bench/performance.md.in into doc/performance.md:
-- a line "@@<vm>/<case>@@" is replaced by that output of bench/run.sh (the
-- table of <case>.md), "@@<file>.txt@@" anywhere in a line by that file's
-- text (the date, the machine facts), lines joined by "; ".
-- Usage: lua5.4 bench/report.lua TEMPLATE OUTDIR
--
-- Every table of a case is checked against its data file (<case>.dat:
-- n, then each method's minimum time, then each one's median): a time far
-- off what its neighbours on the same curve predict (a busy machine, a
-- collection at the wrong moment) is marked in the table and listed under
-- it, so that no such point reads as a result.
local template, dir = arg[1], arg[2]

-- A point is flagged when it is more than FAR times above every log-log
-- line its neighbours give (FAR_END when only the two points before it
-- give one: the last point of a curve).
local FAR, FAR_END = 3, 5

local function slurp(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return (s:gsub("%s+$", ""))
end

-- The data file of a case: labels, rows ({ n, min1, ..., minm }), m; nil
-- for a file of another layout (the crossover's).
local function readdat(path)
  local text = slurp(path)
  if not text then return nil end
  local labels, rows, header = {}, {}, nil
  for line in (text .. "\n"):gmatch("(.-)\n") do
    if line:sub(1, 1) ~= "#" and line ~= "" then
      local cells = {}
      for cell in (line .. "\t"):gmatch("(.-)\t") do cells[#cells + 1] = cell end
      if not header then header = cells
      else
        local row = {}
        for i, c in ipairs(cells) do row[i] = tonumber(c) or false end
        rows[#rows + 1] = row
      end
    end
  end
  if not header or #header < 3 or (#header - 1) % 2 ~= 0 then return nil end
  local m = (#header - 1) // 2
  if not header[m + 2]:find("median", 1, true) then return nil end
  for i = 1, m do labels[i] = header[i + 1]:gsub('"', "") end
  return labels, rows, m
end

-- The log time the line through points a and b gives at x.
local function through(a, b, x)
  return a.y + (b.y - a.y) * (x - a.x) / (b.x - a.x)
end

-- How far point k of pts is above what its neighbours predict: the least
-- ratio to the lines through the two points before it (extrapolated),
-- the points either side (interpolated) and the two after it, those that
-- exist; and the threshold (FAR_END when only the first line exists).
-- nil for a point with fewer than two points before it: a time that drops
-- where a method changes regime (cpm below and above iters_limit) is not
-- noise, and noise on a busy machine only makes a time longer.
local function offness(pts, k)
  local p, a, b = pts[k], pts[k - 2], pts[k - 1]
  if not (a and b) then return nil end
  local least, lines = p.y - through(a, b, p.x), 1
  if pts[k + 1] then
    least, lines = math.min(least, p.y - through(b, pts[k + 1], p.x)), 2
    if pts[k + 2] then least = math.min(least, p.y - through(pts[k + 1], pts[k + 2], p.x)) end
  end
  return math.exp(least), lines > 1 and FAR or FAR_END
end

-- The points of column c far above their neighbours: { { n =, t =,
-- factor = } ... }.  One far point also moves the lines its neighbours are
-- measured against, so the worst point (relative to its threshold) is
-- taken out first, and the rest measured again without it.
local function outliers(rows, c)
  local pts = {}
  for _, row in ipairs(rows) do
    if row[1] and row[c] and row[1] > 0 and row[c] > 0 then
      pts[#pts + 1] = { n = row[1], t = row[c], x = math.log(row[1]), y = math.log(row[c]) }
    end
  end
  local found = {}
  while true do
    local worst, wk, wf = 1, nil, nil
    for k = 1, #pts do
      local factor, far = offness(pts, k)
      if factor and factor / far > worst then worst, wk, wf = factor / far, k, factor end
    end
    if not wk then return found end
    found[#found + 1] = { n = pts[wk].n, t = pts[wk].t, factor = wf }
    table.remove(pts, wk)
  end
end

-- The table text of a case, its flagged cells marked, then the list.
local function checked(text, datpath)
  local labels, rows, m = readdat(datpath)
  if not labels then return text end
  local notes, mark = {}, {}
  for i = 1, m do
    for _, o in ipairs(outliers(rows, i + 1)) do
      mark[o.n] = mark[o.n] or {}
      mark[o.n][i] = true
      notes[#notes + 1] = ("- **far off its neighbours**: %s at n = %.17g, %.3g s, %.1fx"
        .. " what the points beside it predict: a noisy measurement, not a result")
        :format(labels[i], o.n, o.t, o.factor)
    end
  end
  if #notes == 0 then return text end
  local out = {}
  for line in (text .. "\n"):gmatch("(.-)\n") do
    local first = line:match("^| ([^|]-) |")
    local marks = first and mark[tonumber(first)]
    if marks then
      local cells = {}
      for cell in line:gmatch("|([^|]*)") do cells[#cells + 1] = cell end
      cells[#cells] = nil  -- after the last |
      for i in pairs(marks) do
        cells[i + 1] = cells[i + 1]:gsub("%s+$", "") .. " **(?)** "
      end
      line = "|" .. table.concat(cells, "|") .. "|"
    end
    out[#out + 1] = line
  end
  -- the notes go after the table: before the first list line under it
  local result, placed = {}, false
  for _, line in ipairs(out) do
    if not placed and line:match("^%- ") then
      for _, n in ipairs(notes) do result[#result + 1] = n end
      placed = true
    end
    result[#result + 1] = line
  end
  if not placed then for _, n in ipairs(notes) do result[#result + 1] = n end end
  return table.concat(result, "\n")
end

local f = assert(io.open(template))
for line in f:lines() do
  local key = line:match("^@@(.-)@@$")
  if key and not key:match("%.txt$") then
    local text = slurp(dir .. "/" .. key .. ".md")
    io.write(text and checked(text, dir .. "/" .. key .. ".dat")
             or "(missing: " .. dir .. "/" .. key .. ".md)", "\n")
  else
    io.write((line:gsub("@@(.-%.txt)@@", function(file)
      local text = slurp(dir .. "/" .. file)
      return text and (text:gsub("\n", "; ")) or "(missing: " .. file .. ")"
    end)), "\n")
  end
end
f:close()
