-- Invariant branches (src/core/plan_branch.c): random if/elseif/else trees
-- whose conditions depend only on parameters, inside loops with affine
-- arms, run optimized by every front end against the original, on
-- arguments of every type (conditions that raise or would call a
-- metamethod included); conditions on carried values stay refused.
local cpm = require "cpm"
local agree = require("agree").agree

local LUA54 = not jit
local load = loadstring or load
local FRONTENDS = { "bytecode", "source" }

-- A deterministic generator (the same cases on every run and VM).
local rnd, pick = require("lcg").new(12345, "low")

-- Conditions over the parameters a, b (numbers or not), c (a string or
-- not) and d (anything); and/or/not nest them.
local leaves = { "a < b", "a <= 3", "a > b", "b >= 2", "a == b", "a ~= 0",
  "c == 'x'", "c < 'm'", "d", "not d", "a + 1 > b", "a * 2 <= b - 1",
  "d == nil", "c ~= a" }
local function cond(depth)
  local r = rnd(6)
  if depth > 1 and r == 1 then return cond(depth - 1) .. " and " .. cond(depth - 1) end
  if depth > 1 and r == 2 then return cond(depth - 1) .. " or " .. cond(depth - 1) end
  if depth > 1 and r == 3 then return "not (" .. cond(depth - 1) .. ")" end
  return pick(leaves)
end

-- Affine statements over the carried s and t, the index i and a.
local arms = { "s = s + 1", "s = s + a", "t = t + s", "s = s - i",
  "t = t - 2 * s + 3", "s = s + i", "t = t + a * 2", "s, t = t, s",
  "s = 2 * s + 1", "local u = s + t; t = u" }

