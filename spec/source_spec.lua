-- The source front end (require "cpm.source"): it reads f's text, so it
-- must find the right function, notice a text that is no longer f's, keep
-- f's upvalues, environment, lines and error messages, and on Lua 5.4
-- agree with the bytecode front end.
local cpm = require "cpm"
local loopgen = require "loopgen"
local agree = require("agree").agree
local tmpfile = require("files").tmpfile

local LUA54 = not jit
local load = loadstring or load
local OPTS = { frontend = "source" }

local function optimize(f, o)
  local oo = { frontend = "source" }
  for k, v in pairs(o or {}) do oo[k] = v end
  return cpm.optimize(f, oo)
end

local function explain(f) return cpm.explain(f, OPTS) end

describe("the source front end", function()
  it("tells two functions on one line apart by their signatures", function()
    local f1, f2 = load([[
      return function(n) local s = 0 for i = 1, n do s = s + i end return s end, function(n, m) local s = 0 for i = 1, n do s = s + m end return s end]])()
    local g1, g2 = optimize(f1), optimize(f2)
    assert.are_not.equal(f1, g1)
    assert.are_not.equal(f2, g2)
    assert.are.equal(f1(1000), g1(1000))
    assert.are.equal(f2(1000, 3), g2(1000, 3))
    assert.matches("loop optimized", explain(f1))
  end)

  it("gives back f itself when two functions on one line look the same", function()
    local f1, f2 = load([[
      return function(n) local s = 0 for i = 1, n do s = s + i end return s end, function(n) local s = 0 for i = 1, n do s = s - i end return s end]])()
    assert.are.equal(f1, optimize(f1))
    assert.are.equal(f2, optimize(f2))
    assert.are.equal(-5050, optimize(f2)(100))
    assert.has_error(function() optimize(f1, { strict = true }) end)
  end)

  it("optimizes functions loaded from strings, and whole chunks on LuaJIT", function()
    local chunk = load("local n = ...\nlocal a, b = 0, 1\nfor _ = 1, n do a, b = b, a + b end\nreturn a")
    local g = optimize(chunk)
    assert.are.equal(chunk(70), g(70))
    if not LUA54 then  -- on Lua 5.4 main chunks are the bytecode front end's
      assert.are_not.equal(chunk, g)
      assert.matches(":3: loop optimized", explain(chunk))
    end
  end)

  it("gives back a working, unoptimized f when its file changed after loading", function()
    local text = "return function(n)\n  local s = 0\n  for i = 1, n do s = s + 2 * i end\n  return s\nend\n"
    local path = tmpfile(text)
    local f = assert(loadfile(path))()
    assert.matches("loop optimized", explain(f))
    -- same lines, same parameters and upvalues: only a constant differs
    local h = assert(io.open(path, "wb"))
    h:write((text:gsub("2 %* i", "3 * i")))
    h:close()
    local g = optimize(f)
    assert.are.equal(f, g)
    assert.are.equal(2 * 5050, g(100))
    assert.matches(":1: not optimized: the source text found is not the function.s %(was it changed", explain(f))
    assert.has_error(function() optimize(f, { strict = true }) end)
    os.remove(path)
    assert.are.equal(f, optimize(f))  -- no file at all
  end)

  it("gives back the functions it made, and their closures, as they are", function()
    local src = "local M = {}\nfunction M.sum(n)\n  local s = 0\n  for i = 1, n do s = s + i end\n"
      .. "  return s\nend\nfunction M.sq(n)\n  local s = 2\n  for _ = 1, n do s = s * s end\n"
      .. "  return s\nend\nreturn M"
    local f = load(src)().sum
    local g = optimize(f)
    assert.are_not.equal(f, g)
    assert.are.equal(g, optimize(g))
    assert.are.equal(explain(f), explain(g))
    assert.matches(":4: loop optimized$", explain(g))
    -- cpm.load runs the default front end (bytecode, on both VMs): a
    -- "=name" chunk has no text for the source front end, but the
    -- functions it made are optimized
    local M = cpm.load(src, "=mod")()
    assert.are.equal("mod:4: loop optimized", cpm.explain(M.sum))
    assert.are.equal("mod:9: loop not optimized: product of loop-carried values whose degree grows with each iteration",
      cpm.explain(M.sq))
    assert.matches("no source text for a chunk named mod", explain(M.sum))
    local ok, err = pcall(cpm.optimize, M.sq, { strict = true })
    assert.is_false(ok)
    assert.are.equal("cpm: mod:9: product of loop-carried values whose degree grows with each iteration", err)
    assert.are.equal(500000500000, M.sum(1000000))
  end)

  it("optimizes methods, with self", function()
    local obj = load([[
      local obj = { step = 3 }
      function obj:sum(n)
        local s = 0
        for i = 1, n do s = s + self.step * i end
        return s
      end
      return obj]])()
    local f = obj.sum
    local g = optimize(f)
    assert.are_not.equal(f, g)
    assert.are.equal(f(obj, 1000), g(obj, 1000))
    assert.are.equal(3 * 500500, g(obj, 1000))
  end)

  it("shares upvalues between the original and the optimized function", function()
    local make = load([[
      local total, step = 0, 2
      local function add(n)
        for i = 1, n do total = total + step * i end
        return total
      end
      local function get() return total end
      local function setstep(s) step = s end
      return add, get, setstep]])
    local add, get, setstep = make()
    local g = optimize(add)
    assert.are.equal(2 * 5050, g(100))
    assert.are.equal(2 * 5050, get())
    setstep(1)
    assert.are.equal(3 * 5050, g(100))
    assert.are.equal(3 * 5050 + 55, add(10))
    assert.are.equal(get(), g(0))
  end)

  it("keeps error messages, lines and tracebacks of the original", function()
    local src = "local x\nreturn function(n, v)\n  local s = v\n  for i = 1, n do\n    s = s + i\n  end\n  return s + x, debug.getinfo(1, 'l').currentline\nend\n"
    local f = load(src)()
    local g = optimize(f)
    assert.are_not.equal(f, g)
    agree(f, g, { 100, {} }, "error in the loop")
    agree(f, g, { 100, 1 }, "error after the loop")
    agree(f, g, { 100, nil }, "nil")
    local fi, gi = debug.getinfo(f, "S"), debug.getinfo(g, "S")
    assert.are.equal(fi.short_src, gi.short_src)
    assert.are.equal(fi.linedefined, gi.linedefined)
    assert.are.equal(fi.lastlinedefined, gi.lastlinedefined)
    local h = load("return function(n) for i = 'a', n do end end")()
    agree(h, optimize(h), { 10 }, "'for' initial value")
  end)

  it("reads globals through f's environment", function()
    local env = setmetatable({ STEP = 4 }, { __index = _G })
    local f = load("return function(n) local s = 0 for i = 1, n do s = s + STEP end return s end",
      nil, "t", env)
    if setfenv then setfenv(f, env) end
    f = f()
    local g = optimize(f)
    assert.are_not.equal(f, g)
    assert.are.equal(400, g(100))
    env.STEP = 5
    assert.are.equal(500, g(100))
  end)

  it("computes cpm.range loops over bignums exactly", function()
    local f = load([[
      local cpm = ...
      return function(n)
        local s, c = cpm.big(0), cpm.big(0)
        for i in cpm.range(n) do s = s + i; c = c + 1 end
        return s, c
      end]])(cpm)
    local g = optimize(f)
    assert.matches("loop optimized", explain(f))
    local s1, c1 = f(300)
    local s2, c2 = g(300)
    assert.is_true(cpm.eq(s1, s2))
    assert.is_true(cpm.eq(c1, c2))
    local n = cpm.big(10) ^ 20
    local s = g(n)  -- far beyond what the loop could run
    assert.is_true(cpm.eq((n * (n + 1)):idiv(2), s))
  end)

  it("computes exact float sums and runs inexact ones as written", function()
    local f = load([[
      return function(n, a, d)
        local s, x = 0.0, a
        for i = 1, n do s = s + x; x = x + d end
        return s, x
      end]])()
    local g = optimize(f)
    assert.matches("loop optimized", explain(f))
    for _, args in ipairs {
      { 1000, 1.0, 2.0 }, { 1000, -7.0, 3.0 },        -- exact: integers below 2^53
      { 1000, 0.1, 0.2 }, { 1000, 1.0, 0.5 },         -- not integral
      { 1000, 2.0^53, 1.0 }, { 1000, 2.0^60, 3.0 },   -- beyond 2^53: rounds
    } do agree(f, g, args, table.concat(args, ", ")) end
    -- an exact sum far too long to run: the formula n*a + d*n*(n-1)/2
    local n = 10^7
    assert.are.equal(n * 1 + 2 * n * (n - 1) / 2, (g(n, 1.0, 2.0)))
  end)
end)

