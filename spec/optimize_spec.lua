-- cpm.optimize and cpm.explain through every front end available on this
-- VM: bytecode rewriting (Lua 5.4 or LuaJIT), and the source front end where it is
-- installed.  The optimized function must return exactly what the
-- original returns: values, math.type, side effects, errors.
local cpm = require "cpm"
local loopgen = require "loopgen"

local LUA54 = not jit

local frontends = {}
frontends[#frontends + 1] = "bytecode"  -- Lua 5.4 or LuaJIT bytecode, the default
if pcall(require, "cpm.source") then frontends[#frontends + 1] = "source" end

local agree = require("agree").agree
local tmpfile = require("files").tmpfile

describe("cpm.optimize", function()
  it("rejects what is not a function with the usual message", function()
    assert.has_error(function() cpm.optimize(nil) end,
      "bad argument #1 to 'optimize' (function expected, got no value)")
    assert.has_error(function() cpm.optimize(42) end,
      "bad argument #1 to 'optimize' (function expected, got number)")
    assert.has_error(function() cpm.optimize(print, 5) end,
      "bad argument #2 to 'optimize' (table expected, got number)")
    assert.has_error(function() cpm.optimize(print, { iters_limit = 1 }) end,
      "bad argument #2 to 'optimize' (iters_limit must be an integer >= 2)")
    assert.has_error(function() cpm.explain("x") end,
      "bad argument #1 to 'explain' (function expected, got string)")
  end)

  it("gives back a working function for a C function", function()
    local g = cpm.optimize(math.max)
    assert.are.equal(7, g(3, 7, 5))
  end)
end)

describe("cpm.load and cpm.loadfile", function()
  local src = [[
    local k = ...
    function fibs(n)
      local a, b = 0, 1
      for _ = 1, n do a, b = b, a + b end
      return a
    end
    return function(n) local s = 0 for i = 1, n do s = s + i * (k or 1) end return s end
  ]]

  if #frontends > 0 then
    it("returns the chunk with every function optimized, env honoured", function()
      local env = {}
      local chunk = assert(cpm.load(src, "=loaded", "t", env))
      local sum = chunk(3)
      assert.are.equal(3 * 5050, sum(100))
      assert.is_function(env.fibs)
      assert.are.equal(190392490709135, env.fibs(70))
      assert.matches("loop optimized", cpm.explain(env.fibs))
    end)

    it("loads files the same way", function()
      local path = tmpfile(src)
      local chunk = assert(cpm.loadfile(path))
      os.remove(path)
      assert.are.equal(5050, chunk()(100))
    end)
  end

  it("reads a reader function's pieces, naming the chunk as load does", function()
    local function reader(text)
      local pos = 0
      return function()
        pos = pos + 7
        return text:sub(pos - 6, pos)
      end
    end
    local text = "return function(n) local s = 0 for i = 1, n do s = s + i end return s end, "
      .. "debug.getinfo(1, 'S').source"
    local f, source = assert(cpm.load(reader(text)))()
    local f0, source0 = assert(load(reader(text)))()
    assert.are.equal(source0, source)
    assert.are.equal(f0(1000), f(1000))
    assert.matches("loop optimized", cpm.explain(f))
    local _, named = assert(cpm.load(reader(text), "=named"))()
    assert.are.equal("=named", named)
    -- a piece that is not a string goes to load, which takes numbers
    -- (a reader that raises is not tried here: the error passes through
    -- the message handler of whoever runs the spec, busted included)
    local pieces = { "return ", 1 }
    local k = 0
    local odd = function() k = k + 1 return pieces[k] end
    local g = assert(cpm.load(odd))
    assert.are.equal(1, g())
  end)

  it("reads a reader only as far as load does", function()
    local function counting(pieces)
      local n = 0
      return function() n = n + 1 return pieces[n] end, function() return n end
    end
    for _, pieces in ipairs {
      { "local x = ", "1 +", " + ", "2", "return x" },   -- a syntax error in piece 3
      { "return 1", "", "garbage" },                    -- "" ends the chunk
      { "return ", 2, nil, "x" },                       -- nil ends it
      -- (not a string, or a reader that raises: load's error passes
      -- through the message handler of whoever runs the spec, busted's
      -- included, which then loses the test's result)
    } do
      local r1, n1 = counting(pieces)
      local r2, n2 = counting(pieces)
      local f1, e1 = load(r1)
      local f2, e2 = cpm.load(r2)
      assert.are.equal(n1(), n2())
      assert.are.equal(e1, e2)
      assert.are.equal(f1 == nil, f2 == nil)
      if f1 then assert.are.equal(f1(), f2()) end
    end
  end)

  it("raises load's messages for bad arguments, at the caller's position", function()
    local cases = {
      function(l) local f = l() return f end,
      function(l) local f = l({}) return f end,
      function(l) local f = l(true) return f end,
      function(l) local f = l("return 1", {}) return f end,
      function(l) local f = l("return 1", "=x", {}) return f end,
    }
    for i, c in ipairs(cases) do
      local ok1, e1 = pcall(c, load)
      local ok2, e2 = pcall(c, cpm.load)
      assert.is_false(ok1)
      assert.is_false(ok2)
      -- the spec's own file and line, and load's message (but for the
      -- name of the function, which load takes from the call)
      local where = e1:match("^([^:]*:%d+): ")
      assert.is_string(where, "case " .. i)
      assert.are.equal(where, e2:match("^([^:]*:%d+): "), "case " .. i)
      assert.are.equal(e1:gsub("to '[^']*'", "to 'load'"), e2, "case " .. i)
    end
  end)

  it("returns nil and the message like load and loadfile", function()
    local f, err = cpm.load("return +", "=bad")
    local f2, err2 = load("return +", "=bad")
    assert.is_nil(f)
    assert.are.equal(err2, err)
    assert.is_nil(f2)
    local g, gerr = cpm.loadfile("/nonexistent/cpm-spec.lua")
    assert.is_nil(g)
    assert.matches("cannot open", gerr)
  end)
end)

-- An object whose finalizer is fin (LuaJIT never calls a table's __gc:
-- a newproxy userdata there).
local function finalized(fin)
  if newproxy then
    local u = newproxy(true)
    getmetatable(u).__gc = fin
    return u
  end
  return setmetatable({}, { __gc = fin })
end

for _, frontend in ipairs(frontends) do
  local opts = { frontend = frontend }
  local function optimize(f, o)
    local oo = { frontend = frontend }
    for k, v in pairs(o or {}) do oo[k] = v end
    return cpm.optimize(f, oo)
  end

  -- The source front end needs the text: a chunk named "=..." has none
  -- (debug.getinfo keeps only the name), so it gets the default name,
  -- the text itself.
  local function chunkname(name)
    if frontend == "source" then return nil end
    return name
  end

  describe("the " .. frontend .. " front end", function()
    it("gives back a working function when there is nothing to optimize", function()
      local function h(x) return x * 2 end
      assert.are.equal(10, optimize(h)(5))
      assert.are.equal("no loops", cpm.explain(h, opts))
    end)

    -- (a rewritten loop is found again after its check block: rewriting it
    -- again stacked a second block, and a second guard call, on LuaJIT)
    it("gives back the functions it made, and the closures they make, as they are", function()
      local src = "local k = ...\nreturn function(n)\n  local s = 0\n  for i = 1, n do s = s + i end\n"
        .. "  local m = 0\n  while m < n do m = m + k end\n"
        .. "  return s, m, function(x) local t = 0 for _ = 1, x do t = t + k end return t end\nend"
      local f = assert(load(src, chunkname("=made")))(3)
      local g = optimize(f)
      assert.are_not.equal(f, g)
      local dump = string.dump(g)
      for _, o in ipairs { {}, { iters_limit = 2 }, { strict = true } } do
        assert.are.equal(g, optimize(g, o))
        assert.are.equal(dump, string.dump(g))
      end
      -- by the other front ends too (the default one took the source
      -- front end's fallback loops for loops of its own)
      for _, fe in ipairs { "bytecode", "source" } do
        if fe ~= frontend and pcall(cpm.optimize, f, { frontend = fe }) then
          assert.are.equal(g, cpm.optimize(g, { frontend = fe }))
          assert.are.equal(cpm.explain(f, opts), cpm.explain(g, { frontend = fe }))
        end
      end
      assert.are.equal(g, cpm.optimize(g))
      assert.are.equal(cpm.explain(f, opts), cpm.explain(g, opts))
      local s, m, h = g(10^6)
      assert.are.same({ 500000500000, 1000002 }, { s, m })
      assert.are.equal(h, optimize(h))
      assert.matches("^[^\n]*:7: loop optimized: computed when [^\n]*$", cpm.explain(h, opts))
      assert.are.equal(3 * 10^6, h(10^6))
      if frontend == "bytecode" then
        -- a copy made by string.dump runs as written, and is not rewritten
        -- again: a copy of a copy dumps as the copy (LuaJIT's test suite
        -- compares such dumps)
        for _, strip in ipairs { false, true } do
          local copy = assert(load(string.dump(g, strip)))
          debug.setupvalue(copy, 1, 3)  -- k (load leaves it nil, or _ENV on 5.4)
          local d = string.dump(copy, strip)
          local again = optimize(copy, { iters_limit = 2 })
          assert.are.equal(d, string.dump(again, strip))
          assert.are.same({ 5050, 102 }, { (select(1, again(100))), (select(2, again(100))) })
          assert.does_not.match("loop optimized", cpm.explain(copy, opts))
          if not strip then
            assert.matches(":6: while loop not optimized: loop rewritten by cpm already",
              cpm.explain(copy, opts))
          end
        end
      end
    end)

    it("optimizes the Fibonacci loop over bignums exactly", function()
      local function fib(n)
        local a, b = cpm.big(0), cpm.big(1)
        for _ = 1, n do a, b = b, a + b end
        return a
      end
      local g = optimize(fib)
      assert.are_not.equal(fib, g)
      assert.matches("loop optimized", cpm.explain(fib, opts))
      for _, n in ipairs { 0, 1, 2, 15, 16, 17, 100, 1000 } do
        assert.is_true(cpm.eq(fib(n), g(n)), "n = " .. n)
      end
      -- a count no plain loop could finish
      local big = g(10^6)
      assert.are.equal(694241, big:bits())
    end)

    -- Loops whose characteristic polynomial is x^2 -+ x - 1 take GMP's
    -- Fibonacci numbers (src/core/mat_mpz.c, lucas_fib): each way of
    -- writing them, each set of results, starts of both signs.
    it("computes the loops of x^2 -+ x - 1 as they run, whichever values they return", function()
      local B = cpm.big
      for _, body in ipairs { "a, b = b, a + b", "a, b = b, a - b", "a, b = a + b, a",
                              "a, b = b - a, a", "a, b = -b, a - b" } do
        for _, ret in ipairs { "a", "b", "a, b", "b, a" } do
          local f = assert((loadstring or load)(("return function(n, a, b) for _ = 1, n do %s end return %s end")
            :format(body, ret)))()
          -- (a limit below LuaJIT's default for this plan, set for loops
          -- over numbers: past 4000 iterations)
          local g = optimize(f, { iters_limit = 16 })
          local where = body .. "; return " .. ret
          for _, n in ipairs { 0, 3, 4, 5, 64, 65, 1000, 1001 } do
            for _, st in ipairs { { B(0), B(1) }, { B(3), B(-7) }, { B(-2) ^ 70, B(5) } } do
              agree(f, g, { n = 3, n, st[1], st[2] }, where .. ", n = " .. n)
            end
          end
          local c = 0
          for _, s in ipairs(cpm.stats(g)) do c = c + s.computed end
          assert.is_true(c > 0, where .. ": nothing computed")
        end
      end
    end)

    -- LuaJIT's default limit is that of a compiled loop over numbers
    -- (thousands of iterations for k = 2); a numeric for loop whose first
    -- output holds a cpm.big at entry asks its guard from
    -- GUARD_OBJ_ITERS_LIMIT (16) iterations (src/luajit/rewritejit.c); a
    -- user's iters_limit holds for every value.
    if jit and frontend == "bytecode" then
      it("asks the guard from 16 iterations when the first output holds a cpm.big (LuaJIT)", function()
        local B = cpm.big
        local srcs = {
          "for _ = 1, n do a, b = b, a + b end",
          "local i = 0 while i < n do a, b = b, a + b i = i + 1 end",
          "local i = 0 while i < n do i = i + 1 a, b = b, a + b end",  -- the counter first
          "local i = 0 repeat a, b = b, a + b i = i + 1 until i >= n",
        }
        for _, body in ipairs(srcs) do
          local f = assert(load("return function(n, a, b) " .. body .. " return a, b end"))()
          local g = optimize(f)
          for _, n in ipairs { 1, 15, 16, 17, 100, 1000 } do
            agree(f, g, { n = 3, n, B(0), B(1) }, body .. ": bignums, n = " .. n)
            agree(f, g, { n = 3, n, 0, 1 }, body .. ": numbers, n = " .. n)
            agree(f, g, { n = 3, n, B(3), 5 }, body .. ": a bignum first, n = " .. n)
            agree(f, g, { n = 3, n, 3, B(5) }, body .. ": a number first, n = " .. n)
            agree(f, g, { n = 3, n, io.stdout, 1 }, body .. ": another userdata, n = " .. n)
          end
          -- computed: the bignum starts at 16, 17, 100 and 1000; nothing
          -- fell back (the number starts ran as written, untold); below
          -- the limit: the other userdata at 16 .. 1000 (and, as a while
          -- loop's check rounds, maybe calls of 15 iterations)
          local st = cpm.stats(g)[1]
          assert.are.same({ 8, 0 }, { st.computed, st.fell_back }, body)
          if body:sub(1, 3) == "for" then assert.are.equal(4, st.below_limit)
          else assert.is_true(st.below_limit >= 4 and st.below_limit <= 7, body) end
          local h = optimize(f, { iters_limit = 500 })
          for _, n in ipairs { 16, 100, 499, 500 } do h(n, B(0), B(1)) end
          assert.are.equal(1, cpm.stats(h)[1].computed, body)
        end
      end)
    end

    -- The guard keeps the analysis of the last matrix between calls: a
    -- call with other coefficients must get its own, never the last one's.
    it("computes each call with its own coefficients over bignums", function()
      local function f(a, b, c, n)
        local x, y = cpm.big(1), cpm.big(0)
        for _ = 1, n do x, y = a * x + b * y + c, x end
        return x, y
      end
      local g = optimize(f)
      assert.matches("loop optimized", cpm.explain(f, opts))
      local coefs = { { 1, 1, 0 }, { 2, 1, 0 }, { 1, 1, 1 }, { 3, -1, 0 }, { 1, 1, 0 },
                      { 0, 1, 5 }, { 2, 0, 0 }, { 1, 1, 0 }, { 5, 7, -3 } }
      local seen = {}
      for round = 1, 2 do
        for i, abc in ipairs(coefs) do
          local a, b, c = abc[1], abc[2], abc[3]
          if round == 2 then a, b = cpm.big(a), cpm.big(b) end
          local n = 200 + i
          local x1, y1 = f(a, b, c, n)
          local x2, y2 = g(a, b, c, n)
          assert.is_true(cpm.eq(x1, x2) and cpm.eq(y1, y2), ("coefficients %d, %d, %d"):format(abc[1], abc[2], c))
          seen[tostring(x2)] = true
        end
      end
      local distinct = 0
      for _ in pairs(seen) do distinct = distinct + 1 end
      assert.is_true(distinct >= 8)
      -- coefficients above the size of a plan the guard keeps (2^16 bits),
      -- between and after kept ones
      local h = optimize(f, { iters_limit = 2 })
      local A = cpm.big(2) ^ 66000 + 1
      for _, a in ipairs { A, 3, A, A + 2, 3, 5 } do
        local x1, y1 = f(a, 1, 0, 5)
        local x2, y2 = h(a, 1, 0, 5)
        assert.is_true(cpm.eq(x1, x2) and cpm.eq(y1, y2))
      end
      assert.are.equal(6, cpm.stats(h)[1].computed)
    end)

    -- A finalizer may call an optimized function while a call of it is
    -- under way (an allocation of that call runs it), and after the
    -- guard's own cache was finalized in the same cycle (the finalizer
    -- resurrects the function; at lua_close too).  Each such call must
    -- compute its own values, and the finalized cache must keep nothing,
    -- since its finalizer never runs again (make asan reports the leak).
    it("computes calls made by finalizers, during a call and after the guard's cache is finalized", function()
      local big = cpm.big
      local function f(p, q, n, a, b)
        for _ = 1, n do a, b = b, p * b + q * a end
        return a, b
      end
      local checked, during, inside, live, computed = 0, 0, 0, true, 0
      -- (a finalizer calls no assertion: busted's code is compiled, and
      -- LuaJIT's bug #1000 can hang a compiled pairs() loop a finalizer
      -- runs, see lua/cpm/init.lua; differences are kept for the end)
      local differ = {}
      local function check(g, p, q, n, a, b)
        local x1, y1 = f(p, q, n, a, b)
        inside = inside + 1
        local x2, y2 = g(p, q, n, a, b)
        inside = inside - 1
        if not (cpm.eq(x1, x2) and cpm.eq(y1, y2)) then
          differ[#differ + 1] = ("p = %s, q = %s, n = %d"):format(tostring(p), tostring(q), n)
        end
        checked = checked + 1
      end
      -- the same cycle: each holder is marked for finalization before the
      -- guard's cache exists, so Lua 5.4 finalizes the cache first
      for i = 1, 8 do
        local g = optimize(f, { iters_limit = 2 })
        local _ = finalized(function()
          if live then
            check(g, big(i), -1, 90 + i, big(2), big(-i))
            computed = computed + cpm.stats(g)[1].computed
          end
        end)
        check(g, big(i + 1), 1, 70, big(0), big(1))
      end
      collectgarbage()
      collectgarbage()
      assert.are.equal(16, checked)
      assert.are.equal(16, computed)  -- 8 finalizers, each after its g's first call
      -- during a call: the collector as eager as it goes, finalizers that
      -- make themselves again
      local g = optimize(f, { iters_limit = 2 })
      local coefs = { 1, 2, -3, big(1), big(-1), big(3), big(2) ^ 80 + 1 }
      local function again()
        return finalized(function()
          if not live then return end
          if inside > 0 then during = during + 1 end
          check(g, coefs[checked % #coefs + 1], checked % 2 == 0 and 1 or -1, 40 + checked % 50, big(checked % 7 - 3), big(1))
          again()
        end)
      end
      for _ = 1, 10 do again() end
      local mode = LUA54 and collectgarbage("incremental")
      local pause = collectgarbage("setpause", 0)
      local mul = collectgarbage("setstepmul", 1000)
      -- (150 calls, more until a finalizer ran during one: when the
      -- collector's steps fall is LuaJIT's to choose)
      local i = 0
      repeat
        i = i + 1
        check(g, coefs[i % #coefs + 1], i % 3 == 0 and -1 or 1, 30 + i % 200, big(i), big(-2))
      until (i >= 150 and during > 0) or i >= 5000
      live = false
      collectgarbage("setpause", pause)
      collectgarbage("setstepmul", mul)
      if mode then collectgarbage(mode) end
      collectgarbage()
      assert.are.same({}, differ)
      assert.is_true(during > 0, "no finalizer ran during a call")
      assert.is_true(cpm.stats(g)[1].computed >= 150)
    end)

    -- A holder marked for finalization before cpm.optimize makes the
    -- plans: Lua 5.4 then finalizes the plans first, and the holder's
    -- finalizer reaches the optimized function again.  Its guards must
    -- run the loops as written (a branch or nest guard once read its
    -- freed plan: a crash).
    it("runs as written the loops of a function reached after its plans were finalized", function()
      local src = [[
        return {
          function(n, c)  -- plain
            local s = 0
            for i = 1, n do s = s + 3 * i end
            return s
          end,
          function(n, c)  -- an invariant branch
            local s = 0
            for i = 1, n do
              if c then s = s + i else s = s + 2 * i end
            end
            return s
          end,
          function(n, c)  -- a nest
            local s = 0
            for i = 1, n do
              for j = 1, i do s = s + j end
            end
            return s
          end,
        }
      ]]
      local path = require("files").tmpfile(src)
      local seen = {}
      for kind = 1, 3 do
        local box = {}
        local _ = finalized(function()
          local ok, v = pcall(box.g, 300, kind == 2)
          seen[#seen + 1] = { ok, v, box.f(300, kind == 2), kind }
        end)
        box.f = assert(loadfile(path))()[kind]
        box.g = optimize(box.f, { iters_limit = 2 })
        assert.are.equal(box.f(50, true), box.g(50, true))
      end
      os.remove(path)
      collectgarbage()
      collectgarbage()
      assert.are.equal(3, #seen)
      for _, s in ipairs(seen) do
        assert.is_true(s[1], tostring(s[2]))
        assert.are.equal(s[3], s[2], "kind " .. s[4])
      end
    end)

    -- On LuaJIT every number is a double: the values of this loop pass
    -- 2^53, so it is inexact as written and the guard must run it as
    -- written (for days); the same loop over bignums is exact on both VMs.
    it("finishes a loop of 10^15 iterations at once", function()
      local one = LUA54 and 1 or cpm.big(1)
      local function f(n)
        local step1, step2, res = one, one, one
        for _ = 1, n do res = res + step2; step2 = step2 + step1; step1 = step1 + 1 end
        return res
      end
      local g = optimize(f)
      assert.are.equal(f(1000), g(1000))
      assert.is_true(cpm.eq(f(1000), g(1000)))
      local r = g(10^15)  -- would take days as written
      assert.is_not_nil(r)
    end)

    it("optimizes loops over cpm.range exactly, 10^1000 iterations included", function()
      local function f(a, b, c)
        local s, t = 0, 1
        for i in cpm.range(a, b, c) do s = s + i; t = t + s end
        return s, t
      end
      local g = optimize(f)
      assert.matches("loop optimized", cpm.explain(f, opts))
      for _, args in ipairs { { 1, 100, 1 }, { 100, 1, -3 }, { 1, 0, 1 }, { cpm.big(1), 100, 1 } } do
        agree(f, g, args, "range " .. tostring(args[1]))
      end
      local n = cpm.big(10) ^ 1000
      local s = g(1, n, 1)
      assert.is_true(cpm.eq(s, (n * (n + 1)):idiv(2)))
    end)

    it("leaves other generic for loops to the VM", function()
      local function f(t)
        local s = 0
        for _, v in ipairs(t) do s = s + v end
        for k in next, t do s = s + k end
        return s
      end
      agree(f, optimize(f), { { 4, 5, 6 } }, "ipairs and next")
    end)

    it("shares upvalues with the original function", function()
      local total = 0
      local function acc(n)
        for i = 1, n do total = total + i end
        return total
      end
      local g = optimize(acc)
      assert.are.equal(5050, g(100))
      assert.are.equal(5050, total)
      assert.are.equal(5050 + 210, acc(20))  -- f and g see the same variable
      assert.are.equal(5260, total)
    end)

    it("reads globals the loop never writes", function()
      local env = setmetatable({ STEP = 3 }, { __index = _G })
      local src = "return function(n) local s = 0 for i = 1, n do s = s + STEP end return s end"
      local f = (loadstring or load)(src, "=globals", "t", env)
      if setfenv then setfenv(f, env) end
      f = f()
      local g = optimize(f)
      assert.are.equal(300, g(100))
      env.STEP = 5
      assert.are.equal(500, g(100))
    end)

    it("optimizes loops of nested functions, innermost loops of nests", function()
      local function outer(n)
        local function inner(m)
          local s = 0
          for i = 1, m do s = s + i end
          return s
        end
        local t = 0
        for j = 1, n do
          for i = 1, j do t = t + i end
        end
        return inner(n), t
      end
      local g = optimize(outer)
      agree(outer, g, { 50 }, "nested")
      local text = cpm.explain(outer, opts)
      -- a triangular nest: one plan for the whole nest (trinest_spec)
      assert.not_matches("not optimized", text)
      assert.matches("loop optimized", text)
    end)

    it("keeps the loop variable, negative and non-unit steps, 0 and 1 iterations", function()
      local src = [[
        return function(a, b, c)
          local s, t = 0, 1
          for i = a, b, c do s = s + i; t = t + 2 * s - i end
          return s, t
        end]]
      local f = assert((loadstring or load)(src))()
      local g = optimize(f)
      for _, args in ipairs {
        { 1, 100, 1 }, { 100, 1, -1 }, { 1, 100, 7 }, { 100, -100, -3 }, { 1, 0, 1 },
        { 1, 1, 1 }, { 5, 5, -1 }, { 0, 15, 1 }, { 0, 16, 1 }, { 1.0, 50, 1 }, { 1, 50.5, 2 },
      } do agree(f, g, args, "loop " .. table.concat(args, ",")) end
    end)

    it("runs loops below iters_limit as written and computes those at it", function()
      -- a string entry value makes the guard give up with a reason, which
      -- strict mode turns into an error: only loops at or above the limit
      -- reach that point; shorter ones run as written (string coercion)
      local function f(n, s)
        for i = 1, n do s = s + i end
        return s
      end
      local g = optimize(f, { iters_limit = 10, strict = true })
      for n = 0, 9 do assert.are.equal(f(n, "1"), g(n, "1")) end
      assert.has_error(function() g(10, "1") end)
      assert.are.equal(f(10, 1), g(10, 1))
      -- the documented default (doc/manual.md) for a plan of k = 2 state
      -- values (s and i) and b = 1 computed value: on Lua 5.4
      -- ceil(1.1 * (300 + 0.7 k^3 + 20 b) / (k + b)), on LuaJIT
      -- ceil(1.2 * 2462 k^1.7 / (b + 1))
      local limit = LUA54 and math.ceil(1.1 * (300 + 0.7 * 8 + 20) / 3)
        or math.ceil(1.2 * 2462 * 2 ^ 1.7 / 2)
      assert.are.equal(LUA54 and 120 or 4800, limit)
      local d = optimize(f, { strict = true })
      assert.are.equal(f(limit - 1, "1"), d(limit - 1, "1"))
      assert.has_error(function() d(limit, "1") end)
    end)

    it("raises in strict mode for a loop it cannot plan, naming the line", function()
      local src = "return function(n) local x = 1\nfor i = 1, n do x = x * x end return x end"
      local f = assert((loadstring or load)(src, chunkname "=sq.lua"))()
      local ok, err = pcall(optimize, f, { strict = true })
      assert.is_false(ok)
      assert.are.equal("cpm: " .. debug.getinfo(f, "S").short_src
        .. ":2: product of loop-carried values whose degree grows with each iteration (x * x)", err)
    end)

    it("raises in strict mode when the guard falls back at run time", function()
      local function f(n, x)
        for _ = 1, n do x = x + 1 end
        return x
      end
      local g = optimize(f, { strict = true })
      assert.are.equal(100001, g(100000, 1))  -- past the default iters_limit
      assert.has_error(function() g(100000, "1") end)
    end)

    -- Floats are computed only when every value of every iteration is an
    -- integer below 2^53 (guard.c, bounds: a majorant in doubles first,
    -- then the log-domain one).  At and past that edge the result must
    -- be the loop's own, rounding included; and a float loop whose values
    -- stay well below it must be computed, not run (strict raises on a
    -- fallback).  Each case: the loop, and the largest magnitude of its
    -- values (computed ones included) over n iterations.
    it("computes float loops up to the edge of 2^53 and runs them as written past it", function()
      local cases = {
        { "local a, b = 0.0, 1.0 for _ = 1, n do a, b = b, a + b end return a, b",
          function(n) local a, b, m = 0, 1, 1 for _ = 1, n do a, b = b, a + b; m = math.max(m, b) end return m end },
        { "local x = 1.0 for _ = 1, n do x = 3 * x + 1 end return x",
          function(n) local x = 1 for _ = 1, n do x = 3 * x + 1 end return x end },
        { "local x = 1.0 for _ = 1, n do x = 1 - 3 * x end return x",
          function(n) local x, m = 1, 1 for _ = 1, n do x = 1 - 3 * x; m = math.max(m, math.abs(x) + 1) end return m end },
        { "local s, t = 0.0, 5.0 for i = 1, n do s = s + 2^40 * i; t = t + s end return s, t",
          function(n) local s, t = 0, 5 for i = 1, n do s = s + 2^40 * i; t = t + s end return math.max(t, 2^40 * n) end },
        { "local s, t = 2.0^45, 1.0 for i = n, 1, -1 do s = s - 3 * i; t = t + i end return s, t",
          function(n) return 2^45 + 3 * n end },
      }
      for _, c in ipairs(cases) do
        local f = assert(load("return function(n) " .. c[1] .. " end"))()
        local g = optimize(f, { iters_limit = 2 })
        local gs = optimize(f, { iters_limit = 2, strict = true })
        for n = 2, 200 do
          local where = c[1] .. "\nn = " .. n
          agree(f, g, { n }, where)
          local ok, err = pcall(gs, n)
          if ok then agree(f, gs, { n }, where .. " (strict)") end
          assert(ok or c[2](n) >= 2^50, where .. ": not computed, values below 2^50: " .. tostring(err))
          if c[2](n) > 2^60 then break end
        end
      end
      -- a swap: values that never grow, over a count where (A max I)^n
      -- does (the log-domain majorant decides)
      local f = assert(load("return function(n) local a, b = 1.0, 2.0 "
        .. "for _ = 1, n do a, b = b, a end return a, b end"))()
      local gs = optimize(f, { iters_limit = 2, strict = true })
      for _, n in ipairs { 100, 10001, 100000 } do agree(f, gs, { n }, "swap, n = " .. n) end
    end)

    it("keeps the sign of zero as the VM computes it (x - 0 is x + -0 on Lua 5.4)", function()
      -- Lua 5.4 compiles x - c (c a small integer) to ADDI x -c, so
      -- -0.0 - 0 gives +0.0 there and -0.0 on LuaJIT: the loop's own value
      local srcs = {
        "return function(n, k) local v for i = 1, n do v = k - 0 end return v end",
        "return function(n, k) local v for i = 1, n do v = k - 0.0 end return v end",
        "return function(n, k) local v for i = 1, n do v = k + 0 end return v end",
        "return function(n, k) local v for i = 1, n do v = 0 - k end return v end",
        "return function(n, k) local v = k for i = 1, n do v = v - 0 end return v end",
        "return function(n, k) local v = k for i = 1, n do v = v - -0 end return v end",
      }
      for _, src in ipairs(srcs) do
        local f = assert((loadstring or load)(src))()
        local g = optimize(f, { iters_limit = 2 })
        for _, k in ipairs { -0.0, 0.0, 0, -3.5 } do
          local a, b = f(10, k), g(10, k)
          assert(math.type == nil or math.type(a) == math.type(b), src)
          assert(a == b and 1 / a == 1 / b, ("%s with k = %s: %s / %s"):format(
            src, tostring(k), tostring(1 / a), tostring(1 / b)))
        end
      end
    end)

    it("leaves side effects and errors exactly as they were", function()
      local count = 0
      local mt = { __add = function(a, b)
        count = count + 1
        return setmetatable({ v = (type(a) == "table" and a.v or a) + (type(b) == "table" and b.v or b) },
          getmetatable(type(a) == "table" and a or b))
      end }
      local function f(n, x)
        for i = 1, n do x = x + i end
        return x
      end
      local g = optimize(f)
      local r = g(100, setmetatable({ v = 0 }, mt))
      assert.are.equal(5050, r.v)
      assert.are.equal(100, count)          -- the metamethod ran once per iteration
      agree(f, g, { 100, "10" }, "string coercion")
      agree(f, g, { 100, nil }, "nil")
      agree(f, g, { 100, {} }, "table without metamethods")
      -- loops with break, calls and table writes run as written
      local log = {}
      local function h(n, x)
        for i = 1, n do
          x = x + i
          log[#log + 1] = x
          if x > 1000 then break end
          tostring(x)
        end
        return x, #log
      end
      local hg = optimize(h)
      local r1 = { h(100, 1) }
      log = {}
      local r2 = { hg(100, 1) }
      assert.are.same(r1, r2)
      assert.matches("not optimized", cpm.explain(h, opts))
    end)

    if LUA54 then
      it("handles integer wrap-around bit for bit", function()
        local f = assert(load [[
          return function(n, a, b)
            for i = 1, n do a, b = b, a * 3 + b - i end
            return a, b
          end]])()
        local g = optimize(f)
        agree(f, g, { 1000, math.maxinteger, math.mininteger }, "wrap")
        agree(f, g, { 10^6, 7, -3 }, "wrap long")
      end)

      it("runs a cpm.range loop with a closing value as written, closing it", function()
        local f = assert(load [[
          local cpm = ...
          return function(n)
            local closed = false
            local it, st = cpm.range(1, n)
            local s = 0
            for i in it, st, nil, setmetatable({}, { __close = function() closed = true end }) do
              s = s + i
            end
            return s, closed
          end]])(cpm)
        agree(f, optimize(f), { 100 }, "closing value")
        assert.is_true(select(2, optimize(f)(100)))
      end)

      it("lowers every arithmetic form the compiler emits", function()
        local factory = assert(load [[
          local up = 7
          return function(n, k, t)
            local a, b, c, d = 1, 2, 3, 4
            for i = 1, n do
              a = a + 1; b = b - 2; c = 3 * c + a; d = d * k - c
              a = a + k; b = b - k; c = -c + t.x + t[1] + up
              d = d + (k // 2) + (k % 3) + (k << 1) + (k >> 1) + (k & 5) + (k | 2) + (k ~ 3) + ~k
              a = a + 0.0 * 0 + (k ^ 2 // 1) - (k / 2 // 1) + b
              up = up + 1
            end
            return a, b, c, d, up
          end]])
        assert.matches("loop optimized", cpm.explain(factory()))
        -- each comparison gets fresh closures: 'up' is state
        for _, t in ipairs { { x = 5, 9 }, { x = 5.0, 9 } } do
          for _, n in ipairs { 0, 1, 20, 50 } do
            agree(factory(), optimize(factory()), { n, 3, t }, "forms " .. n)
          end
        end
      end)

      it("works with varargs, many registers, recursion and coroutines", function()
        local f = assert(load [[
          local function f(n, ...)
            local x1, x2, x3, x4, x5, x6, x7, x8 = ...
            local s = 0
            for i = 1, n do s = s + i + (x1 or 0) end
            if n > 0 then return s + f(n - 1, ...) end
            return s
          end
          return f]])()
        local g = optimize(f)
        agree(f, g, { 40, 1, 2, 3 }, "varargs, recursion")
        local co = coroutine.wrap(function(n)
          local s = 0
          for i = 1, n do s = s + i end
          coroutine.yield(s)
          return s
        end)
        assert.are.equal(5050, optimize(function(n) return co(n) end)(100))
      end)

      it("works on functions loaded from stripped bytecode", function()
        local f = assert(load(string.dump(function(n)
          local a, b = 0, 1
          for _ = 1, n do a, b = b, a + b end
          return a
        end, true)))
        local g = optimize(f)
        assert.are.equal(f(90), g(90))
        assert.matches("loop optimized", cpm.explain(f))
      end)
    end

    it("agrees with the original on thousands of random loops and inputs", function()
      local seed = os.time()
      local gen = loopgen.new { seed = seed, lua54 = LUA54 and frontend == "bytecode" }
      local sink = function() end
      local nfun, noptim = 0, 0
      local kinds = LUA54 and { "int", "float", "big", "mixed" } or { "float", "big", "mixed" }
      for case = 1, 400 do
        local src, nv = gen:func()
        local chunk = assert((loadstring or load)(src, chunkname "=gen"))
        local f = chunk(sink, {})
        -- the default limit, and the lowest (every loop of 2 or more
        -- iterations computed: n is below 200, under LuaJIT's default)
        local g, g2 = optimize(f), optimize(f, { iters_limit = 2 })
        nfun = nfun + 1
        if cpm.explain(f, opts):find("loop optimized", 1, true) then noptim = noptim + 1 end
        for _ = 1, 6 do
          local kind = kinds[math.random(#kinds)]
          local args = gen:args(kind, nv)
          args.n = 3 + nv
          local where = ("seed %d case %d (%s)\n%s\nargs: %s"):format(seed, case, kind, src,
            table.concat((function() local t = {} for i = 1, args.n do t[i] = tostring(args[i]) end return t end)(), ", "))
          agree(f, g, args, where)
          agree(f, g2, args, where .. "\n(iters_limit = 2)")
        end
      end
      assert(noptim > nfun / 2, ("only %d of %d functions optimized"):format(noptim, nfun))
    end)
  end)
end

if #frontends == 0 then
  describe("cpm.optimize on this VM", function()
    pending("no front end is available yet on " .. cpm.vm)
  end)
end
