-- bench/report.lua, the generator of doc/performance.md: it fills the
-- template's @@...@@ lines and inline @@<file>.txt@@ keys, and flags a
-- time far off its neighbours on the same curve (marked in the table and
-- listed under it), so that no noisy point reads as a result.  Runs on
-- Lua 5.4 only (report.lua is run with lua5.4 by bench/run.sh).
local sub = require "subprocess"
local files = require "files"

local LUA54 = not rawget(_G, "jit")

local TEMPLATE = "Last run: @@date.txt@@.\nMachine: @@vm/facts.txt@@ (runs).\n\n@@vm/case@@\n\nend\n"

-- a case's table and data file: naive grows as n^2, cpm stays flat; the
-- naive time at n = 4000 is 10 times what the curve gives
local MD = table.concat({
  "#### a case (Lua 5.4)", "",
  "| n | naive, s, min / median | cpm, s, min / median (naive/cpm) | match |",
  "| --: | --: | --: | :-: |",
  "| 1000 | 1.00e-03 / 1.10e-03 | 1.00e-05 / 1.00e-05 (100x) | yes |",
  "| 2000 | 4.00e-03 / 4.10e-03 | 1.00e-05 / 1.00e-05 (400x) | yes |",
  "| 4000 | 0.160 / 0.170 | 1.00e-05 / 1.00e-05 (16000x) | yes |",
  "| 8000 | 0.064 / 0.065 | 1.00e-05 / 1.00e-05 (6400x) | yes |",
  "| 16000 | 0.256 / 0.260 | 1.10e-05 / 1.10e-05 (23273x) | yes |",
  "", "- machine facts", "" }, "\n")
local DAT = "# a case\nn\t\"naive\"\t\"cpm\"\t\"naive median\"\t\"cpm median\"\n"
  .. "1000\t0.001\t1e-05\t0.0011\t1e-05\n"
  .. "2000\t0.004\t1e-05\t0.0041\t1e-05\n"
  .. "4000\t0.16\t1e-05\t0.17\t1e-05\n"
  .. "8000\t0.064\t1e-05\t0.065\t1e-05\n"
  .. "16000\t0.256\t1.1e-05\t0.26\t1.1e-05\n"

local function report(dat)
  local dir = sub.project { ["t.md.in"] = TEMPLATE, ["date.txt"] = "2026-01-01 10:00 UTC" }
  os.execute("mkdir " .. sub.quote(dir .. "/vm"))
  for name, text in pairs { ["vm/facts.txt"] = "CPU\n2 CPU(s)", ["vm/case.md"] = MD,
                            ["vm/case.dat"] = dat } do
    local h = assert(io.open(dir .. "/" .. name, "w"))
    h:write(text)
    h:close()
  end
  local out = os.tmpname()
  assert(os.execute(("%s bench/report.lua %s %s > %s"):format(os.getenv("LUA54") or "lua5.4",
    sub.quote(dir .. "/t.md.in"), sub.quote(dir), sub.quote(out))))
  local text = files.read(out)
  os.remove(out)
  sub.remove(dir)
  return text
end

describe("bench/report.lua", function()
  if not LUA54 then return end

  it("fills inline keys on their line, the machine facts joined by '; '", function()
    local text = report(DAT)
    assert.truthy(text:find("Last run: 2026-01-01 10:00 UTC.\nMachine: CPU; 2 CPU(s) (runs).\n", 1, true), text)
    assert.is_nil(text:find("@@", 1, true))
  end)

  it("marks a time far off its neighbours and lists it under the table, and nothing else", function()
    local text = report(DAT)
    assert.truthy(text:find("| 4000 | 0.160 / 0.170 **(?)** |", 1, true), text)
    local notes = {}
    for line in text:gmatch("[^\n]+") do
      if line:find("far off its neighbours", 1, true) then notes[#notes + 1] = line end
    end
    assert.are.equal(1, #notes, text)
    assert.matches("naive at n = 4000, 0%.16 s, 10%.0x what", notes[1])
    -- listed before the table's own notes
    assert.truthy(text:find("not a result\n- machine facts", 1, true), text)
  end)

  it("leaves a smooth table as it is, and a time that drops (cpm above iters_limit)", function()
    local text = report((DAT:gsub("4000\t0.16\t", "4000\t0.016\t")))
    assert.is_nil(text:find("far off", 1, true))
    assert.is_nil(text:find("(?)", 1, true))
    -- cpm as slow as naive at the first two n, then computed
    local knee = DAT:gsub("4000\t0.16\t", "4000\t0.016\t"):gsub("(\n1000\t[^\t]+\t)1e%-05", "%10.001")
      :gsub("(\n2000\t[^\t]+\t)1e%-05", "%10.004")
    assert.truthy(knee:find("\n1000\t0.001\t0.001\t", 1, true))
    text = report(knee)
    assert.is_nil(text:find("far off", 1, true), text)
  end)

  it("flags the last point of a curve far above the two before it", function()
    local text = report((DAT:gsub("4000\t0.16\t", "4000\t0.016\t"):gsub("16000\t0.256", "16000\t2.56")))
    assert.truthy(text:find("naive at n = 16000, 2.56 s, 10.0x what", 1, true), text)
  end)
end)
