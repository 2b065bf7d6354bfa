-- A short run of the independent differential fuzzer (tools/fuzz/difffuzz.lua):
-- whole random chunks through every variant cpm offers on this VM, against
-- the chunk as loaded.  Longer runs: lua5.4|luajit tools/fuzz/difffuzz.lua
-- seed count.
package.path = "tools/fuzz/?.lua;" .. package.path
local cpm = require "cpm"
local difffuzz = require "difffuzz"

describe("the differential fuzzer", function()
  it("finds no difference between the chunks and their optimized copies", function()
    local st = difffuzz.run { seed = 20261130, count = jit and 90 or 150 }
    local lines = {}
    difffuzz.report(st, function(s) lines[#lines + 1] = s end)
    assert.are.equal(0, st.differences, table.concat(lines))
    -- and it ran what it claims: loops planned, and calls that computed one
    assert.is_true(st.comparisons >= 3 * st.functions)
    assert.is_true(st.optimized > 0)
    assert.is_true(st.computed > 0)
  end)
end)

describe("the planner's size limit", function()
  it("refuses a loop that carries more values than the engine computes", function()
    -- 70 accumulators: the engine's matrices stop at 64 (src/core/mat.h),
    -- so the planner must say so instead of promising an optimized loop
    local body, vars = {}, {}
    for j = 1, 70 do
      vars[j] = "v" .. j
      body[j] = ("v%d = v%d + i"):format(j, j)
    end
    local src = ("return function(n) local %s = %s for i = 1, n do %s end return v1, v70 end"):format(
      table.concat(vars, ", "), ("0, "):rep(69) .. "0", table.concat(body, " "))
    -- (from a file, so that the source front end can read the text)
    local path = require("files").tmpfile(src)
    local f = assert(loadfile(path))()
    local fes = { "source" }
    if not jit then fes[2] = "bytecode" end
    for _, fe in ipairs(fes) do
      local text = cpm.explain(f, { frontend = fe })
      assert.matches("not optimized: loop carries more values than the engine computes %(at most 63%)", text)
    end
    local a, b = cpm.optimize(f)(100)
    os.remove(path)
    assert.are.equal(5050, a)
    assert.are.equal(5050, b)
  end)

  it("exports each refusal reason once, for the front ends written in Lua", function()
    local core = require "cpm.core"
    assert.are.equal("call in loop body", core._reasons.CALL)
    assert.are.equal("operator %s in loop body", core._reasons.OPERATOR)
    assert.are.equal("add", core._aops["+"])
    assert.are.equal("idiv", core._aops["//"])
  end)
end)