local stmts
local function ifstmt(depth, ind)
  local r = { ind .. "if " .. cond(3) .. " then", stmts(depth - 1, ind .. "  ") }
  for _ = 1, rnd(3) - 1 do
    r[#r + 1] = ind .. "elseif " .. cond(2) .. " then"
    r[#r + 1] = stmts(depth - 1, ind .. "  ")
  end
  if rnd(2) == 1 then
    r[#r + 1] = ind .. "else"
    r[#r + 1] = stmts(depth - 1, ind .. "  ")
  end
  r[#r + 1] = ind .. "end"
  return table.concat(r, "\n")
end

function stmts(depth, ind)
  local r = {}
  for _ = 1, rnd(3) do
    if depth > 0 and rnd(2) == 1 then r[#r + 1] = ifstmt(depth, ind)
    else r[#r + 1] = ind .. pick(arms) end
  end
  return table.concat(r, "\n")
end

local function source()
  return "return function(n, a, b, c, d)\n  local s, t = 0, 1\n" ..
    "  for i = 1, n do\n" .. ifstmt(2, "    ") .. "\n" ..
    (rnd(2) == 1 and "    " .. pick(arms) .. "\n" or "") ..
    "  end\n  return s, t\nend"
end

local mt = { __lt = function() return true end, __le = function() return false end,
  __eq = function() return true end, __add = function() return 7 end,
  __mul = function() return 7 end, __sub = function() return 7 end }
local values = { 0, 1, 2, 3, 5, -4, 2.5, 3.0, 1e300, 0 / 0, "2", "x", "a",
  true, false, nil, setmetatable({}, mt) }
local function anyvalue() return values[rnd(#values + 1) <= #values and rnd(#values) or 1] end

local function args()
  local n = pick({ 0, 1, 7, 200, 1000 })
  local a = rnd(4) == 1 and anyvalue() or pick({ 0, 1, 2, 3, -1, 2.0 })
  local b = rnd(4) == 1 and anyvalue() or pick({ 0, 1, 2, 3, 5 })
  local c = rnd(3) == 1 and anyvalue() or pick({ "x", "a", "z" })
  return { n = 5, n, a, b, c, anyvalue() }
end

describe("invariant branches", function()
  it("give what the original gives, on random trees and arguments", function()
    local planned = { bytecode = 0, source = 0 }
    for _ = 1, 60 do
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
            for i = 1, 5 do shown[i] = tostring(x[i]) end
            agree(f, g, x, ("%s\nfrontend %s, iters_limit %d, args %s"):format(
              text, fe, limit, table.concat(shown, ", ")))
          end
        end
      end
    end
    -- every tree of affine arms is plannable
    assert.are.equal(60, planned.source)
    assert.are.equal(60, planned.bytecode)
  end)

  it("are planned, and the loop computed, not run", function()
    local f = assert(load([[
      return function(n, a, b, c)
        local s, t = 0, 1
        for i = 1, n do
          if a < b and not c then s = s + a
          elseif c == "x" or a == 3 then s = s - i; t = t + s
          else t = t + 2 end
        end
        return s, t
      end]]))()
    for _, fe in ipairs(FRONTENDS) do
      do
        assert.matches("loop optimized", cpm.explain(f, { frontend = fe }))
        local g = cpm.optimize(f, { frontend = fe, strict = true })
        -- 2^40 iterations: only a computed loop returns
        local n = 2 ^ 40
        if LUA54 then n = math.tointeger(n) end
        local s, t = g(n, 1, 2, false)
        assert.are.equal(n, s)
        assert.are.equal(1, t)
        s, t = g(n, 5, 2, "y")
        assert.are.equal(0, s)
        assert.are.equal(1 + 2 * n, t)
        agree(f, g, { n = 4, 1000, 3, 2, "x" }, fe)
      end
    end
  end)

  it("run as written when a condition would call a metamethod or raise", function()
    local f = assert(load([[
      return function(n, a, b)
        local s = 0
        for _ = 1, n do if a < b then s = s + 1 else s = s + 2 end end
        return s
      end]]))()
    for _, fe in ipairs(FRONTENDS) do
      local g = cpm.optimize(f, { frontend = fe })
      local calls = 0
      local m = setmetatable({}, { __lt = function() calls = calls + 1; return true end })
      assert.are.equal(1000, g(1000, m, m))
      assert.are.equal(1000, calls)
      agree(f, g, { n = 3, 1000, 1, "2" }, fe)
      agree(f, g, { n = 3, 1000, "a", "b" }, fe)
    end
  end)

  it("under strict, raise for a condition that cannot be evaluated, not for a short loop", function()
    local f = assert(load([[
      return function(n, a, b)
        local s = 0
        for _ = 1, n do if a < b then s = s + 1 end end
        return s
      end]]))()
    for _, fe in ipairs(FRONTENDS) do
      local g = cpm.optimize(f, { frontend = fe, strict = true })
      assert.are.equal(1000, g(1000, 1, 2))
      assert.are.equal(0, g(1000, 2, 1))
      local ok, err = pcall(g, 1000, "a", 1)
      assert.is_false(ok)
      assert.matches("a branch condition needs a metamethod or may raise", err, 1, true)
      ok, err = pcall(g, 3, "a", 1)  -- too short: the loop's own error
      assert.is_false(ok)
      assert.matches("attempt to compare", err, 1, true)
    end
  end)

  it("refuse conditions on carried values and on the counter, with a reason", function()
    local cases = {
      { "if s > 100 then s = s + 1 end", "branch condition depends on a loop%-carried value" },
      { "if i > 5 then s = s + 1 end", "branch condition depends on the loop counter" },
      { "local u = s + 1; if u == 3 then s = s + 2 end", "loop%-carried" },
      { "if a then s = s + 1 else t = s end; if t then s = s + 1 end", "loop%-carried" },
    }
    for _, c in ipairs(cases) do
      local text = "return function(n, a)\n  local s, t = 0, 1\n  for i = 1, n do\n    " ..
        c[1] .. "\n  end\n  return s, t\nend"
      local f = assert(load(text))()
      local verdicts = {}
      for _, fe in ipairs(FRONTENDS) do
        local rep = cpm.explain(f, { frontend = fe })
        verdicts[fe] = rep:match("optimized") and not rep:match("not optimized")
        assert.matches(c[2], rep, 1)
        agree(f, cpm.optimize(f, { frontend = fe }), { n = 2, 300, 1 }, text)
      end
      assert.are.equal(verdicts.bytecode, verdicts.source)
    end
  end)

  it("give the same explain verdicts in both front ends", function()
    for _ = 1, 30 do
      local text = source()
      local f = assert(load(text))()
      local a = cpm.explain(f, { frontend = "bytecode" }):match("loop (%a+ ?%a*)")
      local b = cpm.explain(f, { frontend = "source" }):match("loop (%a+ ?%a*)")
      assert.are.equal(a, b, text .. "\n" .. cpm.explain(f, { frontend = "bytecode" }) .. "\n" .. cpm.explain(f, { frontend = "source" }))
    end
  end)
end)
