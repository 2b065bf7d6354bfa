-- cpm.stats and opts.on_fallback (doc/manual.md): what the guards of an
-- optimized chunk did at run time, on every front end: computed calls,
-- fallbacks with their reasons (a float accumulator), short loops, the
-- counters surviving a guard that gave up, the user's callback with the
-- loop's place, reason and iteration count, and its option checked.
local cpm = require "cpm"

local FRONTENDS = { "bytecode", "source" }
local N = 1000

-- Writes 'text' (a chunk returning a function) to a file (the source
-- front end reads a function's text by its chunk's name), loads it, and
-- returns the function optimized with opts, the function itself, and the
-- name of the chunk in the loops' places ("chunk:line").
local function make(text, opts)
  local path = os.tmpname()
  local fh = assert(io.open(path, "w"))
  fh:write(text)
  fh:close()
  local f = assert(loadfile(path))()
  opts.iters_limit = opts.iters_limit or 50
  local g = cpm.optimize(f, opts)
  os.remove(path)
  return g, f, debug.getinfo(f, "S").short_src
end

local SUM = [[
return function(n, x)
  local s = x
  for i = 1, n do
    s = s + i
  end
  return s
end]]

local HALF = [[
return function(n, x)
  local s = x
  for _ = 1, n do
    s = s + 0.5
  end
  return s
end]]

local function only(g)
  local st = cpm.stats(g)
  assert.are.equal(1, #st)
  return st[1]
end

local function nreasons(r)
  local n = 0
  for _, c in pairs(r) do n = n + c end
  return n
end

for _, fe in ipairs(FRONTENDS) do
  describe("cpm.stats (" .. fe .. ")", function()
    it("counts the calls that computed the loop", function()
      local g, f = make(SUM, { frontend = fe })
      for k = 1, 3 do assert.are.equal(f(N, k), g(N, k)) end
      local e = only(g)
      assert.are.equal(3, e.line)
      assert.are.equal(3, e.computed)
      assert.are.equal(0, e.fell_back)
      assert.are.equal(0, nreasons(e.reasons))
    end)

    it("counts fallbacks and their reasons", function()
      local g, f = make(HALF, { frontend = fe })
      assert.are.equal(f(N, 0), g(N, 0))
      assert.are.equal(f(N, 1), g(N, 1))
      local e = only(g)
      assert.are.equal(0, e.computed)
      assert.are.equal(2, e.fell_back)
      local why, n = next(e.reasons)
      assert.are.equal("string", type(why))
      assert.are.equal(2, n)
      assert.is_nil(next(e.reasons, why))
    end)

    it("counts short loops as neither computed nor fallen back", function()
      local g, f = make(SUM, { frontend = fe, iters_limit = 50 })
      for n = 0, 20 do assert.are.equal(f(n, 1), g(n, 1)) end
      local e = only(g)
      assert.are.equal(0, e.computed)
      assert.are.equal(0, e.fell_back)
      assert.is_true(e.below_limit >= 0 and e.below_limit <= 21)
    end)

    it("keeps the counters of a guard that gave up", function()
      local seen = 0
      local g, f = make(HALF, { frontend = fe,
        on_fallback = function() seen = seen + 1 end })
      for k = 1, 12 do assert.are.equal(f(N, k), g(N, k)) end
      local e = only(g)
      -- the guard stops being called after 8 fallbacks in a row (guard.h,
      -- GUARD_FALLBACKS_TO_STOP): the rewritten code of every front end
      -- tests its hook entry before the call
      assert.are.equal(8, e.fell_back)
      assert.are.equal(e.fell_back, seen)
      assert.are.equal(e.fell_back, nreasons(e.reasons))
    end)

    it("gives every loop of the chunk, nested functions included", function()
      local text = [[
return function(n)
  local function inner(m)
    local t = 0
    for i = 1, m do t = t + 2 * i end
    return t
  end
  local s = 1
  for _ = 1, n do s = s + 3 end
  return s + inner(n)
end]]
      local g, f = make(text, { frontend = fe })
      assert.are.equal(f(N), g(N))
      local st = cpm.stats(g)
      assert.are.equal(2, #st)
      assert.are.equal(4, st[1].line)
      assert.are.equal(8, st[2].line)
      assert.are.equal(1, st[1].computed)
      assert.are.equal(1, st[2].computed)
    end)

    it("counts a branch plan's calls once", function()
      local text = [[
return function(n, a)
  local s = 0
  for i = 1, n do
    if a then s = s + i else s = s + 0.5 end
  end
  return s
end]]
      local g, f = make(text, { frontend = fe })
      assert.are.equal(f(N, true), g(N, true))
      assert.are.equal(f(N, false), g(N, false))
      local e = only(g)
      assert.are.equal(1, e.computed)
      assert.are.equal(1, e.fell_back)
      assert.are.equal(1, nreasons(e.reasons))
    end)
  end)

  describe("opts.on_fallback (" .. fe .. ")", function()
    it("is called with where, reason and count when a long loop runs as written", function()
      local calls = {}
      local g, f, src = make(HALF, { frontend = fe,
        on_fallback = function(...) calls[#calls + 1] = { ... } end })
      assert.are.equal(f(N, 2), g(N, 2))
      assert.are.equal(f(N + 7, 2), g(N + 7, 2))
      assert.are.equal(2, #calls)
      local why = next(only(g).reasons)
      assert.are.same({ src .. ":3", why, N }, calls[1])
      assert.are.same({ src .. ":3", why, N + 7 }, calls[2])
    end)

    it("is not called for computed or short loops", function()
      local called = false
      local g, f = make(SUM, { frontend = fe, iters_limit = 50,
        on_fallback = function() called = true end })
      assert.are.equal(f(N, 1), g(N, 1))
      assert.are.equal(f(10, 1), g(10, 1))
      assert.is_false(called)
      assert.are.equal(1, only(g).computed)
    end)

    it("raises the callback's errors", function()
      local g = make(HALF, { frontend = fe,
        on_fallback = function() error("mine", 0) end })
      assert.has_error(function() g(N, 1) end, "mine")
    end)
  end)
end

describe("cpm.stats and on_fallback arguments", function()
  it("rejects an on_fallback that is not a function", function()
    local f = function() end
    assert.has_error(function() cpm.optimize(f, { on_fallback = 1 }) end,
      "bad argument #2 to 'optimize' (on_fallback must be a function)")
    assert.has_error(function() cpm.explain(f, { on_fallback = "x" }) end,
      "bad argument #2 to 'explain' (on_fallback must be a function)")
    assert.has_error(function() cpm.load("return 1", "=x", "t", nil, { on_fallback = true }) end,
      "bad argument #5 to 'load' (on_fallback must be a function)")
  end)

  it("gives an empty list for a function cpm did not rewrite", function()
    assert.are.same({}, cpm.stats(function() return 1 end))
    assert.are.same({}, cpm.stats(print))
  end)

  it("rejects a non-function", function()
    assert.has_error(function() cpm.stats(1) end,
      "bad argument #1 to 'stats' (function expected, got number)")
  end)
end)