do
  describe("the source and bytecode front ends on " .. (LUA54 and "Lua 5.4" or "LuaJIT"), function()
    local bodies = {
      "s = s + i", "s = s * s", "print(i)", "t[i] = s", "local u = {}",
      "if s > 3 then s = 0 end", "if s then s = 1 end", "if true then s = s + 1 end",
      "if true then s = s + 1 else s = 0 end", "if not s then s = 1 end",
      "while s < 10 do s = s + 1 end", "while true do s = s + 1 break end",
      "repeat s = s + 1 until s > 5", "repeat s = s + 1 until true",
      "repeat s = s + 1 until false", "s = s .. 'x'", "s = #t", "s = not s",
      "local g = function() end", "local function g() end", "s = ...",
      "for j = 1, i do s = s + j end", "for k in pairs(t) do s = s + 1 end",
      "return s", "break", "goto done", "s = t.a + t[1] + t[i]",
      "s = s + (k // 2) + k % 3 + k ^ 2 + k / 2", "s = s and 1", "s = s or 1",
      "s = 1 and s", "s = nil or s", "local c <close> = nil", "s = -s + ~k",
      "s = s + STEP", "GLOBAL = s", "s, k = k, s + k", "s = s + t:m()",
      "s = s + (1 < 2 and 1 or 0)", "local a, b = s, k; s = a + b",
      "s = s * k + k * s - 2 * s", "s = k * (s + 1)", "s = s // 2", "s = s % 7",
      "s = 2 ^ s", "s = s + 1e300", "s = 'a'", "s = t.x.y",
      "do local z = s; s = z + 1 end", "s = s << 1", "s = (s)", "s = -(-s)",
      "s = s + 0x10 + 1.5", "k = k + 1; s = s + k", "local x <const> = 5; s = s + x",
      ";", "t.x = 1", "s = s - i * 2", "s = i * i",
    }

    local function sorted_lines(text)
      local l = {}
      for line in text:gmatch("[^\n]+") do l[#l + 1] = line end
      table.sort(l)
      return table.concat(l, "\n")
    end

    -- LuaJIT compiles `repeat ... until false` to the same jump back as
    -- `while true do ... end`: a branch to its bytecode front end, a
    -- comparison to the source front end, which follows Lua 5.4's code
    local wording_differs = LUA54 and {} or { ["repeat s = s + 1 until false"] = true }

    it("give the same lines and reasons in cpm.explain for each construct", function()
      local tried = 0
      for _, b in ipairs(bodies) do
        local src = "local t, STEP, k = {}, 1, 2\nreturn function(n, ...)\n  local s = 0\n"
          .. "  for i = 1, n do\n    " .. b .. "\n  end\n  ::done::\n  return s\nend"
        local chunk, err = load(src)
        assert(chunk or not LUA54, err)  -- (LuaJIT lacks some of Lua 5.4's syntax)
        if chunk then
          local f = chunk()
          local eb, es = sorted_lines(cpm.explain(f, { frontend = "bytecode" })), sorted_lines(explain(f))
          if wording_differs[b] then  -- the verdict and the line agree
            eb, es = eb:gsub("not optimized: .*", "not optimized"), es:gsub("not optimized: .*", "not optimized")
          end
          assert.are.equal(eb, es, b)
          tried = tried + 1
        end
      end
      assert.is_true(tried > 40)
    end)

    it("agree with each other and with the original on random loops", function()
      local seed = os.time()
      local gen = loopgen.new { seed = seed, lua54 = LUA54 }
      local sink = function() end
      local kinds = LUA54 and { "int", "float", "big", "mixed" } or { "float", "big", "mixed" }
      for case = 1, 150 do
        local src, nv = gen:func()
        local f = assert(load(src))(sink, {})
        local gb, gs = cpm.optimize(f, { frontend = "bytecode" }), optimize(f)
        local gb2 = cpm.optimize(f, { frontend = "bytecode", iters_limit = 2 })
        local gs2 = optimize(f, { iters_limit = 2 })
        assert.are.equal(cpm.explain(f, { frontend = "bytecode" }), explain(f),
          ("seed %d case %d\n%s"):format(seed, case, src))
        for _ = 1, 4 do
          local args = gen:args(kinds[math.random(#kinds)], nv)
          args.n = 3 + nv
          local where = ("seed %d case %d\n%s"):format(seed, case, src)
          agree(f, gs, args, where)
          agree(gb, gs, args, where)
          agree(f, gs2, args, where .. "\n(iters_limit = 2)")
          agree(gb2, gs2, args, where .. "\n(iters_limit = 2)")
        end
      end
    end)
  end)
end
