-- Loops beyond affine bodies, through every front end available on this
-- VM: polynomial terms (products of loop-carried values in a "solvable"
-- body) and modular rings (every carried value reduced modulo one m) --
-- computed, never run, when long; the optimized function returns exactly
-- what the original returns on random bodies and inputs.
local cpm = require "cpm"
local reachgen = require "reachgen"
local agree = require("agree").agree

local LUA54 = not jit

local frontends = {}
frontends[#frontends + 1] = "bytecode"  -- Lua 5.4 or LuaJIT bytecode, the default
if pcall(require, "cpm.source") then frontends[#frontends + 1] = "source" end

local big = cpm.big
local TWO64 = big(2) ^ 64

-- The Lua integer that exact integer 'x' wraps to.
local function wrap(x)
  local r = x % TWO64
  if cpm.cmp(r, TWO64:idiv(2)) >= 0 then r = r - TWO64 end
  return r:tointeger()
end

for _, frontend in ipairs(frontends) do
  local function optimize(f, o)
    local oo = { frontend = frontend }
    for k, v in pairs(o or {}) do oo[k] = v end
    return cpm.optimize(f, oo)
  end

  -- Source text that the source front end can find again: no chunk name.
  local function compile(src, ...)
    return assert((loadstring or load)(src))(...)
  end

  describe("modular rings with entry values beyond exact doubles, " .. frontend .. " front end", function()
    it("gives the loop's own value when the first reduction is not exact", function()
      -- LuaJIT reduces a double as a - floor(a/m) m: 1e300 % 1099511627791
      -- is 0 there, not the exact remainder; Lua 5.4 floats follow fmod
      local f = compile("return function(n, m, v) for i = 1, n do v = v % m end return v end")
      local g = optimize(f, { iters_limit = 2 })
      for _, a in ipairs { { 10, 1099511627791, 1e300 }, { 10, 97, 1e300 },
                           { 10, 97, 2^60 + 3 }, { 10, 97, -2^53 - 2 },
                           { 10, 97, 12345 }, { 10, -97, 12345.0 } } do
        agree(f, g, a, ("v %% %s from %s"):format(tostring(a[2]), tostring(a[3])))
      end
    end)
  end)

  describe("polynomial terms, " .. frontend .. " front end", function()
    local function explain(f) return cpm.explain(f, { frontend = frontend }) end

    it("computes sums of powers of the index at n = 10^15", function()
      local f = compile [[
        return function(n, s)
          for i = 1, n do s = s + i * i end
          return s
        end]]
      local g = optimize(f)
      assert.matches("loop optimized", explain(f))
      local n = big(10) ^ 15
      local exact = (n * (n + 1) * (2 * n + 1)):idiv(6)
      if LUA54 then  -- Z/2^64, as the loop's own wrapping integers
        assert.are.equal(wrap(exact), g(10^15, 0))
        assert.are.equal(math.type(g(10^15, 0)), "integer")
      end
      -- a bignum sum of integer squares: i * i stays below 2^63 (2^53 for
      -- doubles)
      local mn = LUA54 and 3000000000 or 90000000
      local m = big(mn)
      assert.is_true(cpm.eq((m * (m + 1) * (2 * m + 1)):idiv(6), g(mn, big(0))))
      -- a bignum index (cpm.range): exact at any n
      local r = compile([[
        local range = ...
        return function(n, s)
          for i in range(n) do s = s + i * i end
          return s
        end]], cpm.range)
      local gr = optimize(r)
      assert.is_true(cpm.eq(exact, gr(n, big(0))))
      -- exact doubles: every value below 2^53
      assert.are.equal(1000 * 1001 * 2001 / 6 + 0.0, g(1000, 0.0))
      local h = compile [[
        return function(n, s)
          for i = 1, n do s = s + i * i * i end
          return s
        end]]
      local gh = optimize(h)
      if LUA54 then assert.are.equal(wrap((n * (n + 1)):idiv(2) ^ 2), gh(10^15, 0)) end
      mn = LUA54 and 2000000 or 200000  -- i * i * i below 2^63 (2^53)
      m = big(mn)
      assert.is_true(cpm.eq((m * (m + 1)):idiv(2) ^ 2, gh(mn, big(0))))
    end)

    it("computes the shapes of issue 12 as the loop would", function()
      local shapes = {
        "s = s + (2*i + 1)*(i - 3)",
        "a = a + 2; s = s + a*a",
        "local x = 3*i - k; t = t + i*x",
        "a = a + i; s = -s + a*a - i",
        "t = t + k*i*i; a = -a + t*i",
      }
      for _, body in ipairs(shapes) do
        local src = ([[
          return function(n, k, s, a, t)
            for i = 1, n do %s end
            return s, a, t
          end]]):format(body)
        local f = compile(src)
        local g = optimize(f)
        assert.matches("loop optimized", explain(f), body)
        for _, n in ipairs { 0, 1, 2, 100, 1000 } do
          agree(f, g, { n, 3, 1, 2, 5 }, body)
          agree(f, g, { n, 3, big(1), big(2), big(5) }, body)
          agree(f, g, { n, 3.0, 1.0, 2.0, 5.0 }, body)
        end
        -- long: computed (running them would take minutes); every
        -- integer product stays below 2^63, every double below 2^53
        local r = { g(LUA54 and 10^9 or 10^7, 3, big(1), big(2), big(5)) }
        assert.is_true(cpm.isbig(r[1]) and cpm.isbig(r[2]) and cpm.isbig(r[3]), body)
      end
    end)

    it("runs as written when an integer product would wrap in a bignum loop", function()
      local f = compile [[
        return function(n, s, i0)
          for i = i0, i0 + n - 1 do s = s + i * i end
          return s
        end]]
      -- (iters_limit: n = 1000 is below LuaJIT's default for this plan)
      local g = optimize(f, { strict = true, iters_limit = 100 })
      -- i * i passes 2^63 at i = 3037000500: the loop's own wrapping value
      assert.has_error(function() g(1000, big(0), 3037000000) end)
      local g2 = optimize(f)
      agree(f, g2, { 1000, big(0), 3037000000 }, "wrap at the edge")
      if LUA54 then agree(f, g2, { 1000, 0, 3037000000 }, "Z/2^64 at the edge") end
      agree(f, g2, { 1000, 0.0, 94906000.0 }, "floats at 2^53")
    end)

    it("refuses bodies whose degree grows with n, with the reason", function()
      local bodies = { "r = r * i", "r = r * r", "r = r * a; a = a + r" }
      for _, body in ipairs(bodies) do
        local f = compile(([[
          return function(n, r, a)
            for i = 1, n do %s end
            return r, a
          end]]):format(body))
        assert.matches("product of loop%-carried values whose degree grows with each iteration",
          explain(f), body)
        local g = optimize(f)
        agree(f, g, { 100, 1, 1 }, body)
      end
    end)

    it("agrees with the original on random polynomial bodies and inputs", function()
      local seed = tonumber(os.getenv("CPM_SEED")) or os.time()
      local gen = reachgen.new { seed = seed, lua54 = LUA54 }
      local kinds = LUA54 and { "int", "float", "big", "mixed" } or { "float", "big", "mixed" }
      local nfun, noptim = 0, 0
      for case = 1, 250 do
        local src, nv = gen:polyfunc()
        local f = compile(src)
        local g, g2 = optimize(f), optimize(f, { iters_limit = 2 })
        nfun = nfun + 1
        if explain(f):find("loop optimized", 1, true) then noptim = noptim + 1 end
        for _ = 1, 6 do
          local kind = kinds[math.random(#kinds)]
          local args = gen:args(kind, nv)
          local shown = {}
          for i = 1, args.n do shown[i] = tostring(args[i]) end
          local where = ("seed %d case %d (%s)\n%s\nargs: %s"):format(seed, case, kind, src,
            table.concat(shown, ", "))
          agree(f, g, args, where)
          agree(f, g2, args, where .. "\n(iters_limit = 2)")
        end
      end
      assert(noptim > nfun * 0.8, ("only %d of %d functions optimized"):format(noptim, nfun))
    end)
  end)
end

for _, frontend in ipairs(frontends) do
  local function optimize(f, o)
    local oo = { frontend = frontend }
    for k, v in pairs(o or {}) do oo[k] = v end
    return cpm.optimize(f, oo)
  end
  local function explain(f) return cpm.explain(f, { frontend = frontend }) end
  local function compile(src, ...)
    return assert((loadstring or load)(src))(...)
  end

  describe("modular rings, " .. frontend .. " front end", function()
    local fib = compile [[
      return function(n, m)
        local a, b = 0, 1
        for _ = 1, n do a, b = b, (a + b) % m end
        return a
      end]]

    it("computes Fibonacci modulo 10^9+7 at n = 10^18", function()
      local g = optimize(fib, { strict = true })
      assert.matches("loop optimized", explain(fib))
      -- F(10^18) mod (10^9+7), by the doubling formulas in bignums
      local function fibmod(n, m)
        local a, b = big(0), big(1)  -- F(k), F(k+1) for k = the bits so far
        for bit = 63, 0, -1 do
          local c = a * (b * 2 - a) % m
          local d = (a * a + b * b) % m
          if n:shr(bit):band(1):sign() ~= 0 then a, b = d, (c + d) % m else a, b = c, d end
        end
        return a
      end
      if LUA54 then
        local want = fibmod(big(10)^18, 1000000007)
        assert.are.equal(want:tointeger(), g(math.floor(10^18), 1000000007))
        assert.are.equal(want:tointeger() - 1000000007 + (want:sign() == 0 and 1000000007 or 0),
          g(math.floor(10^18), -1000000007))
      end
      -- LuaJIT counts a float loop below 2^53 only
      local n = LUA54 and math.floor(10^18) or 2^52
      assert.is_true(cpm.eq(fibmod(big(n), big(1000000007)), g(n, big(1000000007))))
      if not LUA54 then
        assert.are.equal(fibmod(big(n), 1000000007):tonumber(), g(n, 1000000007))
      end
      agree(fib, optimize(fib), { 1000, 1000000007.0 }, "a float modulus")
    end)

    it("follows Lua's floored '%', m = 0, floats and wrapping products", function()
      local f = compile [[
        return function(n, m, x, a, b)
          for _ = 1, n do x = (a * x + b) % m end
          return x
        end]]
      local g = optimize(f)
      local cases = {
        { 1000, 1000000007, 5, 3, 7 }, { 1000, -2147483648, 5, 3, 7 },
        { 1000, -7, 10^6, -3, 7 }, { 1000, 97, -10^6, 3, -7 },
        { 1000, 4611686018427387847, 5, 3, 7 },   -- a * x wraps: as written
        { 1000, 3037000493, 5, 3037000000, 7 },    -- at the edge of 2^63
        { 1000, 0, 5, 3, 7 }, { 1000, big(10)^30 + 57, 5, 3, 7 },
        { 1000, big(-97), big(10)^40, 3, 7 }, { 1000, 1000000007.0, 5.0, 3.0, 7.0 },
        { 1000, 7.5, 5.0, 3.0, 7.0 }, { 1000, 2^53 + 2.0, 5.0, 3.0, 7.0 },
      }
      for _, c in ipairs(cases) do
        local args = { n = 5 }
        for i = 1, 5 do args[i] = LUA54 and c[i] or (type(c[i]) == "number" and c[i] + 0.0 or c[i]) end
        agree(f, g, args, "x = (a*x + b) % " .. tostring(c[2]))
      end
      local h = compile [[
        return function(n, m, r)
          for _ = 1, n do r = r * 3 % m end
          return r
        end]]
      local gh = optimize(h, { strict = true })
      if LUA54 then
        assert.are.equal(math.ult(0, 1) and h(200, 1000003, -5), gh(200, 1000003, -5))
      end
      assert.is_true(cpm.eq(big(3):pow(100000) % big(1000003) * 2 % big(1000003),
        gh(100000, big(1000003), big(2))))
    end)

    it("refuses a mix of rings and growing degrees, with the reason", function()
      local f = compile [[
        return function(n, m, s, x)
          for i = 1, n do x = (x + i) % m; s = s + x end
          return s, x
        end]]
      assert.matches("not reduced modulo the same value as the others %(a mix of rings%)", explain(f))
      agree(f, optimize(f), { 300, 97, 0, 5 }, "mix of rings")
      local g = compile [[
        return function(n, m, p, x)
          for i = 1, n do x = (x + i) % m; p = (p * 2) % (m + 1) end
          return p, x
        end]]
      assert.matches("reductions modulo different values", explain(g))
      local h = compile [[
        return function(n, m, x)
          for i = 1, n do x = x * x % m end
          return x
        end]]
      assert.matches("degree grows", explain(h))
      agree(h, optimize(h), { 300, 1000003, 5 }, "squaring modulo m")
    end)

    it("agrees with the original on random modular bodies and inputs", function()
      local seed = tonumber(os.getenv("CPM_SEED")) or os.time()
      local gen = reachgen.new { seed = seed, lua54 = LUA54 }
      local kinds = LUA54 and { "int", "float", "big", "mixed" } or { "float", "big", "mixed" }
      local nfun, noptim = 0, 0
      for case = 1, 250 do
        local src, nv = gen:modfunc()
        local f = compile(src)
        local g, g2 = optimize(f), optimize(f, { iters_limit = 2 })
        nfun = nfun + 1
        if explain(f):find("loop optimized", 1, true) then noptim = noptim + 1 end
        for _ = 1, 6 do
          local kind = kinds[math.random(#kinds)]
          local args = gen:modargs(kind, nv)
          local shown = {}
          for i = 1, args.n do shown[i] = tostring(args[i]) end
          local where = ("seed %d case %d (%s)\n%s\nargs: %s"):format(seed, case, kind, src,
            table.concat(shown, ", "))
          agree(f, g, args, where)
          agree(f, g2, args, where .. "\n(iters_limit = 2)")
        end
      end
      assert(noptim > nfun * 0.6, ("only %d of %d functions optimized"):format(noptim, nfun))
    end)
  end)
end
