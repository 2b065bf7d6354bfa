-- Loop bodies of xor, shifts, rotations and masks over Lua 5.4 integers:
-- computed over GF(2) (src/core/plan_gf2.c, guard_gf2.c, mat_gf2.c).
-- Differential against the loops as written, through every front end;
-- 10^18 iterations against a reference jump by another method.
local cpm = require "cpm"
local agree = require("agree").agree

if jit then
  describe("bitwise loops on LuaJIT", function()
    it("are the bit library's (spec/gf2jit_spec.lua)", function()
      local bit = require "bit"
      local f = function(x, n)
        for _ = 1, n do x = bit.bxor(x, bit.lshift(x, 3)) end
        return x
      end
      assert.matches("loop optimized", cpm.explain(f))
      assert.are.equal(f(5, 1000), cpm.optimize(f)(5, 1000))
    end)
    it("a GF(2) plan given to the guard runs the loop", function()
      local core = require "cpm.core"
      local p = assert(core._plan { kind = "fornum", line = 1, nslots = 2,
        liveout = { 1 }, ops = { { "shl", 0, 1, { k = 3 } }, { "bxor", 1, 1, 0 } } })
      local ok, why = core._guard(p, 2)(1, 1000, 1, 5)
      assert.is_false(ok)
      assert.matches("Lua 5.4 integers", why)
    end)
  end)
  return
end

local ref = require "gf2ref"

