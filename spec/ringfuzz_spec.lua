-- Random functions over the numeric rings cpm computes in (modular
-- recurrences with negative, zero, huge and float moduli; polynomial terms
-- in the counter near the wrap-around of i * i; xor/shift generators with
-- counts of 64 and more, negative or float; affine bodies) against the
-- original, with arguments at the rings' boundaries (math.maxinteger,
-- 2^53, -0.0, NaN, inf, numeric strings, cpm.big values), through both
-- front ends at the default iters_limit and at 2 (spec/support/ringgen.lua;
-- longer runs: spec/support/ringrun.lua).
local cpm = require "cpm"
local ringgen = require "ringgen"

describe("the ring fuzzer", function()
  it("finds no difference between random ring loops and their optimized copies", function()
    local st = ringgen.run { seed = 20261201, count = jit and 160 or 110 }
    assert.are.equal(0, st.differences, table.concat(st.diffs, "\n\n"))
    -- it compared what it claims, and the guards computed loops
    assert.is_true(st.comparisons >= 12 * st.functions)
    assert.is_true(st.computed >= st.functions, "computed " .. st.computed)
  end)

  it("compares the sign of zero, the subtype and NaN", function()
    -- (the comparison itself must be able to fail)
    local same = ringgen.same
    assert.is_false(same(0.0, -0.0))
    assert.is_true(same(0 / 0, 0 / 0))
    assert.is_false(same(1, cpm.big(1)))
    if math.type then assert.is_false(same(1, 1.0)) end
    assert.is_true(same(cpm.big(2) ^ 70, cpm.big(2) ^ 70))
  end)
end)
