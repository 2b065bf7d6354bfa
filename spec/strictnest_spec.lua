-- Strict refusals of nests, found by an outside tester: with strict,
-- cpm.optimize raises for the first loop in the source that cannot be
-- planned -- the outer loop of a nest -- on every front end alike (the
-- bytecode drivers see inner loops first, and raised for those).
local cpm = require "cpm"
local agree = require("agree").agree

local load = loadstring or load

-- The message of cpm.explain's line-3 entry (the outer loop).
local function explain3(f, fe)
  for line in cpm.explain(f, { frontend = fe }):gmatch("[^\n]+") do
    local rest = line:match("%]:3: loop not optimized: (.*)$")
    if rest then return rest end
  end
  return nil
end

describe("strict refusals of nests", function()
  -- doc/manual.md (cpm.optimize, errors): with strict, cpm.optimize raises
  -- "cpm: <source>:<line>: <reason>" for the first loop that cannot be
  -- planned, and the front ends of a VM give the same reason at the same
  -- line.  Here both front ends explain the outer loop (line 3) as refused
  -- for its inner loop (line 4); the source front end raises that, the
  -- bytecode front end raises the inner loop's own refusal at line 4
  -- instead (on both VMs): the error differs with the front end.
  local shapes = {
    "for k = 1, j * j do s = s + 1 end",   -- triangular below the first level
    "for k = 1, j do s = s * s end",
    "for k = 1, j do s = s + k * k end",
    "s = s * j",                           -- a depth-2 triangular nest
  }
  for _, inner in ipairs(shapes) do
    it("raise the outer loop's reason on every front end: " .. inner, function()
      local text = "return function(n)\n  local s = 0\n  for i = 1, n do\n" ..
        "    for j = 1, i do " .. inner .. " end\n  end\n  return s\nend"
      local f = assert(load(text))()
      local errs = {}
      for _, fe in ipairs({ "source", "bytecode" }) do
        local why = explain3(f, fe)
        assert.is_not_nil(why, fe .. "\n" .. text)
        local ok, err = pcall(cpm.optimize, f, { frontend = fe, strict = true })
        assert.is_false(ok, fe .. "\n" .. text)
        errs[fe] = err
        assert.matches("]:3: " .. why, err, 1, true)
        agree(f, cpm.optimize(f, { frontend = fe, iters_limit = 2 }), { n = 1, 9 }, text)
      end
      assert.are.equal(errs.source, errs.bytecode)
    end)
  end
end)