local frontends = { "bytecode" }
if pcall(require, "cpm.source") then frontends[#frontends + 1] = "source" end

local XORSHIFT = [[
return function(x, n)
  for _ = 1, n do
    x = x ~ (x << 13); x = x ~ (x >> 7); x = x ~ (x << 17)
  end
  return x
end]]

local XOSHIRO = [[
return function(s0, s1, s2, s3, n)
  for _ = 1, n do
    local t = s1 << 17
    s2 = s2 ~ s0; s3 = s3 ~ s1; s1 = s1 ~ s2; s0 = s0 ~ s3
    s2 = s2 ~ t
    s3 = (s3 << 45) | (s3 >> 19)
  end
  return s0, s1, s2, s3
end]]

local function compile(text, frontend)
  return assert(load(text, frontend == "source" and text or "=gf2"))()
end

local function randint() return math.random(math.mininteger, math.maxinteger) end

-- an argument of a bitwise operation: mostly integers, sometimes floats
-- with integral values (converted), floats with a fraction, strings and
-- tables (Lua raises: the loop must run as written)
local function operand(rng, lo, hi)
  local r = rng(20)
  if r == 1 then return (rng(lo, hi) + 0.0) end
  if r == 2 then return rng(lo, hi) + 0.5 end
  if r == 3 then return tostring(rng(lo, hi)) end
  if r == 4 then return {} end
  return rng(lo, hi)
end

for _, frontend in ipairs(frontends) do
  local function optimize(f, o)
    local oo = { frontend = frontend }
    for k, v in pairs(o or {}) do oo[k] = v end
    return cpm.optimize(f, oo)
  end

  describe("bitwise loops through the " .. frontend .. " front end", function()
    it("computes xorshift64 (Marsaglia's first output, and many counts)", function()
      local f = compile(XORSHIFT, frontend)
      local g = optimize(f)
      assert.matches("loop optimized", cpm.explain(f, { frontend = frontend }))
      assert.are.equal(8748534153485358512, f(88172645463325252, 1))
      for n = 60, 400, 7 do
        agree(f, g, { 88172645463325252, n }, "xorshift64 n = " .. n)
      end
    end)

    it("jumps xorshift64 and xoshiro256 by 10^18, as a bit-matrix power does", function()
      local f = compile(XORSHIFT, frontend)
      local step = function(x) return f(x, 1) end
      local n = 1000000000000000000
      local x = randint()
      local got = optimize(f)(x, n)
      assert.are.equal(ref.jump(step, { x }, n), got)
      assert.are.equal("integer", math.type(got))
      local h = compile(XOSHIRO, frontend)
      local s = { randint(), randint(), randint(), randint() }
      local want = { ref.jump(function(a, b, c, d) return h(a, b, c, d, 1) end, s, n) }
      s[5] = n
      local res = { optimize(h)(table.unpack(s)) }
      for i = 1, 4 do assert.are.equal(want[i], res[i]) end
    end)

    it("recomputes when the polynomial kept from a call does not fit the next state", function()
      local f = compile(XORSHIFT, frontend)
      local g = optimize(f)
      local step = function(x) return f(x, 1) end
      local n = 123456789012345
      -- state 0 is a fixed point: its polynomial (degree 1) annihilates no other state
      assert.are.equal(0, g(0, n))
      local x = randint()
      assert.are.equal(ref.jump(step, { x }, n), g(x, n))
      assert.are.equal(0, g(0, n))
      assert.are.equal(ref.jump(step, { x + 1 }, n + 1), g(x + 1, n + 1))
    end)

    it("computes a bitwise body with a branch on an invariant, either arm", function()
      local f = compile([[
return function(x, n, flag, c)
  for _ = 1, n do
    if flag then x = x ~ (x << 13) else x = x ~ (x >> c) end
    x = x ~ (x >> 7); x = x ~ (x << 17)
  end
  return x
end]], frontend)
      local g = optimize(f, { strict = true })
      for _, args in ipairs { { 5, 1000, true, 3 }, { 5, 1000, false, 3 },
                              { randint(), 777, false, 9 }, { randint(), 777, true, 9 } } do
        agree(f, g, args, "branch " .. tostring(args[3]))
      end
    end)

    it("jumping by n then stepping once equals stepping once then jumping", function()
      local h = compile(XOSHIRO, frontend)
      local g = optimize(h)
      for _ = 1, 5 do
        local n = math.random(100, 1099511627776)
        local s = { randint(), randint(), randint(), randint() }
        local a = { g(s[1], s[2], s[3], s[4], n) }  -- n, then 1
        a = { h(a[1], a[2], a[3], a[4], 1) }
        local b = { h(s[1], s[2], s[3], s[4], 1) }  -- 1, then n
        b = { g(b[1], b[2], b[3], b[4], n) }
        for i = 1, 4 do assert.are.equal(a[i], b[i]) end
      end
    end)

    it("computes, not only falls back: strict mode on integer arguments", function()
      math.randomseed(os.time())
      local rng = math.random
      local computed, total = 0, 0
      for _ = 1, 60 do
        local k = rng(4)
        local f = compile(ref.body(rng, k), frontend)
        local g = optimize(f, { strict = true, iters_limit = 2 })
        local args = {}
        for i = 1, k do args[i] = randint() end
        args[k + 1] = rng(2, 500)
        args[k + 2], args[k + 3] = randint(), rng(-1000, 1000)
        args[k + 4], args[k + 5] = rng(-70, 70), rng(-70, 70)
        total = total + 1
        local ok, err = pcall(g, table.unpack(args, 1, k + 5))
        if ok then
          computed = computed + 1
          agree(f, g, args, "strict")
        else
          assert.matches("'&' or '|' of two loop%-carried values that overlap", err)
        end
      end
      assert(computed > total * 0.7, ("computed %d of %d"):format(computed, total))
    end)

    it("computes a generic for over cpm.range with a bignum count", function()
      local f = compile([[
return function(x, n)
  for _ in require("cpm").range(n) do
    x = x ~ (x << 13); x = x ~ (x >> 7); x = x ~ (x << 17)
  end
  return x
end]], frontend)
      local g = optimize(f, { strict = true })
      local step = function(x) return f(x, 1) end
      -- 2^64 - 1 steps: the state's period, so x comes back
      local n = cpm.big(2) ^ 64 - 1
      assert.are.equal(88172645463325252, g(88172645463325252, n))
      assert.are.equal(ref.jump(step, { 5 }, 4611686018427387904), g(5, cpm.big(2) ^ 62))
    end)

    it("refuses a body mixing + and ~ on the same value, with the reason", function()
      local f = compile("return function(x, n) for _ = 1, n do x = (x ~ (x << 3)) + 1 end return x end", frontend)
      assert.matches("mix of arithmetic and bitwise operations on a loop%-carried value",
        cpm.explain(f, { frontend = frontend }))
      local f2 = compile("return function(x, n, c) for _ = 1, n do x = x ~ (x << c); c = c ~ x end return x end", frontend)
      assert.matches("shift count that changes in the loop",
        cpm.explain(f2, { frontend = frontend }))
    end)

    it("agrees on later calls with the same invariants (the kept terms and tables)", function()
      -- from the second call with the same masks and counts the guard
      -- computes the body from terms or tables it made once
      -- (src/core/guard_gf2.c): each body called again and again
      local seed = os.time()
      math.randomseed(seed)
      local rng = math.random
      for case = 1, 60 do
        local k = rng(4)
        local text = ref.body(rng, k)
        local f = compile(text, frontend)
        local g = optimize(f, { iters_limit = 2 })
        local inv = { randint(), rng(-1000, 1000), rng(-70, 70), rng(-70, 70) }
        for call = 1, 6 do
          local args = {}
          for i = 1, k do args[i] = randint() end
          args[k + 1] = ({ 1, 2, 3, 64, 1000, 123457 })[call]
          for i = 1, 4 do args[k + 1 + i] = inv[i] end
          args.n = k + 5
          agree(f, g, args, ("seed %d case %d call %d\n%s"):format(seed, case, call, text))
        end
      end
      -- xorshift64, whose body is 4 ops: many calls, and a jump by 10^18
      -- as two jumps
      local f = compile(XORSHIFT, frontend)
      local g = optimize(f, { strict = true })
      for _ = 1, 20 do
        local x, n = randint(), math.random(1, 1000)
        assert.are.equal(f(x, n), g(x, n))
      end
      local x = randint()
      assert.are.equal(g(g(x, 500000000000000000), 500000000000000000), g(x, 1000000000000000000))
    end)

    it("agrees with the original on random xor/shift/rotate/mask bodies", function()
      local seed = os.time()
      math.randomseed(seed)
      local rng = math.random
      local nopt = 0
      for case = 1, 150 do
        local k = rng(4)
        local text = ref.body(rng, k)
        local f = compile(text, frontend)
        local g, g2 = optimize(f), optimize(f, { iters_limit = 2 })
        if cpm.explain(f, { frontend = frontend }):find("loop optimized", 1, true) then
          nopt = nopt + 1
        end
        for _ = 1, 4 do
          local args = {}
          for i = 1, k do args[i] = rng(12) == 1 and operand(rng, -9, 9) or randint() end
          args[k + 1] = rng(0, 300)
          args[k + 2] = operand(rng, math.mininteger, math.maxinteger)
          args[k + 3] = operand(rng, -1000, 1000)
          args[k + 4] = operand(rng, -70, 70)
          args[k + 5] = operand(rng, -70, 70)
          args.n = k + 5
          local shown = {}
          for i = 1, args.n do shown[i] = tostring(args[i]) end
          local where = ("seed %d case %d\n%s\nargs: %s"):format(seed, case, text,
            table.concat(shown, ", "))
          agree(f, g, args, where)
          agree(f, g2, args, where .. "\n(iters_limit = 2)")
        end
      end
      assert(nopt > 100, ("only %d of 150 bodies optimized"):format(nopt))
    end)
  end)
end
