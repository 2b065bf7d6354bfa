-- The matrix-power engine (cpm.core._matpow, _matbits, _majorant) against
-- independent references in plain Lua: repeated multiplication with the
-- specs' reference integers (spec/support/refint.lua: the exact ring),
-- native wrapping integers (Z/2^64: Lua 5.4 integers, LuaJIT int64 cdata),
-- and identities such as B^(a+b) v = B^a (B^b v) where n is too large for
-- a loop.
local core = require "cpm.core"
local P = core._matpaths
local isjit = jit ~= nil

-- Exact integers: spec/support/refint.lua, given numbers (integers on
-- both VMs), decimal strings, cpm.big values or its own values.
local R = require "refint"
local Z = {}

function Z.new(x)
  if type(x) == "table" then return x end
  if type(x) == "number" then
    if math.type and math.type(x) == "integer" then return R.fromdec(tostring(x)) end
    return R.fromdec(string.format("%.0f", x))
  end
  return R.fromdec(tostring(x))
end

function Z.add(a, b) return R.add(Z.new(a), Z.new(b)) end
function Z.sub(a, b) return R.sub(Z.new(a), Z.new(b)) end
function Z.mul(a, b) return R.mul(Z.new(a), Z.new(b)) end
function Z.cmp(a, b) return R.cmp(Z.new(a), Z.new(b)) end
function Z.divsmall(a, d) return R.divexact(Z.new(a), d) end
function Z.str(a) return R.todec(Z.new(a)) end
function Z.bits(a) return R.bits(Z.new(a)) end

-- v := B v, n times (exact).
local function naive(B, v, n)
  local k = #B
  local w = {}
  for i = 1, k do w[i] = Z.new(v[i]) end
  for _ = 1, n do
    local u = {}
    for i = 1, k do
      local s = Z.new(0)
      for j = 1, k do
        if B[i][j] ~= 0 then s = Z.add(s, Z.mul(B[i][j], w[j])) end
      end
      u[i] = s
    end
    w = u
  end
  local out = {}
  for i = 1, k do out[i] = Z.str(w[i]) end
  return out
end

-- Z/2^64 reference: native integers on Lua 5.4, int64 cdata on LuaJIT;
-- results as decimal strings of the signed value.
local u64, u64str
if isjit then
  local ffi = require "ffi"
  u64 = function(x) return ffi.new("int64_t", x) end
  u64str = function(x) return (tostring(x):gsub("LL$", "")) end
else
  u64 = function(x) return math.tointeger(x) end
  u64str = function(x) return tostring(x) end
end

local function naive64(B, v, n)
  local k = #B
  local w = {}
  for i = 1, k do w[i] = u64(v[i]) end
  for _ = 1, n do
    local u = {}
    for i = 1, k do
      local s = u64(0)
      for j = 1, k do s = s + u64(B[i][j]) * w[j] end
      u[i] = s
    end
    w = u
  end
  for i = 1, k do w[i] = u64str(w[i]) end
  return w
end

local function strs(t)
  local r = {}
  for i = 1, #t do r[i] = tostring(t[i]) end
  return r
end

local function has(info, path)
  return info.paths % (2 * path) >= path
end

local function randmat(k, lo, hi)
  local B = {}
  for i = 1, k do
    B[i] = {}
    for j = 1, k do B[i][j] = math.random(lo, hi) end
  end
  return B
end

local function randvec(k, lo, hi)
  local v = {}
  for i = 1, k do v[i] = math.random(lo, hi) end
  return v
end

-- A random loop as the optimizer writes it: m carried variables, sparse
-- rows, then (with 'index') a counter i += 1, then the constant row.
local function randloop(m, index, density)
  local k = m + (index and 2 or 1)
  local B = {}
  for i = 1, k do
    B[i] = {}
    for j = 1, k do
      B[i][j] = (i <= m and math.random() < density) and math.random(-3, 3) or 0
    end
  end
  if index then B[k - 1][k - 1], B[k - 1][k] = 1, 1 end
  B[k][k] = 1
  local v = randvec(k, -50, 50)
  v[k] = 1
  return B, v
end

-- B^(a+b) v computed as B^a (B^b v) by the engine.
local function split(ring, B, v, a, b)
  local w = core._matpow(ring, B, v, b)
  return core._matpow(ring, B, w, a)
end

