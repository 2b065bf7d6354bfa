-- bench/report.lua -- fills bench/performance.md.in into doc/performance.md:
-- a line "@@<vm>/<file>@@" is replaced by that output of bench/run.sh
-- (tables from <case>.md, machine facts from facts.txt); "@@date@@" by the
-- date of the run.  Usage: lua5.4 bench/report.lua TEMPLATE OUTDIR
local template, dir = arg[1], arg[2]

local function slurp(path)
  local f = io.open(path)
  if not f then return "(missing: " .. path .. ")" end
  local s = f:read("a")
  f:close()
  return (s:gsub("%s+$", ""))
end

local f = assert(io.open(template))
for line in f:lines() do
  local key = line:match("^@@(.-)@@$")
  if key == "date" then
    io.write(os.date("!%Y-%m-%d %H:%M UTC"), "\n")
  elseif key and key:match("%.txt$") then
    io.write((slurp(dir .. "/" .. key):gsub("\n", "; ")), "\n")
  elseif key then
    io.write(slurp(dir .. "/" .. key .. ".md"), "\n")
  else
    io.write(line, "\n")
  end
end
f:close()
