-- Invariant branches in loop nests (src/core/plan_branch.c planning a path
-- that src/core/plan_nest.c computes): random nests of depth 1 to 3 --
-- rectangular and triangular bounds, zero-length inner loops -- with
-- random if/elseif/else trees at every depth, around inner loops and
-- inside them, whose conditions depend only on parameters (numbers,
-- strings, nil and booleans, tables whose __lt/__le/__eq a condition
-- calls, operands on which a comparison raises), run optimized by every
-- front end against the original, at the default iters_limit and at 2;
-- huge nests computed, not run; conditions on counters and on carried
-- values refused with their reasons.
local cpm = require "cpm"
local agree = require("agree").agree

local LUA54 = not jit
local load = loadstring or load
local FRONTENDS = { "bytecode", "source" }
-- exact integer division (Lua 5.4's //; LuaJIT's numbers are exact here)
local idiv = LUA54 and load("return function(a, b) return a // b end")()
  or function(a, b) return math.floor(a / b) end

-- A deterministic generator (the same cases on every run and VM).
local rnd, pick = require("lcg").new(2718)

-- Loop variables by depth (1: the outer loop's).
local VARS = { "i", "j", "k" }

-- An affine statement over the carried s, t, the counters of the loops
-- around it (up to 'depth') and the parameters a, c, d.
local function statement(depth)
  local v = VARS[rnd(depth)]
  return pick({ "s = s + 1", "s = s + " .. v, "t = t + s", "s = s - " .. v,
    "t = t - 2 * s + 3", "s = s + a", "local u = s + " .. v .. "; t = t + u",
    "t = t + 3 * " .. v, "s = s + 2", "t = t + 1",
    -- value-producing and/or: branches too
    "s = s + (d and 3 or 2)", "t = t + (not c and 1 or a)" })
end

-- The bounds of a loop at depth + 1: invariant (parameters, constants,
-- zero-length ranges) or triangular in the counter of the loop around it.
local function bounds(depth)
  local v = VARS[depth]
  return pick({ "1, m", "m, 1, -1", "0, p - 1", "2, 1", "1, 3", "1, p, 2",
    "1, " .. v, v .. ", m", "1, " .. v .. " - 1", "0, " .. v })
end

-- Conditions over the parameters a, b (numbers or not), c (a string or
-- not) and d (anything); and/or/not nest them.
local leaves = { "a < b", "a <= 3", "a > b", "b >= 2", "a == b", "a ~= 0",
  "c == 'x'", "c < 'm'", "d", "not d", "a + 1 > b", "a * 2 <= b - 1",
  "d == nil", "d == false", "c ~= a", "b == d" }
local function cond(depth)
  local r = rnd(6)
  if depth > 1 and r == 1 then return cond(depth - 1) .. " and " .. cond(depth - 1) end
  if depth > 1 and r == 2 then return cond(depth - 1) .. " or " .. cond(depth - 1) end
  if depth > 1 and r == 3 then return "not (" .. cond(depth - 1) .. ")" end
  return pick(leaves)
end

local block
local function ifstmt(depth, maxdepth, ind, budget)
  local r = { ind .. "if " .. cond(3) .. " then",
    block(depth, maxdepth, ind .. "  ", budget) }
  for _ = 1, rnd(3) - 1 do
    r[#r + 1] = ind .. "elseif " .. cond(2) .. " then"
    r[#r + 1] = block(depth, maxdepth, ind .. "  ", budget)
  end
  if rnd(2) == 1 then
    r[#r + 1] = ind .. "else"
    r[#r + 1] = block(depth, maxdepth, ind .. "  ", budget)
  end
  r[#r + 1] = ind .. "end"
  return table.concat(r, "\n")
end

-- Statements at 'depth' (inside that many loops), branches among them
-- ('budget' more levels of them), and maybe a loop one level deeper.
function block(depth, maxdepth, ind, budget)
  local r = {}
  for _ = 1, rnd(2) do
    if budget > 0 and rnd(3) == 1 then
      r[#r + 1] = ifstmt(depth, maxdepth, ind, budget - 1)
    else
      r[#r + 1] = ind .. statement(depth)
    end
  end
  if depth < maxdepth and rnd(4) > 1 then
    r[#r + 1] = ind .. "for " .. VARS[depth + 1] .. " = " .. bounds(depth) .. " do"
    r[#r + 1] = block(depth + 1, maxdepth, ind .. "  ", budget)
    r[#r + 1] = ind .. "end"
    if rnd(2) == 1 then r[#r + 1] = ind .. statement(depth) end
  end
  return table.concat(r, "\n")
end

-- A nest with at least one branch, and an inner loop when it may have one.
local function source()
  local maxdepth = rnd(3)
  for _ = 1, 1000 do
    local body = block(1, maxdepth, "    ", 2)
    local _, lines = body:gsub("\n", "")
    if lines < 40 and (body:find("\n *if ") or body:find("^ *if ")) then
      if maxdepth == 1 or body:find("for ") then
        return "return function(n, m, p, a, b, c, d)\n  local s, t = 0, 1\n" ..
          "  for i = 1, n do\n" .. body .. "\n  end\n  return s, t\nend"
      end
    end
  end
  error("no nest with a branch generated")
end

local calls = 0
local mt = { __lt = function() calls = calls + 1; return true end,
  __le = function() calls = calls + 1; return false end,
  __eq = function() calls = calls + 1; return true end,
  __add = function() return 7 end, __mul = function() return 7 end,
  __sub = function() return 7 end }
local values = { 0, 1, 2, 3, 5, -4, 2.5, 3.0, 0 / 0, "2", "x", "a",
  true, false, nil, setmetatable({}, mt), setmetatable({}, mt) }
local function anyvalue() return values[rnd(#values + 1) <= #values and rnd(#values) or 1] end

local function args()
  local n = pick({ 0, 1, 3, 7, 20 })
  local m = pick({ 0, 1, 2, 5, 12, 2.0, -1 })
  local p = pick({ 0, 1, 3, 9, 3.0 })
  local a = rnd(4) == 1 and anyvalue() or pick({ 0, 1, 2, 3, -1, 2.0 })
  local b = rnd(4) == 1 and anyvalue() or pick({ 0, 1, 2, 3, 5 })
  local c = rnd(3) == 1 and anyvalue() or pick({ "x", "a", "z" })
  return { n = 7, n, m, p, a, b, c, anyvalue() }
end

describe("invariant branches in loop nests", function()
  it("give what the original gives, on random nests, trees and arguments", function()
    local planned = { bytecode = 0, source = 0 }
    local computed = { bytecode = 0, source = 0 }
    local cases = 100
    for case = 1, cases do
      local text = source()
      local f = assert(load(text))()
      for _, fe in ipairs(FRONTENDS) do
        if cpm.explain(f, { frontend = fe }):match(":3: loop optimized") then
          planned[fe] = planned[fe] + 1
        end
        for _, limit in ipairs({ 0, 2 }) do
          local opts = { frontend = fe }
          if limit > 0 then opts.iters_limit = limit end
          local g = cpm.optimize(f, opts)
          for _ = 1, 6 do
            local x = args()
            local shown = {}
            for i = 1, 7 do shown[i] = tostring(x[i]) end
            local where = ("case %d\n%s\nfrontend %s, iters_limit %d, args %s")
              :format(case, text, fe, limit, table.concat(shown, ", "))
            calls = 0
            agree(f, g, x, where)
            local original = calls
            calls = 0
            agree(f, g, x, where)  -- (the metamethods: once by each)
            assert(calls == original, where .. "\nmetamethod calls differ")
          end
          for _, st in ipairs(cpm.stats(g)) do
            if st.line == 3 then computed[fe] = computed[fe] + st.computed end
          end
        end
      end
    end
    -- most nests are planned as a whole (the others are shapes the nest
    -- planner refuses), and many calls computed
    for _, fe in ipairs(FRONTENDS) do
      assert.is_true(planned[fe] > cases / 2, fe .. ": " .. planned[fe])
      assert.is_true(computed[fe] > cases, fe .. ": " .. computed[fe])
    end
  end)

  local N = LUA54 and 1000000 or 100000  -- (LuaJIT: values below 2^53)

  it("are one plan per path, computed, not run (10^6 x 10^6)", function()
    local f = assert(load([[
      return function(n, c)
        local s = 0
        for i = 1, n do
          for j = 1, n do
            if c then s = s + 2 else s = s + 1 end
          end
        end
        return s
      end]]))()
    for _, fe in ipairs(FRONTENDS) do
      assert.matches(":3: loop optimized", cpm.explain(f, { frontend = fe }))
      -- strict: a loop run as written would raise, and 10^12 iterations
      -- would never return
      local g = cpm.optimize(f, { frontend = fe, strict = true })
      local n = LUA54 and 1000000 or 1e6
      assert.are.equal(2 * n * n, g(n, true))
      assert.are.equal(n * n, g(n, false))
      assert.are.equal(n * n, g(n, nil))
      if LUA54 then assert.are.equal("integer", math.type(g(n, 1))) end
      agree(f, g, { n = 2, 30, "x" }, fe)
    end
  end)

  it("compute a branch around an inner loop, the loop on one path only", function()
    local f = assert(load([[
      return function(n, c)
        local s = 0
        for i = 1, n do
          if c then
            for j = 1, n do s = s + j end
          else
            s = s + i
          end
        end
        return s
      end]]))()
    for _, fe in ipairs(FRONTENDS) do
      assert.matches(":3: loop optimized", cpm.explain(f, { frontend = fe }))
      local g = cpm.optimize(f, { frontend = fe, strict = true })
      assert.are.equal(N * idiv(N * (N + 1), 2), g(N, true))
      assert.are.equal(idiv(N * (N + 1), 2), g(N, false))
      agree(f, g, { n = 2, 40, 0 }, fe)
      agree(f, cpm.optimize(f, { frontend = fe, iters_limit = 2 }), { n = 2, 40, false }, fe)
    end
  end)

  it("compute triangular nests with elseif chains inside the inner loop", function()
    local f = assert(load([[
      return function(n, c, d)
        local s = 0
        for i = 1, n do
          for j = 1, i do
            if c > d then s = s + j elseif c then s = s - 1 end
          end
        end
        return s
      end]]))()
    local M = LUA54 and 1000000 or 200000
    for _, fe in ipairs(FRONTENDS) do
      assert.matches(":3: loop optimized", cpm.explain(f, { frontend = fe }))
      local g = cpm.optimize(f, { frontend = fe, strict = true })
      assert.are.equal(idiv(M * (M + 1) * (M + 2), 6), g(M, 2, 1))
      assert.are.equal(-(idiv(M * (M + 1), 2)), g(M, 1, 2))
      assert.are.equal(-(idiv(M * (M + 1), 2)), g(M, "a", "b"))
      -- a comparison that raises: the loop as written raises it
      agree(f, cpm.optimize(f, { frontend = fe }), { n = 3, 40, "a", 1 }, fe)
      agree(f, cpm.optimize(f, { frontend = fe }), { n = 3, 40, true, 1 }, fe)
      -- ... unless it never runs (no inner iteration at n = 1? one: j = 1)
      agree(f, cpm.optimize(f, { frontend = fe }), { n = 3, 0, "a", 1 }, fe)
    end
  end)

  it("compute a branch in the innermost of three loops (10^6 x 10^6 x 10^6)", function()
    local f = assert(load([[
      return function(n, a, b)
        local s, t = 0, 0
        for i = 1, n do
          for j = 1, n do
            for k = 1, n do
              if a < b then s = s + 1 else s = s + 2 end
            end
            if not (a == b) then t = t + j end
          end
        end
        return s, t
      end]]))()
    for _, fe in ipairs(FRONTENDS) do
      assert.matches(":3: loop optimized", cpm.explain(f, { frontend = fe }))
      local g = cpm.optimize(f, { frontend = fe, strict = true })
      local s, t = g(N, 1, 2)
      assert.are.equal(N * N * N, s)
      assert.are.equal(N * idiv(N * (N + 1), 2), t)
      s, t = g(N, 2, 2)
      assert.are.equal(2 * N * N * N, s)
      assert.are.equal(0, t)
      agree(f, g, { n = 3, 9, "a", "b" }, fe)
    end
  end)

  it("call a condition's metamethods as often as the original, and raise its errors", function()
    local f = assert(load([[
      return function(n, m, a, b)
        local s = 0
        for i = 1, n do
          for j = 1, m do
            if a < b then s = s + j elseif a == b then s = s - 1 end
          end
        end
        return s
      end]]))()
    for _, fe in ipairs(FRONTENDS) do
      local g = cpm.optimize(f, { frontend = fe, iters_limit = 2 })
      local seen = 0
      local m1 = { __lt = function() seen = seen + 1; return false end,
                   __eq = function() seen = seen + 1; return true end }
      local x, y = setmetatable({}, m1), setmetatable({}, m1)
      assert.are.equal(-200, g(20, 10, x, y))
      assert.are.equal(400, seen)
      seen = 0
      assert.are.equal(0, g(20, 0, x, y))  -- zero-length inner loops
      assert.are.equal(0, seen)
      local ok, err = pcall(g, 20, 10, "a", 1)
      assert.is_false(ok)
      assert.matches("attempt to compare", err)
      agree(f, g, { n = 4, 20, 10, "a", 1 }, fe)
      agree(f, g, { n = 4, 20, 0, "a", 1 }, fe)
      -- under strict, not computed: raises a reason, not the loop's error
      local gs = cpm.optimize(f, { frontend = fe, strict = true })
      ok, err = pcall(gs, 2000, 10, x, y)
      assert.is_false(ok)
      assert.matches("a branch condition needs a metamethod or may raise", err, 1, true)
    end
  end)

  it("plan the path taken only: the other may be a nest the planner refuses", function()
    local f = assert(load([[
      return function(n, c)
        local s = 1
        for i = 1, n do
          if c then
            for j = 1, n do s = s + j end
          else
            for j = 1, 3 do s = s % 7 + j end
          end
        end
        return s
      end]]))()
    for _, fe in ipairs(FRONTENDS) do
      assert.matches(":3: loop optimized", cpm.explain(f, { frontend = fe }))
      -- (not strict, which refuses the inner loop at line 7 at once: an
      -- on_fallback that raises stops what would run as written)
      local g = cpm.optimize(f, { frontend = fe, on_fallback = function(_, why)
        error("ran as written: " .. why, 0)
      end })
      assert.are.equal(1 + N * idiv(N * (N + 1), 2), g(N, true))
      local ok, err = pcall(g, 3000, false)
      assert.is_false(ok)
      assert.matches("the branch taken: ", err, 1, true)
      agree(f, cpm.optimize(f, { frontend = fe }), { n = 2, 10, false }, fe)
    end
  end)

  it("refuse conditions on counters and carried values, with the reasons", function()
    local cases = {
      { "for j = 1, m do if j > 2 then s = s + 1 end end",
        "inner loop at line 4: branch condition depends on the loop counter" },
      { "for j = 1, m do if i > 2 then s = s + 1 end end",
        "inner loop at line 4: branch condition depends on the loop counter" },
      { "for j = 1, m do if s > 100 then s = s + 1 end end",
        "inner loop at line 4: branch condition depends on a loop%-carried value" },
      -- (refused at the IF's line, in the outer body)
      { "for j = 1, m do t = a end; if t then s = s + 1 end",
        "branch condition depends on a loop%-carried value", 4 },
      -- (invariant before the loop and in it, but which one depends on
      -- whether the loop runs)
      { "t = 1; for j = 1, m do t = 2 end; if t == 1 then s = s + 1 end",
        "branch condition depends on a loop%-carried value", 4 },
      { "if s > 3 then for j = 1, m do s = s + j end end",
        "branch condition depends on a loop%-carried value", 4 },
    }
    for _, c in ipairs(cases) do
      local text = "return function(n, m, a)\n  local s, t = 0, false\n  for i = 1, n do\n" ..
        "    " .. c[1] .. "\n  end\n  return s, t\nend"
      local f = assert(load(text))()
      for _, fe in ipairs(FRONTENDS) do
        local rep = cpm.explain(f, { frontend = fe })
        assert.matches(":" .. (c[3] or 3) .. ": loop not optimized: " .. c[2], rep)
        agree(f, cpm.optimize(f, { frontend = fe, iters_limit = 2 }), { n = 3, 30, 5, 1 }, text)
        agree(f, cpm.optimize(f, { frontend = fe, iters_limit = 2 }), { n = 3, 30, 0, 1 }, text)
      end
    end
  end)
end)
