-- Triangular nests (src/core/plan_nest.c, trinest): inner loops whose
-- start or limit the outer loop's counter moves (`for j = 1, i`, `for j =
-- i + 1, n`, `for j = n, i, -1`), with bodies that add (the inner loop's
-- matrix unipotent, its effect a polynomial in the outer iteration), on
-- random nests, bounds and arguments, through every front end on both
-- VMs, at the default iters_limit and at 2; the shapes that do not close
-- (a step that does not divide the range's change, an inner loop run in
-- some outer iterations only, a body that doubles) run as written; huge
-- nests computed, not run.
local cpm = require "cpm"
local agree = require("agree").agree
local sweep = require("sweep").sweep
local refused = require("sweep").refused

local LUA54 = not jit
local load = loadstring or load
local FRONTENDS = { "bytecode", "source" }
-- exact integer division (Lua 5.4's //; LuaJIT's numbers are exact here)
local idiv = LUA54 and load("return function(a, b) return a // b end")()
  or function(a, b) return math.floor(a / b) end

local rnd, pick = require("lcg").new(1729)

-- The inner body: sums of the loop variables, the parameter a and the
-- carried s, t, c; now and then a statement that is not a sum.
local function inner()
  local r = {}
  for _ = 1, rnd(3) do
    r[#r + 1] = pick({ "s = s + j", "s = s + i", "c = c + 1", "s = s - j",
      "s = s + 2 * j - i + a", "t = t + s", "local u = j + i; t = t + u",
      "t = t + 3 * j", "s = s + a", "c = c + j - 1", "s = s + i * j",
      "t = t + (i - 2) * j + i * i", "s = s - 3 * i * a",
      pick({ "s = s + j", "s = 2 * s", "s = s + i % 3", "s = s + j * j" }) })
  end
  return table.concat(r, "; ")
end

local function outer()
  return pick({ "s = s + i", "t = t + s", "c = c + 1", "t = t + 3",
    "t = t - c", pick({ "", "s = 2 * s + 1", "s, t = t, s" }) })
end

-- An outer range and an inner one that depends on its counter.
local function ranges()
  local o = pick({ "1, n", "0, n", "-3, n", "n, 1, -1", "1, n, 2", "2, n" })
  local i = pick({ "1, i", "i, n", "i + 1, n", "0, i - 1", "i, 2 * i",
    "1, 2 * i + 1", "i, 1, -1", "n, i, -1", "-i, i", "i, m", "m, i",
    "1, i, 2", "i, i + 3", "1, q", "1, m", "m, 1, -1" })
  return o, i
end

local function source()
  local o, i = ranges()
  return "return function(n, m, a)\n  local s, t, c = 0, 1, 0\n" ..
    "  for i = " .. o .. " do\n" ..
    "    local q = i + m\n" ..
    "    " .. outer() .. "\n" ..
    "    for j = " .. i .. " do " .. inner() .. " end\n" ..
    "    " .. outer() .. "\n" ..
    "  end\n  return s, t, c\nend"
end

local function args()
  return { n = 3, pick({ 0, 1, 2, 5, 13, 40, 77 }),
    pick({ 0, 3, 10, -2, 2.0 }), pick({ 0, 1, 2, -3, 2.0, 0.5, "2" }) }
end

describe("triangular nests", function()
  it("give what the original gives, on random nests and arguments", function()
    local computed = sweep({ cases = 60, source = source, args = args })
    -- many calls computed (the others: shapes or values it cannot follow)
    for _, fe in ipairs(FRONTENDS) do
      io.stderr:write(fe, " computed ", computed[fe], "\n")
      assert.is_true(computed[fe] > 60, fe .. ": " .. computed[fe])
    end
  end)

  it("give each value the type the loop leaves it in int/float mixes (Lua 5.4)", function()
    if not LUA54 then return end
    local computed = 0
    for case = 1, 150 do
      local st = {}
      for _ = 1, rnd(3) do
        st[#st + 1] = pick({ "s = s + 1.0", "s = s + j", "c = c + 1", "t = t + s",
          "t = t + 2.0 * j", "c = c + i" })
      end
      local text = ("return function(n, s0)\n  local s, t, c = s0, 0, 0\n" ..
        "  for i = %s do\n    for j = %s do %s end\n  end\n  return s, t, c\nend")
        :format(pick({ "1, n", "0, n", "n, 1, -1", "2, n" }),
          pick({ "i + 1, n", "1, i", "i, n", "0, i - 1", "n, i, -1", "1.0, i", "i, 5" }),
          table.concat(st, "; "))
      local f = assert(load(text))()
      for _, fe in ipairs(FRONTENDS) do
        local g = cpm.optimize(f, { frontend = fe, iters_limit = 2 })
        for _ = 1, 5 do
          local x = { n = 2, pick({ 0, 1, 2, 3, 4, 7, 20 }), pick({ 0, 0.0, 1, 2.0 }) }
          agree(f, g, x, ("case %d\n%s\nfrontend %s, args %s, %s"):format(case, text, fe,
            tostring(x[1]), tostring(x[2])))
        end
        for _, st2 in ipairs(cpm.stats(g)) do
          if st2.line == 3 then computed = computed + st2.computed end
        end
      end
    end
    assert.is_true(computed > 300, tostring(computed))
  end)

  it("compute products of the outer counter with the inner values", function()
    local f = assert(load([[
      return function(n, m)
        local s, t = 0, 0
        for i = 1, n do
          for j = 1, i do s = s + i * j end
          for j = 1, m do t = t + i * i * j end
        end
        return s, t
      end]]))()
    for _, fe in ipairs(FRONTENDS) do
      assert.matches(":3: loop optimized", cpm.explain(f, { frontend = fe }))
      local g = cpm.optimize(f, { frontend = fe, strict = true, iters_limit = 2 })
      local N, M = 10000, LUA54 and 1000 or 10
      local s, t = g(N, M)
      -- sum of i * i(i+1)/2 = ((n(n+1)/2)^2 + n(n+1)(2n+1)/6) / 2
      local T = idiv(N * (N + 1), 2)
      assert.are.equal(idiv(T * T + idiv(N * (N + 1) * (2 * N + 1), 6), 2), s)
      assert.are.equal(idiv(N * (N + 1) * (2 * N + 1), 6) * idiv(M * (M + 1), 2), t)
      agree(f, cpm.optimize(f, { frontend = fe, iters_limit = 2 }), { n = 2, 90, 7 }, fe)
    end
  end)

  it("are computed, not run, for huge counts", function()
    local f = assert(load([[
      return function(n)
        local s, c, t = 0, 0, 0
        for i = 1, n do
          for j = 1, i do
            s = s + j
            c = c + 1
          end
          for j = i + 1, n do
            t = t + j - i
          end
        end
        return s, c, t
      end]]))()
    for _, fe in ipairs(FRONTENDS) do
      assert.matches(":3: loop optimized", cpm.explain(f, { frontend = fe }))
      -- strict: a loop run as written raises; 10^12 iterations would not
      -- return
      local g = cpm.optimize(f, { frontend = fe, strict = true })
      local N = LUA54 and 1000000 or 100000
      local s, c, t = g(N)
      -- sum over i of i(i+1)/2, of i, of (n-i)(n-i+1)/2
      local S = idiv(N * (N + 1) * (N + 2), 6)
      assert.are.equal(S, s)
      assert.are.equal(idiv(N * (N + 1), 2), c)
      assert.are.equal(idiv((N - 1) * N * (N + 1), 6), t)
      if LUA54 then assert.are.equal("integer", math.type(s)) end
      agree(f, cpm.optimize(f, { frontend = fe, iters_limit = 2 }), { n = 1, 300 }, fe)
    end
  end)

  it("prove floats exact piece by piece when one bound over the whole range is too loose", function()
    -- n(n-1)/2 = 4.99999995e15 < 2^53, but n times the largest inner
    -- count is 10^16: the outer range is bounded in pieces
    local f = assert(load([[
      return function(n)
        local s = 0.0
        for i = 1, n do
          for j = i + 1, n do s = s + 1 end
        end
        return s
      end]]))()
    for _, fe in ipairs(FRONTENDS) do
      local g = cpm.optimize(f, { frontend = fe, strict = true })
      assert.are.equal(4.99999995e15, g(1e8))
      -- past 2^53: runs as written (strict raises)
      local ok, err = pcall(g, 2e8)
      assert.is_false(ok)
      assert.matches("values may overflow or lose precision", err, 1, true)
      agree(f, cpm.optimize(f, { frontend = fe, iters_limit = 2 }), { n = 1, 50 }, fe)
    end
  end)

  it("wrap as Lua's integers do, and stop at 2^53 on floats", function()
    local f = assert(load([[
      return function(n, k)
        local s = k
        for i = 1, n do
          for j = i, n do s = s + j * 1000000007 end
        end
        return s
      end]]))()
    for _, fe in ipairs(FRONTENDS) do
      local g = cpm.optimize(f, { frontend = fe, iters_limit = 2 })
      for _, x in ipairs({ { 3000, 0 }, { 3000, 2 ^ 53 - 1e6 }, { 500, 0.0 },
          { 4000, 2 ^ 62 }, { 100, -0.0 } }) do
        agree(f, g, { n = 2, x[1], x[2] }, fe .. " " .. x[1] .. ", " .. tostring(x[2]))
      end
    end
  end)

  it("run as written what does not close, with a reason under strict", function()
    local cases = {
      { "for j = 1, i, 2 do s = s + j end", "not an affine function" },
      { "for j = 5, i do s = s + j end", "runs in some outer iterations" },
      { "for j = 1, i do s = 2 * s + 1 end", "not unipotent" },
      { "for j = 1, s do s = s + 1 end", "depends on a value the outer loop carries" },
    }
    for _, c in ipairs(cases) do
      local text = "return function(n)\n  local s = 1\n  for i = 1, n do\n    " ..
        c[1] .. "\n  end\n  return s\nend"
      refused(assert(load(text))(), c[2], { n = 1, 20 }, text)
    end
  end)

  it("refuse a step that the outer loop changes", function()
    local cases = {
      { "for j = 1, n, i do s = s + j end", ":3: loop not optimized: inner loop at line 4: a step that the enclosing loop changes" },
      { "for j = 1, n do for k = 1, 5, j do s = s + k end end", ":3: loop not optimized: inner loop at line 4: a step that the enclosing loop changes" },
    }
    for _, c in ipairs(cases) do
      local text = "return function(n)\n  local s = 1\n  for i = 1, n do\n    " ..
        c[1] .. "\n  end\n  return s\nend"
      local f = assert(load(text))()
      for _, fe in ipairs(FRONTENDS) do
        assert.matches(c[2], cpm.explain(f, { frontend = fe }), 1, true)
        agree(f, cpm.optimize(f, { frontend = fe }), { n = 1, 30 }, text)
      end
    end
  end)
end)
