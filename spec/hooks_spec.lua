-- Debug hooks and introspection of optimized functions (doc/manual.md,
-- "Debug hooks and introspection"): under a line hook loops run as written,
-- so debuggers and coverage tools see every line; a computed loop fires no
-- count events for the iterations it skips; an optimized function has one
-- upvalue more than the original.
local cpm = require "cpm"

local TEXT = [[
return function(n, k)
  local s = 0
  for i = 1, n do
    s = s + k
  end
  return s
end
]]

local function pair()
  local f = assert(load(TEXT, "=hooked"))()
  local g = assert(cpm.load(TEXT, "=hooked", "t", nil, { iters_limit = 2 }))()
  assert.are_not.equal(f, g)
  return f, g
end

-- the events of `mask` in the chunk "=hooked" while calling fn(...):
-- the result, then a list of "event:line" strings
local function traced(mask, count, fn, ...)
  local seen = {}
  debug.sethook(function(ev, line)
    local info = debug.getinfo(2, "S")
    if info and info.source == "=hooked" then seen[#seen + 1] = ev .. ":" .. tostring(line) end
  end, mask, count)
  local r = fn(...)
  debug.sethook()
  return r, seen
end

describe("debug hooks", function()
  it("a line hook sees every line of every iteration, as in the original", function()
    local f, g = pair()
    for _, n in ipairs { 0, 1, 5, 100, 1000 } do
      local rf, lf = traced("l", nil, f, n, 3)
      local rg, lg = traced("l", nil, g, n, 3)
      assert.are.equal(rf, rg)
      assert.are.same(lf, lg)
      assert.is_true(#lg >= 2 * n)
    end
  end)

  it("a line hook keeps strict from raising: the loop runs as written by choice", function()
    local g = assert(cpm.load(TEXT, "=hooked", "t", nil, { iters_limit = 2, strict = true }))()
    local r = traced("l", nil, g, 1000, 0.5)  -- a float step: refused without the hook
    assert.are.equal(500.0, r)
    assert.has_error(function() g(1000, 0.5) end)
  end)

  it("a computed loop fires no count events for the iterations it skips", function()
    local f, g = pair()
    local _, cf = traced("", 1, f, 100000, 3)
    local rg, cg = traced("", 1, g, 100000, 3)
    assert.are.equal(300000, rg)
    assert.is_true(#cf > 100000)
    assert.is_true(#cg < 1000)
  end)
end)

describe("introspection", function()
  it("an optimized function has one upvalue more than the original", function()
    local k = 4
    local function f(n) local s = 0 for _ = 1, n do s = s + k end return s end
    local g = cpm.optimize(f)
    assert.are_not.equal(f, g)
    local nf, ng = debug.getinfo(f, "u").nups, debug.getinfo(g, "u").nups
    assert.are.equal(nf + 1, ng)
    local names = {}
    for i = 1, ng do names[debug.getupvalue(g, i)] = i end
    assert.is_truthy(names.k)
    assert.are.equal(k, select(2, debug.getupvalue(g, names.k)))
    assert.are.equal(4 * 1000, g(1000))
  end)
end)