describe("matrix power in Z/2^64", function()
  math.randomseed(1234)

  it("leaves v unchanged for n = 0", function()
    local r = core._matpow("u64", { { 3, 1 }, { 4, 1 } }, { 5, -6 }, 0)
    assert.are.same({ "5", "-6" }, strs(r))
  end)

  it("matches repeated multiplication, wrapping included, for k = 1..8", function()
    for k = 1, 8 do
      for _, n in ipairs({ 1, 2, 3, 7, 8, 15, 16, 17, 63, 64, 65, 200 }) do
        local B = randmat(k, -1000000, 1000000)
        local v = randvec(k, -1000000, 1000000)
        assert.are.same(naive64(B, v, n), strs(core._matpow("u64", B, v, n)))
      end
    end
  end)

  it("matches repeated multiplication for affine maps (constant last row)", function()
    for k = 2, 9 do
      for _, n in ipairs({ 1, 2, 5, 64, 129 }) do
        local B = randmat(k, -1000000, 1000000)
        for j = 1, k do B[k][j] = 0 end
        B[k][k] = 1
        local v = randvec(k, -1000000, 1000000)
        v[k] = 1
        assert.are.same(naive64(B, v, n), strs(core._matpow("u64", B, v, n)))
        v[k] = 7  -- the engine must not assume the constant is 1
        assert.are.same(naive64(B, v, n), strs(core._matpow("u64", B, v, n)))
      end
    end
  end)

  it("matches repeated multiplication for k up to 64", function()
    for _, k in ipairs({ 9, 16, 31, 64 }) do
      local B = randmat(k, -50, 50)
      local v = randvec(k, -50, 50)
      assert.are.same(naive64(B, v, 37), strs(core._matpow("u64", B, v, 37)))
    end
  end)

  -- Matrices that stress the Hessenberg reduction over Z/2^64: pivots of
  -- every 2-adic valuation, zero columns, nilpotent, permutation and rank-1
  -- matrices.
  local shapes = {
    function() return math.random(-9, 9) end,
    function() return math.random(-99, 99) * 2 ^ math.random(1, 20) end,
    function() return math.random(-99, 99) * 2 ^ math.random(0, 30) end,
    function() return math.random() < 0.8 and 0 or math.random(-5, 5) end,
    function() return 0 end,
    function(i, j) return j > i and math.random(-9, 9) or 0 end,
    "perm", "rank1",
  }
  local function shaped(k, sh)
    local B = {}
    local p, u, w = {}, randvec(k, -7, 7), randvec(k, -7, 7)
    for i = 1, k do p[i] = i end
    for i = k, 2, -1 do local j = math.random(i); p[i], p[j] = p[j], p[i] end
    for i = 1, k do
      B[i] = {}
      for j = 1, k do
        if sh == "perm" then B[i][j] = p[i] == j and 1 or 0
        elseif sh == "rank1" then B[i][j] = u[i] * w[j] * 4
        else B[i][j] = sh(i, j) end
      end
    end
    return B
  end

  it("matches repeated multiplication for every size 1..64 and structured matrices", function()
    local ks = {}
    for k = 1, 12 do ks[#ks + 1] = k end
    for _, k in ipairs({ 16, 17, 31, 32, 33, 48, 63, 64 }) do ks[#ks + 1] = k end
    for _, k in ipairs(ks) do
      local ns = k <= 12 and { 0, 1, 2, 3, k - 1, k, k + 1, 2 * k + 1 } or { k + 1 }
      for si, sh in ipairs(shapes) do
        if k <= 12 or si == math.random(#shapes) or si == 2 then
          local B, v = shaped(k, sh), randvec(k, -1000, 1000)
          for _, n in ipairs(ns) do
            assert.are.same(naive64(B, v, n), strs(core._matpow("u64", B, v, n)))
          end
        end
      end
    end
  end)

  it("satisfies B^(a+b) v = B^a (B^b v) for structured matrices of every size", function()
    for _, k in ipairs({ 4, 5, 7, 8, 13, 32, 60, 64 }) do
      for _, sh in ipairs(shapes) do
        local B, v = shaped(k, sh), randvec(k, -1000, 1000)
        assert.are.same(strs(split("u64", B, v, "999999999999999999", "1")),
                        strs(core._matpow("u64", B, v, "1000000000000000000")))
        assert.are.same(strs(split("u64", B, v, "18446744073709551616", "18446744073709551615")),
                        strs(core._matpow("u64", B, v, "36893488147419103231")))
      end
    end
  end)

  it("satisfies B^(a+b) v = B^a (B^b v) for n around 10^18 and beyond 2^64", function()
    for k = 1, 5 do
      local B = randmat(k, -9, 9)
      local v = randvec(k, -9, 9)
      assert.are.same(strs(split("u64", B, v, "999999999999999999", "1")),
                      strs(core._matpow("u64", B, v, "1000000000000000000")))
      assert.are.same(strs(split("u64", B, v, "18446744073709551616", "18446744073709551615")),
                      strs(core._matpow("u64", B, v, "36893488147419103231")))
    end
  end)

  it("writes the result over its input when asked to (aliasing)", function()
    local B, v = randmat(4, -99, 99), randvec(4, -99, 99)
    assert.are.same(strs(core._matpow("u64", B, v, 1000)),
                    strs(core._matpow("u64", B, v, 1000, true)))
  end)
end)

describe("exact matrix power", function()
  math.randomseed(4321)

  local function check_naive(B, v, n, path)
    local r, info = core._matpow("z", B, v, n)
    assert.are.same(naive(B, v, n), r)
    if path then assert.is_true(has(info, path), "path not taken") end
    return info
  end

  it("leaves v unchanged for n = 0", function()
    local r = core._matpow("z", { { 3, 1 }, { 4, 1 } }, { "123456789012345678901234567890", -6 }, 0)
    assert.are.same({ "123456789012345678901234567890", "-6" }, r)
  end)

  it("computes a 1 x 1 loop as a power, for a in -3..3", function()
    for a = -3, 3 do
      for _, n in ipairs({ 1, 2, 5, 64, 101 }) do
        check_naive({ { a } }, { 7 }, n, P.power)
      end
    end
  end)

  it("takes the closed form of x -> a x + b (constant row stripped)", function()
    for _, a in ipairs({ -3, -1, 0, 2, 5 }) do
      for _, n in ipairs({ 1, 2, 9, 70 }) do
        check_naive({ { a, 11 }, { 0, 1 } }, { -4, 1 }, n, P.sources)
      end
    end
  end)

  it("sums binomials for a unipotent chain, also for n = 10^100", function()
    -- res += step2; step2 += step1; step1 += 1 (with the constant row)
    local B = { { 1, 1, 0, 0 }, { 0, 1, 1, 0 }, { 0, 0, 1, 1 }, { 0, 0, 0, 1 } }
    local v = { 5, -3, 2, 1 }
    for _, n in ipairs({ 1, 2, 3, 10, 100 }) do check_naive(B, v, n, P.unipotent) end
    local n = "1" .. string.rep("0", 100)
    local r, info = core._matpow("z", B, v, n)
    assert.is_true(has(info, P.unipotent))
    local c1 = Z.new(n)
    local c2 = Z.divsmall(Z.mul(c1, Z.sub(c1, 1)), 2)
    local c3 = Z.divsmall(Z.mul(c2, Z.sub(c1, 2)), 3)
    -- step1 = 2 + n; step2 = -3 + 2n + C(n,2); res = 5 - 3n + 2 C(n,2) + C(n,3)
    assert.are.equal(Z.str(Z.add(2, c1)), r[3])
    assert.are.equal(Z.str(Z.add(Z.add(-3, Z.mul(2, c1)), c2)), r[2])
    assert.are.equal(Z.str(Z.add(Z.add(Z.add(5, Z.mul(-3, c1)), Z.mul(2, c2)), c3)), r[1])
  end)

  it("computes Fibonacci through the Lucas doubling, with and without the constant row", function()
    local info = check_naive({ { 0, 1, 0 }, { 1, 1, 0 }, { 0, 0, 1 } }, { 0, 1, 1 }, 300, P.lucas)
    assert.are.equal(2, info.ncomp)
    for _, n in ipairs({ 1, 2, 3, 4, 31, 32, 33, 255, 256 }) do
      check_naive({ { 0, 1 }, { 1, 1 } }, { 0, 1 }, n, P.lucas)
    end
  end)

  it("takes the Lucas doubling for every 2 x 2 with determinant +-1 and a nonzero trace", function()
    for _, B in ipairs({ { { 2, 1 }, { 1, 0 } }, { { 3, 1 }, { -1, 0 } }, { { -1, 1 }, { 1, 0 } },
                         { { 2, 3 }, { 1, 2 } }, { { 5, -2 }, { 2, -1 } } }) do
      for _, n in ipairs({ 1, 2, 3, 10, 11, 64, 97 }) do
        check_naive(B, { 3, -7 }, n, P.lucas)
      end
    end
  end)

  -- B^n v against w (the iteration's values) by the Lucas path: both
  -- outputs, then each alone.
  local function check_lucas(B, v, n, w, where)
    local want = { Z.str(w[1]), Z.str(w[2]) }
    local r, info = core._matpow("z", B, v, n)
    assert.are.same(want, r, where)
    assert.is_true(has(info, P.lucas))
    for i = 1, 2 do
      local ri = core._matpow("z", B, v, n, false, { i == 1, i == 2 })
      assert.are.equal(want[i], ri[i], where .. ", output " .. i)
    end
  end

  -- The first doubling steps run in machine integers while the numbers
  -- are small (|p| <= 15, below 2^22), the rest in GMP: every trace
  -- around that bound, both signs of q, n past the switch and n where the
  -- numbers never leave it (p = +-2, q = -1: U_m = +-m; p = +-1, q = -1:
  -- period 6), each output alone and both.
  it("takes the Lucas doubling's first steps in machine integers as GMP would", function()
    local ns = { [4] = true, [5] = true, [6] = true, [7] = true, [9] = true, [12] = true,
                 [31] = true, [32] = true, [33] = true, [47] = true, [64] = true, [65] = true,
                 [97] = true, [128] = true, [129] = true, [200] = true, [1000] = true, [1001] = true }
    for p = -17, 17 do
      for _, q in ipairs { 1, -1 } do
        if p ~= 0 then
          local B, v = { { p, q }, { 1, 0 } }, { 3, -2 }
          local w = { Z.new(v[1]), Z.new(v[2]) }
          -- (n = 1000 and 1001 only where the numbers stay small)
          for n = 1, (p * p <= 4 and q < 0) and 1001 or 200 do
            w = { Z.add(Z.mul(p, w[1]), Z.mul(q, w[2])), w[1] }
            if ns[n] then
              check_lucas(B, v, n, w, ("p = %d, q = %d, n = %d"):format(p, q, n))
            end
          end
        end
      end
    end
  end)

  -- chi = x^2 -+ x - 1 (Fibonacci and its alternating twin) is left to
  -- GMP's Fibonacci numbers: the start vectors make each output alone the
  -- multiple of U_(n-1), U_n or U_(n+1), and both outputs together the
  -- pair; n of both parities, a scaled start for the multiplier.
  it("computes x^2 -+ x - 1 through GMP's Fibonacci numbers, each output alone and both", function()
    for _, p in ipairs { 1, -1 } do
      local B = { { p, 1 }, { 1, 0 } }
      for _, v in ipairs { { 1, 0 }, { 0, 1 }, { -3, 0 }, { 0, 5 }, { 2, -7 } } do
        local w = { Z.new(v[1]), Z.new(v[2]) }
        for n = 1, 1001 do
          w = { Z.add(Z.mul(p, w[1]), w[2]), w[1] }
          if n <= 9 or n == 100 or n == 101 or n == 1000 or n == 1001 then
            check_lucas(B, v, n, w, ("p = %d, v = (%d, %d), n = %d"):format(p, v[1], v[2], n))
          end
        end
      end
    end
  end)

  -- A random 2 x 2 with determinant +-1: a product of shears, swaps and
  -- sign flips.
  local function unimodular2()
    local M = { { 1, 0 }, { 0, 1 } }
    for _ = 1, math.random(1, 6) do
      local a, r = math.random(-3, 3), math.random(4)
      local E = r == 1 and { { 1, a }, { 0, 1 } } or r == 2 and { { 1, 0 }, { a, 1 } }
                or r == 3 and { { 0, 1 }, { 1, 0 } } or { { -1, 0 }, { 0, 1 } }
      M = { { M[1][1] * E[1][1] + M[1][2] * E[2][1], M[1][1] * E[1][2] + M[1][2] * E[2][2] },
            { M[2][1] * E[1][1] + M[2][2] * E[2][1], M[2][1] * E[1][2] + M[2][2] * E[2][2] } }
    end
    return M
  end

  it("computes only the wanted outputs of a Lucas doubling, each as the full power does", function()
    local seen = 0
    for _ = 1, 60 do
      local B = unimodular2()
      local v = randvec(2, -9, 9)
      if math.random(3) == 1 then v[math.random(2)] = 0 end
      local Bk, vk = B, v
      if math.random(2) == 1 then  -- with the constant row, as the optimizer writes it
        Bk = { { B[1][1], B[1][2], 0 }, { B[2][1], B[2][2], 0 }, { 0, 0, 1 } }
        vk = { v[1], v[2], 1 }
      end
      for _, n in ipairs({ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17, 31, 40, 63, 64, 65 }) do
        local ref = naive(Bk, vk, n)
        for mask = 1, 2 ^ #Bk - 1 do
          local need, want = {}, {}
          for i = 1, #Bk do
            need[i] = math.floor(mask / 2 ^ (i - 1)) % 2 == 1
            want[i] = need[i] and ref[i] or "0"
          end
          local r, info = core._matpow("z", Bk, vk, n, false, need)
          assert.are.same(want, r)
          assert.is_true(info.maxbits <= info.bound)
          if has(info, P.lucas) then seen = seen + 1 end
        end
      end
      local full = core._matpow("z", Bk, vk, 1000)
      for i = 1, #Bk do
        local need = {}
        need[i] = true
        local r = core._matpow("z", Bk, vk, 1000, false, need)
        assert.are.equal(full[i], r[i])
      end
    end
    assert.is_true(seen > 0)
  end)

  it("computes only the wanted outputs on every path, each as the full power does", function()
    local cases = {}
    for k = 1, 8 do
      cases[#cases + 1] = { randmat(k, -4, 4), randvec(k, -30, 30) }
      cases[#cases + 1] = { randloop(k, math.random(2) == 1, 0.6) }
    end
    cases[#cases + 1] = { randmat(4, 0, 0), randvec(4, -3, 3) }               -- zero matrix
    cases[#cases + 1] = { { { 1, 2, 3 }, { 2, 4, 6 }, { 1, 1, 1 } }, { 5, -1, 2 } }  -- singular
    cases[#cases + 1] = { { { 0, 1, 0 }, { 0, 0, 1 }, { 0, 0, 0 } }, { 1, 2, 3 } }  -- nilpotent
    cases[#cases + 1] = { { { 2, 1 }, { 1, 3 } }, { "123456789012345678901234567890123", -7 } }
    for _, cs in ipairs(cases) do
      local B, v = cs[1], cs[2]
      local k = #B
      for _, n in ipairs({ 0, 1, 2, 3, 4, 5, 8, 13, 40, 41 }) do
        local ref = naive(B, v, n)
        for _ = 1, 4 do
          local need, want, any = {}, {}, false
          for i = 1, k do
            need[i] = math.random(3) == 1
            any = any or need[i]
          end
          if not any then need[math.random(k)] = true end
          for i = 1, k do want[i] = need[i] and ref[i] or "0" end
          local r, info = core._matpow("z", B, v, n, false, need)
          assert.are.same(want, r)
          assert.is_true(info.maxbits <= info.bound)
        end
      end
      local full = core._matpow("z", B, v, 3000)
      for i = 1, k do
        local need = {}
        need[i] = true
        local r, info = core._matpow("z", B, v, 3000, false, need)
        assert.are.equal(full[i], r[i])
        assert.is_true(info.maxbits <= info.bound)
      end
    end
  end)

  it("gives each output of a large power alone as the full power does (quadratic form)", function()
    -- x^(n/2) mod chi has coefficients above 32768 bits here
    for k = 2, 8 do
      for _, B in ipairs({ randmat(k, -4, 4), (randloop(k, true, 0.7)) }) do
        local kk = #B
        B[1][1] = 5
        local v = randvec(kk, -20, 20)
        if kk > k then v[kk] = 1 end
        local n = 50001
        local full, finfo = core._matpow("z", B, v, n)
        for i = 1, kk do
          local need = {}
          need[i] = true
          local r, info = core._matpow("z", B, v, n, false, need)
          assert.are.equal(full[i], r[i])
          assert.is_true(info.maxbits <= info.bound)
        end
        assert.is_true(finfo.maxbits <= finfo.bound)
      end
    end
  end)

  it("matches repeated multiplication for random dense matrices, k = 2..8", function()
    for k = 2, 8 do
      for _, n in ipairs({ 1, 2, 3, 7, 16, 33 }) do
        check_naive(randmat(k, -5, 5), randvec(k, -20, 20), n)
      end
      local B = randmat(k, -3, 3)
      B[1][1] = 2  -- keep it off the unipotent path
      check_naive(B, randvec(k, -9, 9), 40, k > 2 and P.charpoly or nil)
    end
  end)

  it("matches repeated multiplication for larger dense matrices (Kronecker squarings)", function()
    for _, k in ipairs({ 8, 12, 20 }) do
      local B = randmat(k, -3, 3)
      B[1][1] = 2
      check_naive(B, randvec(k, -9, 9), 25, P.charpoly)
    end
  end)

  it("handles big entries and big initial values", function()
    local big = "-98765432109876543210987654321"
    check_naive({ { big, 3, 0 }, { 1, 1, 0 }, { 0, 2, "12345678901234567890" } },
                { big, 1, "55555555555555555555" }, 9)
  end)

  it("strips the index and constant rows of a 3-term recurrence", function()
    -- cur = 7*(2*p1 + 3*p2) + 4*p3 + 5*i + 6; p3, p2, p1 = p2, p1, cur; i += 1
    local B = { { 14, 21, 4, 5, 6 }, { 1, 0, 0, 0, 0 }, { 0, 1, 0, 0, 0 },
                { 0, 0, 0, 1, 1 }, { 0, 0, 0, 0, 1 } }
    for _, n in ipairs({ 1, 2, 3, 20, 65 }) do
      check_naive(B, { 1, 2, 3, 4, 1 }, n, P.sources)
    end
    local _, info = core._matpow("z", B, { 1, 2, 3, 4, 1 }, 65)
    assert.is_true(has(info, P.charpoly))  -- the 3 x 3 rest
  end)

  it("handles triangular, nilpotent and decoupled blocks", function()
    check_naive({ { 2, 1, 0 }, { 0, 3, 1 }, { 0, 0, 1 } }, { 1, 1, 1 }, 30)
    check_naive({ { 0, 1, 0 }, { 0, 0, 1 }, { 0, 0, 0 } }, { 4, 5, 6 }, 1)
    check_naive({ { 0, 1, 0 }, { 0, 0, 1 }, { 0, 0, 0 } }, { 4, 5, 6 }, 2)
    check_naive({ { 0, 1, 0 }, { 0, 0, 1 }, { 0, 0, 0 } }, { 4, 5, 6 }, 3)
    check_naive({ { 0, 1, 0 }, { 0, 0, 1 }, { 0, 0, 0 } }, { 4, 5, 6 }, 50)
    -- sum of Fibonacci numbers: an accumulator on a cycle (eigenvalue 1)
    check_naive({ { 1, 1, 0 }, { 0, 0, 1 }, { 0, 1, 1 } }, { 0, 0, 1 }, 90)
    -- two independent recurrences and a counter
    local B = { { 1, 1, 0, 0, 0 }, { 1, 0, 0, 0, 0 }, { 0, 0, 2, 0, 0 },
                { 0, 0, 0, 1, 1 }, { 0, 0, 0, 0, 1 } }
    local info = check_naive(B, { 1, 0, 3, 0, 1 }, 77)
    assert.are.equal(3, info.ncomp)
    -- x -> 2x + i, i -> i + 1: the sources path with two source rows
    check_naive({ { 2, 1, 0 }, { 0, 1, 1 }, { 0, 0, 1 } }, { 1, 0, 1 }, 40, P.sources)
    -- an accumulator of the index: unipotent although not a chain
    check_naive({ { 1, 1, 0, 0 }, { 0, 1, 1, 0 }, { 0, 0, 1, 0 }, { 0, 0, 0, 3 } },
                { 0, 0, 1, 1 }, 25)
  end)

  it("matches repeated multiplication for random loops with index and constant rows", function()
    local seen = 0
    for m = 1, 6 do
      for _, density in ipairs({ 0.3, 0.6, 1 }) do
        for _, index in ipairs({ false, true }) do
          local B, v = randloop(m, index, density)
          for _, n in ipairs({ 1, 2, 9, 40 }) do
            local info = check_naive(B, v, n)
            if has(info, P.sources) then seen = seen + 1 end
          end
        end
      end
    end
    assert.is_true(seen > 0)
  end)

  it("takes n = 10^18 and 10^30 for periodic matrices on every path", function()
    -- B^n v = B^(n mod period) v; the period is checked first.  The size
    -- bound sees |B|, not cancellations: the Lucas case (x^2 - x + 1, whose
    -- absolute companion grows like Fibonacci) stays at moderate n.
    local e18, e30 = "1000000000000000000", "1" .. string.rep("0", 30)
    local cases = {
      { { { 0, 1 }, { -1, 0 } }, 4, { [e18] = 0, [e30] = 0 }, P.charpoly },
      { { { 1, 1 }, { -1, 0 } }, 6, { [100003] = 1, [99998] = 2 }, P.lucas },
      { { { 0, 1, 0 }, { 0, 0, 1 }, { 1, 0, 0 } }, 3, { [e18] = 1, [e30] = 1 }, P.charpoly },
      { { { -1, 0 }, { 0, 1 } }, 2, { [e18] = 0, ["1" .. e18] = 0 }, P.power },
      { { { 0, 1, 0, 0 }, { -1, 0, 0, 5 }, { 0, 0, 1, 1 }, { 0, 0, 0, 1 } }, 4,
        { [e18] = 0, [e30] = 0 }, P.sources },
    }
    for _, c in ipairs(cases) do
      local B, period = c[1], c[2]
      local v = randvec(#B, -9, 9)
      if #B == 4 then v[4] = 1 end
      local p0, pp = naive(B, v, 0), naive(B, v, period)
      if #B == 4 then p0[3], pp[3] = nil, nil end
      assert.are.same(p0, pp)
      for n, rest in pairs(c[3]) do
        local r, info = core._matpow("z", B, v, n)
        local expect = naive(B, v, rest)
        if #B == 4 then  -- the counter i = i0 + n is not periodic
          expect[3] = Z.str(Z.add(v[3], n))
        end
        assert.are.same(expect, r)
        assert.is_true(has(info, c[4]))
      end
    end
  end)

  it("satisfies B^(a+b) v = B^a (B^b v) for random matrices and large n", function()
    for k = 1, 8 do
      local B = randmat(k, -2, 2)
      local v = randvec(k, -5, 5)
      for _, ab in ipairs({ { 1000, 24 }, { 511, 513 }, { 4096, 1 } }) do
        assert.are.same(split("z", B, v, ab[1], ab[2]),
                        (core._matpow("z", B, v, ab[1] + ab[2])))
      end
    end
  end)

  it("agrees with Z/2^64 modulo 2^64", function()
    for k = 1, 6 do
      local B, v = randmat(k, -30, 30), randvec(k, -30, 30)
      local z = core._matpow("z", B, v, 300)
      local w = strs(core._matpow("u64", B, v, 300))
      for i = 1, k do
        -- reduce the exact result to a signed 64-bit value
        local x = Z.new(z[i])
        local m = Z.new("18446744073709551616")
        -- x mod 2^64 by repeated subtraction of multiples is too slow; use
        -- the engine-free route: compare through (x - w) divisible by 2^64
        local d = Z.sub(x, w[i])
        local q = d
        for _ = 1, 64 do q = Z.divsmall(q, 2) end
        assert.are.equal(0, Z.cmp(Z.mul(q, m), d))
      end
    end
  end)

  it("writes the result over its input when asked to (aliasing)", function()
    for k = 1, 6 do
      local B, v = randmat(k, -9, 9), randvec(k, -9, 9)
      assert.are.same(core._matpow("z", B, v, 77), (core._matpow("z", B, v, 77, true)))
      assert.are.same(core._matpow("z", B, v, 77), (core._matpow("z", B, v, 77, "B")))
    end
  end)
end)

describe("polynomial squaring by evaluation and interpolation", function()
  math.randomseed(99)

  local function randbig(bits)
    local s = tostring(math.random(1, 9))
    for _ = 1, math.floor(bits * 0.30103) do s = s .. tostring(math.random(0, 9)) end
    if math.random(2) == 1 then s = "-" .. s end
    return s
  end

  it("gives the schoolbook square for 2 to 8 coefficients of every size and sign", function()
    for d = 2, 8 do
      for _ = 1, 12 do
        local a = {}
        for i = 1, d do
          local r = math.random(6)
          a[i] = r == 1 and "0" or randbig(({ 3, 60, 64, 200, 1000, 3000 })[math.random(6)])
        end
        local want = {}
        for m = 1, 2 * d - 1 do want[m] = Z.new(0) end
        for i = 1, d do
          for j = 1, d do want[i + j - 1] = Z.add(want[i + j - 1], Z.mul(a[i], a[j])) end
        end
        for m = 1, 2 * d - 1 do want[m] = Z.str(want[m]) end
        assert.are.same(want, core._toomsqr(a))
      end
    end
  end)

  it("is taken by the charpoly path once coefficients are large, consistently", function()
    -- coefficients of x^m mod chi pass 65536 bits near m = 20000 here
    for k = 4, 8 do
      local B = randmat(k, -5, 5)
      B[1][1] = 6
      local v = randvec(k, -9, 9)
      local n = 60000 + k
      local r, info = core._matpow("z", B, v, n)
      assert.is_true(has(info, P.charpoly))
      assert.is_true(info.maxbits <= info.bound)
      assert.are.same(r, split("z", B, v, n - 1, 1))
      assert.are.same(r, split("z", B, v, 20000, n - 20000))
    end
  end)
end)

describe("size bound", function()
  math.randomseed(99)

  it("is never below the size of any value created or returned", function()
    local cases = {
      { { { 0, 1 }, { 1, 1 } }, { 0, 1 } },
      { { { 0, 1, 0 }, { 1, 1, 0 }, { 0, 0, 1 } }, { 0, 1, 1 } },
      { { { 14, 21, 4, 5, 6 }, { 1, 0, 0, 0, 0 }, { 0, 1, 0, 0, 0 },
          { 0, 0, 0, 1, 1 }, { 0, 0, 0, 0, 1 } }, { 1, 2, 3, 4, 1 } },
      { { { 1, 1, 0, 0 }, { 0, 1, 1, 0 }, { 0, 0, 1, 1 }, { 0, 0, 0, 1 } }, { 5, -3, 2, 1 } },
      { { { -3 } }, { 1000 } },
      { { { 2, 7 }, { 0, 1 } }, { 3, 1 } },
    }
    for k = 1, 8 do cases[#cases + 1] = { randmat(k, -4, 4), randvec(k, -1000, 1000) } end
    for m = 1, 5 do
      for _, index in ipairs({ false, true }) do
        cases[#cases + 1] = { randloop(m, index, 0.5) }
      end
    end
    for _, c in ipairs(cases) do
      for _, n in ipairs({ 1, 2, 3, 17, 64, 1000, 4097 }) do
        local r, info = core._matpow("z", c[1], c[2], n)
        local bound = core._matbits(c[1], c[2], n)
        assert.are.equal(info.bound, bound)
        assert.is_true(info.maxbits <= bound, "created " .. info.maxbits .. " > " .. bound)
        for i = 1, #r do
          assert.is_true(Z.bits(r[i]) <= bound, r[i] .. " has more than " .. bound .. " bits")
        end
      end
    end
  end)

  it("stays within a small factor of the result for Fibonacci", function()
    local r = core._matpow("z", { { 0, 1 }, { 1, 1 } }, { 0, 1 }, 100000)
    local b = core._matbits({ { 0, 1 }, { 1, 1 } }, { 0, 1 }, 100000)
    local bits = #r[1] * math.log(10) / math.log(2)
    assert.is_true(b >= bits and b < 1.1 * bits)
  end)

  it("is finite for a unipotent loop of 10^1000 iterations", function()
    local B = { { 1, 1, 0 }, { 0, 1, 1 }, { 0, 0, 1 } }
    local b = core._matbits(B, { 0, 0, 1 }, "1" .. string.rep("0", 1000))
    assert.is_true(b > 2 * 3321 and b < 20000)
  end)

  it("is infinite (or above the limit) when the values cannot fit", function()
    assert.is_true(core._matbits({ { 2 } }, { 1 }, "1" .. string.rep("0", 30)) > 2^32)
    assert.has_error(function()
      core._matpow("z", { { 2 } }, { 1 }, "1" .. string.rep("0", 30))
    end, "cpm: matrix power too large (more than 4294967296 bits)")
  end)
end)

describe("majorant", function()
  math.randomseed(7)

  -- exact |B|^j |v| for j = 0..n, checked against the double bound
  local function check(A, v, n)
    local m = core._majorant(A, v, n)
    local k = #A
    local w = {}
    for i = 1, k do w[i] = Z.new(v[i]) end
    for j = 0, n do
      for i = 1, k do
        if m[i] ~= math.huge then
          local mi = Z.new(string.format("%.0f", math.ceil(m[i])))
          assert.is_true(Z.cmp(w[i], mi) <= 0,
            ("row %d, j = %d: %s > %s"):format(i, j, Z.str(w[i]), Z.str(mi)))
        end
      end
      local u = {}
      for i = 1, k do
        local s = Z.new(0)
        for l = 1, k do s = Z.add(s, Z.mul(A[i][l], w[l])) end
        u[i] = s
      end
      w = u
    end
    return m
  end

  it("is never below |B|^j |v| for any j <= n", function()
    check({ { 0, 1 }, { 1, 1 } }, { 0, 1 }, 90)
    check({ { 0, 1 }, { 1, 1 } }, { 1, 0 }, 90)
    check({ { 0, 0 }, { 1, 0 } }, { 5, 0 }, 10)  -- nilpotent: not monotone
    for k = 1, 6 do
      for _, n in ipairs({ 0, 1, 2, 5, 30, 80 }) do
        check(randmat(k, 0, 3), randvec(k, 0, 100), n)
      end
    end
  end)

  it("is exact-to-rounding when no value exceeds 2^53", function()
    local m = check({ { 0, 1 }, { 1, 1 } }, { 0, 1 }, 50)
    -- F(50) = 12586269025, F(51) = 20365011074
    assert.is_true(m[1] >= 12586269025 and m[1] < 12586269025 * (1 + 1e-9))
    assert.is_true(m[2] >= 20365011074 and m[2] < 20365011074 * (1 + 1e-9))
  end)

  it("keeps decoupled small rows finite next to an overflowing one", function()
    local m = core._majorant({ { 2, 0 }, { 0, 1 } }, { 1, 3 }, "1" .. string.rep("0", 1000))
    assert.are.equal(math.huge, m[1])
    assert.are.equal(3, math.floor(m[2]))
  end)

  it("refuses negative or NaN entries", function()
    assert.has_error(function() core._majorant({ { -1 } }, { 1 }, 3) end)
    assert.has_error(function() core._majorant({ { 0/0 } }, { 1 }, 3) end)
  end)
end)

describe("argument checking", function()
  it("raises on a bad ring, a non-square matrix, a size above 64, a negative n", function()
    assert.has_error(function() core._matpow("q", { { 1 } }, { 1 }, 1) end)
    assert.has_error(function() core._matpow("z", { { 1, 2 } }, { 1 }, 1) end)
    assert.has_error(function() core._matpow("z", { { 1 }, { 2 } }, { 1, 2 }, 1) end)
    local B = {}
    for i = 1, 65 do B[i] = {} for j = 1, 65 do B[i][j] = 0 end end
    assert.has_error(function() core._matpow("u64", B, {}, 1) end)
    assert.has_error(function() core._matpow("z", { { 1 } }, { 1 }, -1) end)
    assert.has_error(function() core._matpow("z", { { 1 } }, { 1 }, "-1") end)
  end)

  it("raises on non-integer entries and malformed strings", function()
    assert.has_error(function() core._matpow("z", { { 1.5 } }, { 1 }, 1) end)
    assert.has_error(function() core._matpow("z", { { "12a" } }, { 1 }, 1) end)
    assert.has_error(function() core._matpow("z", { { "" } }, { 1 }, 1) end)
    assert.has_error(function() core._matpow("u64", { { {} } }, { 1 }, 1) end)
    assert.has_error(function() core._matpow("z", { { 1 } }, { 1 }, 0/0) end)
  end)
end)

describe("matrix power in Z/m", function()
  math.randomseed(4242)
  local big = require("cpm").big

  -- v := B v mod m, n times, in cpm.big (GMP's remainder, not the engine)
  local function naivemod(B, v, n, m)
    local k, M = #B, big(m)
    local w = {}
    for i = 1, k do w[i] = big(v[i]) % M end
    for _ = 1, n do
      local u = {}
      for i = 1, k do
        local s = big(0)
        for j = 1, k do s = s + big(B[i][j]) * w[j] end
        u[i] = s % M
      end
      w = u
    end
    for i = 1, k do w[i] = tostring(w[i]) end
    return w
  end

  local moduli = {
    1, 2, 3, 7, 1000000007, 998244353, 2147483647, 4294967296, 4294967311,
    "4611686018427387847", "4611686018427387904", "4611686018427387905",
    "9223372036854775783", "9223372036854775807", "18446744073709551557",
  }

  -- an affine map of 'nv' carried values (the last row (0 .. 0 1)),
  -- entries up to 'lim' in size, zero constant column when 'homog'
  local function randaff(nv, lim, homog)
    local k = nv + 1
    local B = {}
    for i = 1, k do
      B[i] = {}
      for j = 1, k do
        B[i][j] = i == k and (j == k and 1 or 0)
          or (homog and j == k) and 0 or math.random(-lim, lim)
      end
    end
    local v = randvec(k, -lim, lim)
    v[k] = 1
    return B, v
  end

  it("matches repeated multiplication on the 2 x 2 fast path and the general one", function()
    for _, m in ipairs(moduli) do
      for _ = 1, 6 do
        for nv = 1, 3 do
          local B, v = randaff(nv, 1000000, math.random(2) == 1)
          local n = ({ 0, 1, 2, 3, 17, 64, 65, 200 })[math.random(8)]
          local want = naivemod(B, v, n, m)
          assert.are.same(want, core._matpow("mod", B, v, n, m))
          assert.are.same(want, core._matpow("mod", B, v, n, m, true))
        end
      end
    end
  end)

  it("agrees with the mpz engine for blocks of 3 to 16 values, any pivots", function()
    -- the characteristic-polynomial path needs unit pivots for its
    -- Hessenberg form: composite moduli (9, 15, 3^39) and sparse entries
    -- (multiples of 3, zeros) make it fall back to the matrix power
    local mods = { 1000000007, 998244353, 9, 15, 4050542260607, "4052555153018976267",
                   "4611686018427387847", 65536, 2147483647 }
    for _, m in ipairs(mods) do
      for nv = 3, 16, (m == 9 or m == 15) and 1 or 3 do
        local homog = math.random(2) == 1
        local B, v = randaff(nv, 30, homog)
        local mult3 = math.random(3) == 1
        for i = 1, nv do
          for j = 1, nv + 1 do
            local r = math.random(4)
            if r == 1 then B[i][j] = 0 elseif mult3 then B[i][j] = 3 * B[i][j] end
          end
        end
        for _, n in ipairs { 0, 1, 2, 7, 33 } do
          assert.are.same(naivemod(B, v, n, m), core._matpow("mod", B, v, n, m))
        end
        for _, n in ipairs { "1000000000000000000", "18446744073709551617" } do
          assert.are.same(core._matpow("mod", B, v, n, m, true), core._matpow("mod", B, v, n, m))
        end
      end
    end
  end)

  it("agrees with the mpz engine and with a larger embedding at n near 10^18", function()
    for _, m in ipairs(moduli) do
      for _ = 1, 8 do
        local homog = math.random(2) == 1
        local B, v = randaff(homog and 2 or 1, 2^31, homog)
        local n = ({ "1000000000000000000", "999999999999999999",
                     "18446744073709551617", tostring(math.random(1, 2^40)) })[math.random(4)]
        local r = core._matpow("mod", B, v, n, m)
        assert.are.same(r, core._matpow("mod", B, v, n, m, true))
        -- the same map with a decoupled extra value: the general path
        local k = #B
        local E, w = {}, {}
        for i = 1, k + 1 do
          E[i] = {}
          for j = 1, k + 1 do
            local ii, jj = i == 1 and 0 or i - 1, j == 1 and 0 or j - 1
            E[i][j] = (ii == 0 or jj == 0) and ((i == 1 and j == 1) and 5 or 0) or B[ii][jj]
          end
          w[i] = i == 1 and 3 or v[i - 1]
        end
        local e = core._matpow("mod", E, w, n, m)
        table.remove(e, 1)
        assert.are.same(r, e)
      end
    end
  end)
end)
