-- cpm.range against the VM's own numeric for: the same values, in the same
-- order, of the same type, on Lua 5.4 and LuaJIT; bignum ranges exactly.
local cpm = require "cpm"
local core = require "cpm.core"

local B = cpm.big
local IS54 = not jit
local MAXI = math.maxinteger
local MINI = math.mininteger
local idiv = IS54 and load("return function(a, b) return a // b end")()
local SEED = tonumber(os.getenv("CPM_SEED")) or os.time()
math.randomseed(SEED)

local LIMIT = 200  -- values compared per loop (some ranges are huge)

-- The values of the VM's `for i = a, b, c`, at most LIMIT of them.
local function numeric_for(a, b, c)
  local t = {}
  for i = a, b, c do
    t[#t + 1] = i
    if #t == LIMIT then break end
  end
  return t
end

local function range_values(...)
  local t = {}
  for i in cpm.range(...) do
    t[#t + 1] = i
    if #t == LIMIT then break end
  end
  return t
end

local function same_as_for(a, b, c)
  local want, got = numeric_for(a, b, c), range_values(a, b, c)
  local where = ("seed %d: range(%s, %s, %s)"):format(SEED, tostring(a),
                                                     tostring(b), tostring(c))
  assert.are.equal(#want, #got, where)
  for k = 1, #want do
    assert.are.equal(want[k], got[k], where)
    if IS54 then
      assert.are.equal(math.type(want[k]), math.type(got[k]), where)
    end
  end
end

describe("cpm.range", function()
  it("counts from 1 when given only the last value", function()
    assert.are.same({1, 2, 3, 4}, range_values(4))
    assert.are.same({}, range_values(0))
    assert.are.same({}, range_values(-3))
  end)

  it("defaults the step to 1", function()
    assert.are.same({-2, -1, 0}, range_values(-2, 0))
    assert.are.same({5}, range_values(5, 5))
  end)

  it("matches the numeric for on small random ranges", function()
    for _ = 1, 3000 do
      local a, b = math.random(-30, 30), math.random(-30, 30)
      local c = math.random(-7, 7)
      if c ~= 0 then same_as_for(a, b, c) end
    end
  end)

  it("matches the numeric for on negative steps and empty ranges", function()
    same_as_for(5, 1, -1)
    same_as_for(1, 5, -1)
    same_as_for(5, 5, -1)
    same_as_for(10, -10, -3)
    same_as_for(1, 0, 1)
    same_as_for(0, 1, -1)
  end)

  if IS54 then
    it("matches the numeric for at math.maxinteger and math.mininteger", function()
      local cases = {
        {MAXI - 5, MAXI, 1}, {MAXI - 5, MAXI, 2}, {MAXI - 5, MAXI, 3},
        {MAXI, MAXI, 1}, {MAXI, MAXI, -1}, {MAXI - 1, MAXI, MAXI},
        {MINI + 5, MINI, -1}, {MINI + 5, MINI, -2}, {MINI, MINI, -1},
        {MINI, MINI, 1}, {MINI, MAXI, MAXI}, {MAXI, MINI, MINI},
        {MINI, MAXI, 1}, {MAXI, MINI, -1}, {0, MAXI, idiv(MAXI, 3)},
        {MINI, 0, MINI}, {0, MINI, MINI}, {-1, MINI, MINI},
        {MINI, MAXI, MINI}, {1, MAXI, MINI},
      }
      for _, c in ipairs(cases) do same_as_for(c[1], c[2], c[3]) end
    end)

    it("clips a float limit beyond the integers as Lua does", function()
      for _, c in ipairs {
        {1, 1e300, idiv(MAXI, 2)}, {1, -1e300, -(idiv(MAXI, 2))}, {1, 1e300, -1},
        {1, -1e300, 1}, {MAXI - 3, 2^63, 1}, {MINI + 3, -2^63, -1},
        {MAXI - 3, math.huge, 1}, {0, -math.huge, MINI},
      } do
        same_as_for(c[1], c[2], c[3])
      end
    end)

    it("turns integral float arguments into integers", function()
      local t = range_values(1.0, 3.0, 1.0)
      assert.are.same({1, 2, 3}, t)
      assert.are.equal("integer", math.type(t[1]))
    end)
  else
    it("steps through doubles as LuaJIT's numeric for does", function()
      same_as_for(2^53 - 4, 2^53, 1)
      same_as_for(2^60, 2^60 + 4096, 1024)
      same_as_for(1, math.huge, 2^60)
      same_as_for(-2^62, -2^63, -2^61)
    end)
  end

  it("gives bignums when any argument is one, exactly", function()
    for _ = 1, 500 do
      local a, b = math.random(-30, 30), math.random(-30, 30)
      local c = math.random(-7, 7)
      if c ~= 0 then
        local want = numeric_for(a, b, c)
        for _, args in ipairs {{B(a), b, c}, {a, B(b), c}, {a, b, B(c)}} do
          local got = range_values(args[1], args[2], args[3])
          assert.are.equal(#want, #got)
          for k = 1, #want do
            assert.is_true(cpm.isbig(got[k]))
            assert.is_true(cpm.eq(got[k], want[k]))
          end
        end
      end
    end
  end)

  it("runs past 2^64 with bignums without wrapping", function()
    local top = B(2)^64
    local got = range_values(top - 2, top + 2)
    assert.are.equal(5, #got)
    for k = 1, 5 do assert.are.equal(top - 3 + k, got[k]) end
    got = range_values(B(2)^200, B(2)^200 - 10, -B(5))
    assert.are.same({tostring(B(2)^200), tostring(B(2)^200 - 5),
                     tostring(B(2)^200 - 10)},
                    {tostring(got[1]), tostring(got[2]), tostring(got[3])})
  end)

  it("raises Lua's 'for' errors", function()
    local function err(...)
      local ok, msg = pcall(cpm.range, ...)
      assert.is_false(ok)
      return msg
    end
    assert.matches("'for' step is zero", err(1, 10, 0))
    assert.matches("'for' step is zero", err(B(1), 10, 0))
    assert.matches("'for' step is zero", err(1, 10, B(0)))
    assert.matches("'for' initial value must be an integer", err(1.5, 10))
    assert.matches("'for' limit must be an integer", err(1, 10.5))
    assert.matches("'for' step must be an integer", err(1, 10, 0.5))
    -- not a number: Lua 5.4's for and LuaJIT's say it differently
    local function notnumber(what, typ)
      return IS54 and ("bad 'for' " .. what .. " (number expected, got " .. typ .. ")")
        or ("'for' " .. what .. " must be a number")
    end
    assert.are.equal(notnumber("initial value", "string"), err("1", 10))
    assert.are.equal(notnumber("limit", "table"), err(1, {}))
    assert.are.equal(notnumber("step", "boolean"), err(1, 10, true))
    assert.are.equal(notnumber("limit", "no value"), err())
    assert.are.equal(notnumber("limit", "nil"), err(nil))
    if IS54 then  -- the very message of Lua's own for
      local ok, msg = pcall(load("for i = 'x', 2 do end"))
      assert.is_false(ok)
      assert.are.equal(notnumber("initial value", "string"), (msg:gsub("^[^:]*:%d+: ", "")))
    end
  end)

  it("returns one C iterator, a state and nil, and stays exhausted", function()
    local f1, s1, c1 = cpm.range(3)
    local f2, s2 = cpm.range(B(1), 2)
    assert.are.equal(f1, f2)
    assert.is_nil(c1)
    assert.are.equal("userdata", type(s1))
    assert.are.equal("cpm.range", getmetatable(s2).__name)
    assert.are.equal(1, f1(s1))
    assert.are.equal(2, f1(s1))
    assert.are.equal(3, f1(s1))
    assert.is_nil(f1(s1))
    assert.is_nil(f1(s1))
    assert.is_false(pcall(f1, {}))
  end)

  it("tells the optimizer how many values are left and the next one", function()
    local f, s = cpm.range(10, 100, 7)
    f(s)
    local count, nxt = core._range_remaining(s)
    assert.are.equal(#numeric_for(17, 100, 7), count:tointeger())
    assert.are.equal(17, nxt:tointeger())
    core._range_finish(s)
    assert.is_nil(f(s))
    assert.are.equal(0, core._range_remaining(s):tointeger())
    s = select(2, cpm.range(B(2)^100, B(2)^101, 3))
    count = core._range_remaining(s)
    assert.are.equal((B(2)^101 - B(2)^100):idiv(3) + 1, count)
    if IS54 then
      s = select(2, cpm.range(MINI, MAXI))
      assert.are.equal(B(2)^64, core._range_remaining(s))
    else
      s = select(2, cpm.range(1, 2^60))
      assert.is_nil(core._range_remaining(s))
    end
  end)
end)
