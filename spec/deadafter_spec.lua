-- Values dead after a loop (the Lua 5.4 and LuaJIT bytecode front ends):
-- the optimizer lets the guard skip the final value of a carried variable
-- that no code after the loop reads (deadafter in src/lua54/find54.c and
-- src/luajit/findjit.c).  Every shape of
-- code after the loop -- the variable returned, read, overwritten first,
-- captured by a closure, read after a jump or a call, an enclosing loop --
-- must still give exactly what the original gives.
local cpm = require "cpm"
local agree = require("agree").agree

local src = [[
local big, cond = ...
local M = {}
function M.only_a(n) local a, b = big(0), big(1); for i = 1, n do a, b = b, a + b end; return a end
function M.only_b(n) local a, b = big(0), big(1); for i = 1, n do a, b = b, a + b end; return b end
function M.both(n) local a, b = big(0), big(1); for i = 1, n do a, b = b, a + b end; return a, b end
function M.sum(n) local a, b = big(2), big(-1); for i = 1, n do a, b = b, a + b end; local c = a + b; return c end
function M.overwritten(n) local a, b = big(0), big(1); for i = 1, n do a, b = b, a + b end; b = 5; return a + b end
function M.moved(n) local a, b = big(0), big(1); for i = 1, n do a, b = b, a + b end; local c = b; return a, c end
function M.captured(n)
  local a, b = big(0), big(1)
  local get = function() return b end
  for i = 1, n do a, b = b, a + b end
  return a, get()
end
function M.field(n) local a, b = big(0), big(1); local t = {}; for i = 1, n do a, b = b, a + b end; t.x = b; return a, t.x end
function M.branch(n) local a, b = big(0), big(1); for i = 1, n do a, b = b, a + b end; if cond then return b end; return a end
function M.call(n) local a, b = big(0), big(1); for i = 1, n do a, b = b, a + b end; local s = tostring(b); return a, s end
function M.nested(n)
  local a, b, s = big(0), big(1), big(0)
  for j = 1, 3 do
    for i = 1, n do a, b = b, a + b end
    s = s + b
  end
  return a, s
end
function M.vararg(n, ...) local a, b = big(0), big(1); for i = 1, n do a, b = b, a + b end; return a, ... end
function M.ints(n) local a, b = 0, 1; for i = 1, n do a, b = b, a + b end; return a end
function M.ints3(n)
  local p3, p2, p1 = 0, 1, 1
  for i = 3, n + 2 do local cur = 7 * (2 * p1 + 3 * p2) + 4 * p3 + 5 * i + 6; p3, p2, p1 = p2, p1, cur end
  return p3
end
function M.rec3(n)
  local p3, p2, p1 = big(0), big(1), big(1)
  for i = 3, n + 2 do local cur = 7 * (2 * p1 + 3 * p2) + 4 * p3 + 5 * i + 6; p3, p2, p1 = p2, p1, cur end
  return p3
end
function M.lucas(n)  -- 2 x 2 with determinant -1, trace 3, the value of b at the end
  local a, b = big(3), big(-7)
  for i = 1, n do a, b = b, a + 3 * b end
  return b
end
return M
]]

describe("values dead after a loop", function()
  local function build(cond)
    local orig = load(src, "=deadafter", "t")(cpm.big, cond)
    local opt = {}
    for name, f in pairs(orig) do opt[name] = cpm.optimize(f, { iters_limit = 2 }) end
    return orig, opt
  end

  -- The number of values the guard of g's loop gives back: its hook
  -- table (the upvalue "(cpm)") gets a counting wrapper around the guard.
  local function nresults(g, n)
    local hooks
    for i = 1, 255 do
      local name, v = debug.getupvalue(g, i)
      if name == nil then break end
      if name == "(cpm)" then hooks = v end
    end
    assert(type(hooks) == "table", "no hook table")
    local guard, count = hooks[1], nil
    local function keep(...)
      count = select("#", ...)
      return ...
    end
    hooks[1] = function(...) return keep(guard(...)) end
    g(n)
    hooks[1] = guard
    return count
  end

  it("give the guard only the values read after the loop", function()
    local _, opt = build(false)
    -- true and the outputs: a alone, b alone, both, b (captured) and a;
    -- b overwritten first is dead, though `a + b` (a metamethod call)
    -- stops the scan on Lua 5.4, which then keeps what it decided too
    local want = { only_a = 2, only_b = 2, both = 3, sum = 3,
      overwritten = jit and 2 or 3, moved = 3, captured = 3, field = 3,
      branch = 3, call = 3 }
    for name, k in pairs(want) do
      assert.are.equal(k, nresults(opt[name], 100), name)
    end
  end)

  it("leave every result as the original's, whatever reads them after the loop", function()
    for _, cond in ipairs({ false, true }) do
      local orig, opt = build(cond)
      for name, f in pairs(orig) do
        assert.are_not.equal(f, opt[name], name .. " was not optimized")
        for _, n in ipairs({ 0, 1, 2, 3, 4, 5, 7, 10, 64, 65, 100, 1000, 1001 }) do
          agree(f, opt[name], { n, "x", n = 3 }, ("%s(%d), cond %s"):format(name, n, tostring(cond)))
        end
      end
    end
  end)
end)
