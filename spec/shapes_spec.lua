-- Random loop shapes (spec/support/shapegen.lua): control values of every
-- source and type, while and repeat tests either way round, loops in
-- sequence and nested, break, goto, return and closures in bodies,
-- globals through a plain and a logging environment, many locals,
-- coroutines and varargs; each front end of this VM at the default
-- iters_limit and at 2 against the original, which must agree in values,
-- errors and every access the program can see.  The generator's cases are
-- the same on both VMs (its own random numbers).
local shapegen = require "shapegen"

describe("random loop shapes", function()
  for _, seed in ipairs { 3, 14 } do
    it(("give what the original gives (seed %d)"):format(seed), function()
      local st = shapegen.run { seed = seed, count = 40 }
      assert.are.same({}, st.failures)
      -- the engine was reached, not only the fallback: loops optimized,
      -- and with iters_limit 2 some entries computed by the guard
      assert.is_true(st.cases >= 40)
      assert.is_true(st.optimized > 0)
      for vi, v in ipairs(st.variants) do
        assert.is_true(st.comps[vi] >= 40)
        if v[2] == 2 then
          assert.is_true(st.computed[vi] > 0, v[1] .. " at iters_limit 2 computed no loop")
        end
      end
    end)
  end
end)
