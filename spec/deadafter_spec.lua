-- Values dead after a loop (Lua 5.4 bytecode front end): the optimizer
-- lets the guard skip the final value of a carried variable that no code
-- after the loop reads (src/lua54/find54.c, deadafter).  Every shape of
-- code after the loop -- the variable returned, read, overwritten first,
-- captured by a closure, read after a jump or a call, an enclosing loop --
-- must still give exactly what the original gives.
local cpm = require "cpm"
local agree = require("agree").agree

local LUA54 = not jit

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
  if not LUA54 then
    it("are a matter of the Lua 5.4 bytecode front end", function()
      pending("LuaJIT: its front ends keep every variable the loop writes")
    end)
    return
  end

  local function build(cond)
    local orig = load(src, "=deadafter", "t")(cpm.big, cond)
    local opt = {}
    for name, f in pairs(orig) do opt[name] = cpm.optimize(f, { iters_limit = 2 }) end
    return orig, opt
  end

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
