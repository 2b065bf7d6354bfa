-- Nested numeric for loops through the LuaJIT bytecode front end
-- (findjit.c lowers an inner FORI..FORL to IR_LOOP, plan_nest.c plans the
-- nest): random nests -- rectangular and triangular, bounds from
-- parameters, upvalues and constants, zero-trip inner loops, bodies
-- reading every loop's variable -- run hot enough for the JIT to compile
-- the rewritten code (the outer guard call, and the inner loops' own
-- guard calls in the outer body it falls back to), against the original;
-- huge nests computed, not run.  spec/nest_spec.lua covers the nests every
-- front end shares.
local cpm = require "cpm"
local agree = require("agree").agree

if not jit then
  describe("nested loops through the LuaJIT bytecode front end", function()
    pending("is LuaJIT only: skipped on " .. _VERSION)
  end)
  return
end

local BC = { frontend = "bytecode" }

local rnd, pick = require("lcg").new(2718)

local VARS = { "i", "j", "k" }
local function statement(depth)
  local v = VARS[rnd(depth)]
  return pick({ "s = s + 1", "s = s + " .. v, "t = t + s", "s = s - " .. v,
    "t = t - 2 * s + 3", "s, t = t, s", "s = 2 * s + 1", "s = s + a",
    "t = t + U * " .. v, "s = s + " .. v .. " * 3", "local u = s + t; t = u" })
end

-- Bounds of an inner loop: invariant (parameters, the upvalue U,
-- constants) or, now and then, the enclosing loop's variable (a
-- triangular nest: spec/trinest_spec.lua).
local function bounds(depth)
  local outer = VARS[depth]
  return pick({ "1, m", "1, p", "m, 1, -1", "0, p - 1", "1, 3", "2, 1", "1, U",
    "1.0, m", "m, 0, -2", "1, p, 2", "-p, p", "a, 3", "1, " .. outer })
end

local function body(depth, maxdepth, ind)
  local r = {}
  for _ = 1, rnd(2) do r[#r + 1] = ind .. statement(depth) end
  if depth < maxdepth then
    r[#r + 1] = ind .. "for " .. VARS[depth + 1] .. " = " .. bounds(depth) .. " do"
    r[#r + 1] = body(depth + 1, maxdepth, ind .. "  ")
    r[#r + 1] = ind .. "end"
    if rnd(2) == 1 then r[#r + 1] = ind .. statement(depth) end
  end
  return table.concat(r, "\n")
end

local function source()
  return "local U = ...\nreturn function(n, m, p, a)\n  local s, t = 0, 1\n" ..
    "  for i = 1, n do\n" .. body(1, 1 + rnd(2), "    ") .. "\n" ..
    "  end\n  return s, t\nend"
end

-- (no NaN bound: LuaJIT 2.1's compiled code runs `for j = 1, 0/0` when
-- the interpreter does not, so the original itself changes its answers
-- once hot; no infinite bound: the original would never end)
local function args()
  return { n = 4, pick({ 0, 1, 3, 7, 20 }), pick({ 0, 1, 2, 5, 12, 2.0, -1 }),
    pick({ 0, 1, 3, 9, 3.0, -2 }), pick({ 0, 1, 2, -3, 2.0, 0.5, "2", "x" }) }
end

describe("nested loops through the LuaJIT bytecode front end", function()
  it("give what the original gives, compiled by the JIT or not", function()
    local planned, cases, compared = 0, 0, 0
    for _ = 1, 60 do
      local text = source()
      local U = pick({ 4, 0, 2.5, "3" })
      local f = assert(loadstring(text))(U)
      cases = cases + 1
      if cpm.explain(f, BC):match(":4: loop optimized") then planned = planned + 1 end
      for _, limit in ipairs({ 0, 2 }) do
        local g = cpm.optimize(f, { frontend = "bytecode", iters_limit = limit > 0 and limit or nil })
        for _ = 1, 4 do
          local x = args()
          local shown = {}
          for i = 1, 4 do shown[i] = tostring(x[i]) end
          for _ = 1, 15 do  -- hot: the JIT compiles the calling loop with g
            compared = compared + 1
            agree(f, g, x, ("%s\nU = %s, iters_limit %d, args %s"):format(text,
              tostring(U), limit, table.concat(shown, ", ")))
          end
        end
      end
    end
    assert.is_true(compared > 6000)
    assert.is_true(planned * 3 > cases, planned .. " of " .. cases)
  end)

  it("are computed, not run, for huge nests, call after call", function()
    local f = assert(loadstring([[
      local W = ...
      return function(n, m, p)
        local s, t = 0, 0
        for i = 1, n do
          for j = 1, m do
            for k = 1, p do s = s + W end
            t = t + i
          end
        end
        return s, t
      end]]))(2)
    local g = cpm.optimize(f, { frontend = "bytecode", strict = true })
    assert.matches(":4: loop optimized", cpm.explain(f, BC))
    for _ = 1, 60 do
      -- 10^15 passes of the innermost body
      assert.are.same({ 2e15, 1e5 * 100001 / 2 * 1e5 }, { g(1e5, 1e5, 1e5) })
    end
    local st = cpm.stats(g)
    assert.are.equal(60, st[1].computed)
    assert.are.equal(0, st[1].fell_back)
    agree(f, g, { n = 3, 9, 0, 7 }, "a zero-trip middle loop")
  end)
end)
