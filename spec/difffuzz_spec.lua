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

describe("the differential fuzzer's own limits", function()
  it("makes no original that runs for ages (seed 11, function 699: a NaN limit, a negative step)", function()
    -- Lua 5.4 clips a NaN limit of an integer loop with a negative step to
    -- math.mininteger: 10^18 iterations; the generator keeps NaN out there
    local st = difffuzz.run { seed = 11, first = 699, count = 1 }
    assert.are.equal(1, st.functions)
    assert.are.equal(0, st.skipped)
    assert.are.equal(0, st.differences)
  end)

  if not jit then
    it("is right where the fuzzer cannot wait: a NaN or infinite limit with a negative step", function()
      -- Lua 5.4 (lvm.c, forlimit) clips such a limit to math.mininteger:
      -- from 1 down to it by -k, (1 - mininteger) // k + 1 iterations,
      -- counted here in wrapping integers as the loop would
      local src = "return function(lim, st) local s = 0 for i = 1, lim, st do s = s + 1 end return s end"
      for _, fe in ipairs { "bytecode", "source" } do
        local path = require("files").tmpfile(src)
        -- (strict: a loop cpm did not compute raises instead of running for ages)
        local g = cpm.optimize(assert(loadfile(path))(), { frontend = fe, strict = true })
        os.remove(path)
        for _, c in ipairs { { 0 / 0, -1 }, { 0 / 0, -3 }, { -1 / 0, -2 }, { 0 / 0, -4611686018427387904 } } do
          local k = -c[2]
          -- (1 - mininteger = maxinteger + 2, divided without overflow;
          -- for k = 1, 2^63 + 2 iterations wrap as the count s does)
          local n = load("local k = ... local M = math.maxinteger return M // k + (M % k + 2) // k + 1")(k)
          assert.are.equal(n, g(c[1], c[2]), fe .. " " .. tostring(c[1]) .. " " .. c[2])
        end
        assert.are.equal(0, g(0 / 0, 1))  -- and a positive step does not run at all
        -- a float loop with a NaN limit runs once on Lua 5.4 (forprep does
        -- not skip it, the first FORLOOP ends it)
        assert.are.equal(1, g(0 / 0, 2.0))
        assert.are.equal(1, g(0 / 0, -2.0))
      end
    end)
  end

  it("skips an original that runs past the budget instead of waiting for it", function()
    local old = difffuzz.BUDGET
    difffuzz.BUDGET = 20  -- 2000 VM instructions
    local ok, st = pcall(difffuzz.run, { seed = 3, count = 30 })
    difffuzz.BUDGET = old
    assert.is_true(ok, st)
    assert.is_true(st.skipped > 0 and st.skipped < 30)
    -- (a variant gets four times the budget: the loop as written costs it
    -- a few more instructions than the original)
    assert.are.equal(0, st.differences)
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

describe("the guard's faults found by fuzzing", function()
  local fes = { "source" }
  if pcall(cpm.optimize, function() end, { frontend = "bytecode" }) then fes[2] = "bytecode" end
  local files = require "files"

  -- The chunk's results twice from one file (the source front end reads
  -- it): as loaded, and with the function optimized by 'fe'.
  local function build(src, fe, ...)
    local path = files.tmpfile(src)
    local chunk = assert(loadfile(path))
    local f, fu = chunk(...)
    local g, gu = chunk(...)
    g = cpm.optimize(g, { frontend = fe, iters_limit = 2 })
    os.remove(path)
    return f, g, fu, gu
  end

  for _, fe in ipairs(fes) do
    it("leaves an upvalue or a captured local as the loop does when the size limit stops it (" ..
       fe .. ")", function()
      local srcs = { [[
        local B = ...
        local U
        return function(n)
          local x = B(1)
          for _ = 1, n do x = x * 2; U = x end
          return x
        end, function() return U end
      ]], [[
        local B = ...
        local get
        return function(n)
          local x = B(1)
          get = function() return x end
          for _ = 1, n do x = x * 2 end
          return x
        end, function() return get() end
      ]] }
      for _, src in ipairs(srcs) do
        local old = cpm.maxbits()
        cpm.maxbits(200)
        local f, g, fu, gu = build(src, fe, cpm.big)
        local okf, errf = pcall(f, 1000)
        local okg, errg = pcall(g, 1000)
        cpm.maxbits(old)
        assert.is_false(okf)
        assert.is_false(okg)
        assert.are.equal(errf, errg)
        -- (the variable holds the last value below the limit)
        assert.is_true(cpm.isbig(gu()))
        assert.is_true(cpm.eq(fu(), gu()))
      end
    end)

    it("raises at entry for a local-only body that surely passes the limit (" .. fe .. ")", function()
      local src = [[
        local B = ...
        return function(n)
          local x = B(1)
          for _ = 1, n do x = x * 2 end
          return x
        end
      ]]
      local _, g = build(src, fe, cpm.big)
      local ok, err = pcall(g, 1e15)  -- as written: ages
      assert.is_false(ok)
      assert.matches("the loop's values would exceed the bignum size limit", err)
    end)

    it("keeps the -0.0 of a float loop's first value (" .. fe .. ")", function()
      local src = [[
        return function(s)
          local a, b = 7, 7
          for i = s, 1, 1 do a, b = b, i end
          return a, b
        end
      ]]
      local f, g = build(src, fe)
      local fa, fb = f(-0.0)
      local ga, gb = g(-0.0)
      assert.are.equal(1 / fa, 1 / ga)  -- -inf both
      assert.are.equal(fb, gb)
      -- the same over cpm.range (on LuaJIT its first value is the -0.0)
      f, g = build([[
        local cpm = ...
        return function(s)
          local a, b = 7, 7
          for i in cpm.range(s, 1) do a, b = b, i end
          return a, b
        end
      ]], fe, cpm)
      fa, fb = f(-0.0)
      ga, gb = g(-0.0)
      assert.are.equal(1 / fa, 1 / ga)
      assert.are.equal(fb, gb)
    end)
  end

  -- (difffuzz seed 11, function 10186, LuaJIT: a bignum times a number
  -- with a fraction is a float there, and the guard took the loop for a
  -- bignum loop past the size limit)
  it("takes a bignum times a number with a fraction, infinity or NaN for a float", function()
    local src = [[
      local B = ...
      return function(p, n)
        local a, b, c = B(6), B(-5), B(1)
        for _ = 1, n do a, c = p * a, 6 * b end
        return a, c
      end
    ]]
    local old = cpm.maxbits()
    cpm.maxbits(512)
    for _, fe in ipairs(fes) do
      local f, g = build(src, fe, cpm.big)
      for _, p in ipairs { 700.25, 0.5, -1.5, 1 / 0, 0 / 0, 3, 3.0, -0.0, 2^60 } do
        for _, n in ipairs { 2, 3, 700 } do
          local okf, fa, fc = pcall(f, p, n)
          local okg, ga, gc = pcall(g, p, n)
          local what = ("%s, p = %s, n = %d"):format(fe, tostring(p), n)
          assert.are.equal(okf, okg, what .. ": " .. tostring(ga))
          if okf then
            assert.are.equal(cpm.isbig(fa), cpm.isbig(ga), what)
            if cpm.isbig(fa) then assert.is_true(cpm.eq(fa, ga), what)
            elseif fa ~= fa then assert.is_true(ga ~= ga, what)
            else assert.are.equal(fa, ga, what) end
            assert.is_true(cpm.eq(fc, gc), what)
          else  -- (the guard's size-limit error at entry is the same outcome: manual)
            assert.matches("bignum size limit", fa, 1, true)
            assert.matches("bignum size limit", ga, 1, true)
          end
        end
      end
    end
    cpm.maxbits(old)
  end)

  if not jit then
    it("does not take a wrapping integer feeding a bignum for an exact one", function()
      local src = [[
        local B = ...
        return function(n)
          local a, c = 1, B(0)
          for _ = 1, n do a = 3 * a; c = c + a end
          return a, c
        end
      ]]
      local old = cpm.maxbits()
      cpm.maxbits(200)
      for _, fe in ipairs(fes) do
        local f, g = build(src, fe, cpm.big)
        local fa, fc = f(400)
        local ok, ga, gc = pcall(g, 400)
        assert.is_true(ok, ga)
        assert.are.equal(fa, ga)
        assert.is_true(cpm.eq(fc, gc))
      end
      cpm.maxbits(old)
    end)
  end
end)
