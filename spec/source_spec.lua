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
    assert.matches(":4: loop optimized: computed when [^\n]*$", explain(g))
    -- cpm.load runs the default front end (bytecode, on both VMs): a
    -- "=name" chunk has no text for the source front end, but the
    -- functions it made are optimized
    local M = cpm.load(src, "=mod")()
    assert.matches("^mod:4: loop optimized: computed when [^\n]*, and the step has an integer value$",
      cpm.explain(M.sum))
    assert.are.equal("mod:9: loop not optimized: product of loop-carried values whose degree grows with each iteration (s * s)",
      cpm.explain(M.sq))
    -- (made by the bytecode front end: the source one recognises it too)
    assert.are.equal(cpm.explain(M.sum), explain(M.sum))
    local ok, err = pcall(cpm.optimize, M.sq, { strict = true })
    assert.is_false(ok)
    assert.are.equal("cpm: mod:9: product of loop-carried values whose degree grows with each iteration (s * s)", err)
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

describe("the source front end on code as people write it", function()
  local function fresh(text, name)
    return assert(load(text, name))
  end

  it("optimizes scripts that do not end with return, and the functions in them", function()
    local texts = {
      "local function fib(n)\n  local a, b = 0, 1\n  for i = 1, n do a, b = b, a + b end\n"
        .. "  return a\nend\nFIB = fib\nlocal s = 0\nfor i = 1, 10 do s = s + i end\n",
      -- the last line a comment without a line break, a `;` after it
      "local function fib(n)\n  local a, b = 0, 1\n  for i = 1, n do a, b = b, a + b end\n"
        .. "  return a\nend\n\nFIB = fib ;\n\n-- the end",
      -- the last token a long string over several lines, CR LF line breaks
      "local function fib(n)\r\n  local a, b = 0, 1\r\n  for i = 1, n do a, b = b, a + b end\r\n"
        .. "  return a\r\nend\r\nFIB = fib\r\nlocal doc = [[\r\nfib\r\n]]\r\n--[[ c\r\n]]",
      "#!/usr/bin/env lua\nlocal function fib(n) local a, b = 0, 1\n"
        .. "  for i = 1, n do a, b = b, a + b end\n  return a\nend\nFIB = fib",
    }
    for _, text in ipairs(texts) do
      local path = tmpfile(text)
      local chunk = assert(loadfile(path))
      local g = optimize(chunk)
      if not LUA54 then  -- (on Lua 5.4 main chunks are the bytecode front end's)
        assert.are_not.equal(chunk, g, text)
        assert.matches(":3: loop optimized", explain(chunk), text)
      end
      chunk()
      local fib = _G.FIB
      local h = optimize(fib)
      assert.are_not.equal(fib, h, text)
      assert.matches(":3: loop optimized: computed when [^\n]*$", explain(fib))
      assert.are.equal(fib(80), h(80))
      _G.FIB = nil
      g()  -- the closures that the optimized chunk makes are optimized
      assert.matches(":3: loop optimized: computed when [^\n]*$", explain(_G.FIB))
      assert.are.equal(fib(80), _G.FIB(80))
      -- cpm.load: the same text, through whichever front end the VM uses
      -- (Lua 5.4 skips a # line in files only)
      if not (LUA54 and text:sub(1, 1) == "#") then
        assert(cpm.load(text, "=script"))()
        assert.matches("script:3: loop optimized: computed when [^\n]*$", cpm.explain(_G.FIB))
        assert.are.equal(fib(80), _G.FIB(80))
      end
      _G.FIB = nil
      os.remove(path)
    end
    -- no token at all: nothing to optimize, and nothing refused
    if not LUA54 then
      assert.are.equal("no loops", explain(fresh("-- only a comment\n\n")))
    end
  end)

  it("optimizes a function after another of its loops has run hot", function()
    local text = "return function(t, n)\n  local s = 0\n  for _, v in pairs(t) do s = s + v end\n"
      .. "  local a, b = 0, 1\n  for i = 1, n do a, b = b, a + b end\n"
      .. "  local j = 0\n  while j < 3 do j = j + 1 end\n  return s + a + j\nend\n"
    local path = tmpfile(text)
    local f = assert(loadfile(path))()
    local t = {}
    for i = 1, 40 do t["k" .. i] = i end
    for _ = 1, 3000 do f(t, 20) end
    if jit and jit.status() then
      -- the VM did patch f's instructions (FORL, ITERN, LOOP into J...)
      local util = require "jit.util"
      local f0 = assert(loadfile(path))()
      local patched = false
      for pc = 0, util.funcinfo(f).bytecodes - 1 do
        if util.funcbc(f, pc) ~= util.funcbc(f0, pc) then patched = true end
      end
      assert.is_true(patched)
    end
    local g = optimize(f)
    assert.are_not.equal(f, g)
    assert.matches(":5: loop optimized", explain(f))
    for _, n in ipairs { 0, 1, 30, 70 } do agree(f, g, { t, n }, "n = " .. n) end
    if jit then  -- jit.off(f) marks f's prototype: not part of what is compared
      local f2 = assert(loadfile(path))()
      jit.off(f2)
      assert.matches(":5: loop optimized", explain(f2))
      jit.on(f2)
    end
    -- still a real check: the file changed, f ran hot, same lines and names
    local h = assert(io.open(path, "wb"))
    h:write((text:gsub("a %+ b", "a - b")))
    h:close()
    local g2 = optimize(f)
    assert.are.equal(f, g2)
    assert.matches("the source text found is not the function.s", explain(f))
    os.remove(path)
  end)

  it("needs no jit.vmdef on package.path", function()
    local saved_path, saved = package.path, {}
    local names = { "jit.vmdef", "cpm.source", "cpm.source.fingerprint", "cpm.source.grammar",
      "cpm.source.ast", "cpm.source.scope", "cpm.source.locate", "cpm.source.lower",
      "cpm.source.emit" }
    for _, n in ipairs(names) do saved[n] = package.loaded[n] end
    local ok, err = pcall(function()
      package.path = "lua/?.lua;lua/?/init.lua"  -- as `luarocks path` leaves it: no jit/
      for _, n in ipairs(names) do package.loaded[n] = nil end
      package.preload["jit.vmdef"] = function() error("jit.vmdef is not on the path") end
      local src = require "cpm.source"
      local f = load("return function(n) local s = 0 for i = 1, n do s = s + i end return s end")()
      local g, report = src.optimize(f, nil, false)
      assert.is_nil(report.reason)
      assert.are_not.equal(f, g)
      assert.are.equal(f(1000), g(1000))
    end)
    package.path = saved_path
    package.preload["jit.vmdef"] = nil
    for _, n in ipairs(names) do package.loaded[n] = saved[n] end
    assert(ok, err)
  end)

  it("leaves _G as it found it when it loads LPeg", function()
    local saved_mod, saved_global = package.loaded.lpeg, rawget(_G, "lpeg")
    local saved_grammar = package.loaded["cpm.source.grammar"]
    local ok, err = pcall(function()
      -- nobody loaded lpeg: no global afterwards, and a later require of
      -- lpeg sees what it would have seen without cpm
      package.loaded.lpeg, package.loaded["cpm.source.grammar"] = nil, nil
      rawset(_G, "lpeg", nil)
      local grammar = require "cpm.source.grammar"
      assert.is_table(grammar.parse("return 1"))
      assert.is_nil(rawget(_G, "lpeg"))
      local mod = require "lpeg"
      if jit then assert.are.equal(mod, rawget(_G, "lpeg")) end  -- luaL_register's global
      -- the program loaded it first, global and all: both stay
      package.loaded["cpm.source.grammar"] = nil
      rawset(_G, "lpeg", mod)
      require "cpm.source.grammar"
      assert.are.equal(mod, rawget(_G, "lpeg"))
      assert.are.equal(mod, package.loaded.lpeg)
    end)
    package.loaded.lpeg, package.loaded["cpm.source.grammar"] = saved_mod, saved_grammar
    rawset(_G, "lpeg", saved_global)
    assert(ok, err)
  end)

  it("lowers `local y` without a value in a loop body", function()
    for _, body in ipairs { "local y", "local y; s = s + i", "local y, z = s; s = s + i",
        "local y; y = s; s = y + i", "local y, z; z = i; s = s + z" } do
      local f = load("return function(n) local s = 0 for i = 1, n do " .. body
        .. " end return s end")()
      local g = optimize(f)
      assert.matches("loop", explain(f))
      assert.is_nil(explain(f):find("internal error"), body)
      for _, n in ipairs { 0, 1, 10, 1000 } do agree(f, g, { n }, body) end
    end
  end)

  it("gives f back, with the reason, when the front end itself fails", function()
    local lower = require "cpm.source.lower"
    local saved = lower.lower
    local f = load("return function(n) local s = 0 for i = 1, n do s = s + i end return s end")()
    lower.lower = function() error("a planted fault") end
    local ok, err = pcall(function()
      assert.are.equal(f, optimize(f))
      assert.matches("not optimized: internal error in the source front end: .*a planted fault",
        explain(f))
      local ok2, err2 = pcall(optimize, f, { strict = true })
      assert.is_false(ok2)
      assert.matches("^cpm: .*: internal error in the source front end: .*a planted fault", err2)
    end)
    lower.lower = saved
    assert(ok, err)
  end)

  it("reads long strings' line breaks as the lexer does, and takes constants from the VM", function()
    -- [[k<CR><LF><CR>]] is "k" and two line breaks
    local t = { ["k\n\n"] = 1000, ["k\n"] = 1000000 }
    local f = load("local t = ... return function(n) local a = 0 for i = 1, n do "
      .. "a = a + t[ [[k\r\n\r]] ] end return a end")(t)
    local g = optimize(f)
    assert.matches("loop optimized", explain(f))
    assert.are.equal(1000 * 1000, f(1000))
    agree(f, g, { 1000 }, "CR LF CR")
    -- a parser that decodes every string wrongly still plans nothing wrong
    local grammar, ast = require "cpm.source.grammar", require "cpm.source.ast"
    local parse = grammar.parse
    grammar.parse = function(...)
      local tree, e = parse(...)
      if tree then
        ast.walk(tree, function(n)
          if n.tag == "String" then n.value = "wrong" end
        end)
      end
      return tree, e
    end
    local ok, err = pcall(function()
      local h = load("local t = ... return function(n) local a = 0 -- misread\n"
        .. "for i = 1, n do a = a + t.k + t['k\\n'] + t[ [[k\r\n\r]] ] end return a end")(t)
      local gh = optimize(h)
      assert.are_not.equal(h, gh)
      for _, n in ipairs { 0, 3, 1000 } do agree(h, gh, { n }, "misread strings") end
    end)
    grammar.parse = parse
    assert(ok, err)
  end)

  it("agrees with plain load on random chunks of every statement and expression form", function()
    -- spec/support/chunkgen.lua; tools/fuzz/source.lua runs it longer
    local seed = os.time()
    local stats = require("chunkgen").run { seed = seed, cases = 150 }
    assert.is_true(stats.cases >= 100, "seed " .. seed .. ": too many chunks refused by load")
    assert.is_true(stats.optimized > 0, "seed " .. seed .. ": no loop optimized")
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
