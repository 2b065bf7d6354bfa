-- cpm.big against an independent reference (spec/support/refint.lua) on
-- thousands of random operands per operator, plus the edge cases of the
-- conversions, errors and the size limit.  Runs on Lua 5.4 and LuaJIT;
-- 5.4-only syntax is compiled with load so the file parses on LuaJIT.
local cpm = require "cpm"
local R = require "spec.support.refint"

local B = cpm.big
local IS54 = not jit
local SEED = tonumber(os.getenv("CPM_SEED")) or os.time()
local N = tonumber(os.getenv("CPM_CASES")) or 2500
math.randomseed(SEED)
local rand = math.random

local function ctx(...)
  return "seed " .. SEED .. ": " .. table.concat({...}, " ")
end

local function tobig(a) return B(R.tohex(a), 16) end
local function toref(b) return R.fromhex(b:tostring(16)) end

local function same(b, ref, ...)
  assert.is_true(cpm.isbig(b), ctx("result is a bignum", ...))
  assert.are.equal(R.tohex(ref), b:tostring(16), ctx(...))
end

-- Operands: random sizes 0..3000 bits, values next to limb and word
-- boundaries (2^24k, 2^32, 2^63, 2^64, ...), 0 and +-1.
local EDGES = {23, 24, 31, 32, 48, 52, 53, 54, 62, 63, 64, 65, 72, 96, 127,
               128, 129, 192, 256, 1024}
local function gen()
  local c = rand(1, 10)
  if c <= 4 then return R.random(rand(0, 3000), rand) end
  if c <= 7 then return R.random(rand(0, 130), rand) end
  if c == 8 then
    local v = R.pow2plus(EDGES[rand(1, #EDGES)], rand(-1, 1))
    return rand(0, 1) == 0 and v or R.neg(v)
  end
  local small = {R.zero(), R.make(1, {1}), R.make(-1, {1})}
  return small[rand(1, 3)]
end

local function nonzero()
  local v
  repeat v = gen() until not R.iszero(v)
  return v
end

-- 5.4 operators LuaJIT cannot parse.
local op54 = {}
if IS54 then
  for name, src in pairs {
    idiv = "a // b", band = "a & b", bor = "a | b", bxor = "a ~ b",
    shl = "a << b", shr = "a >> b", bnot = "~a",
  } do
    op54[name] = load("return function(a, b) return " .. src .. " end")()
  end
end

describe("cpm.big construction", function()
  it("converts every Lua integer exactly", function()
    if IS54 then
      for _, i in ipairs {0, 1, -1, math.maxinteger, math.mininteger,
                          math.maxinteger - 1, math.mininteger + 1,
                          math.tointeger(2^32), math.tointeger(-2^32), math.tointeger(2^53),
                          math.tointeger(2^53) + 1} do
        assert.are.equal(string.format("%d", i), tostring(B(i)))
      end
      for _ = 1, N do
        local i = rand(math.mininteger, math.maxinteger)
        assert.are.equal(string.format("%d", i), tostring(B(i)), ctx(i))
      end
    else
      for _, x in ipairs {0, 1, -1, 2^53, -2^53, 2^63, -2^63, 2^64, 2^100} do
        assert.are.equal(string.format("%.0f", x), tostring(B(x)))
      end
    end
  end)

  it("accepts integral floats exactly and refuses other floats", function()
    assert.are.equal("1267650600228229401496703205376", tostring(B(2.0^100)))
    assert.are.equal("-3", tostring(B(-3.0)))
    for _, f in ipairs {1.5, -0.25, 1/0, -1/0, 0/0} do
      local ok, err = pcall(B, f)
      assert.is_false(ok)
      assert.matches("bad argument #1 to .-number has no integer representation", err)
    end
  end)

  it("parses strings with sign, spaces, bases and a 0x prefix", function()
    assert.are.equal("-31", tostring(B("  -0x1F ")))
    assert.are.equal("31", tostring(B("+0x1f")))
    assert.are.equal("31", tostring(B("1f", 16)))
    assert.are.equal("31", tostring(B("0x1F", 16)))
    assert.are.equal("5", tostring(B("101", 2)))
    assert.are.equal("-35", tostring(B("-z", 36)))
    assert.are.equal("0", tostring(B("-0")))
    assert.are.equal("10", tostring(B("\t10\n")))
  end)

  it("raises a bad argument that says what is wrong with a string", function()
    local cases = {
      {"12a", nil, "invalid digit 'a' in base 10"},
      {"", nil, "no digits"},
      {"   ", nil, "no digits"},
      {"-", nil, "no digits"},
      {"0x", nil, "no digits"},
      {"12 3", nil, "unexpected '3'"},
      {"102", 2, "invalid digit '2' in base 2"},
      {"0x10", 10, "invalid digit 'x' in base 10"},
      {"1\0", nil, "invalid digit"},
      {"10", 1, "bad argument #2"},
      {"10", 37, "bad argument #2"},
    }
    for _, c in ipairs(cases) do
      local ok, err = pcall(B, c[1], c[2])
      assert.is_false(ok, c[1])
      assert.is_truthy(err:find(c[3], 1, true), err)
      if not c[3]:find("#2") then assert.is_truthy(err:find("bad argument #1", 1, true), err) end
    end
    local ok, err = pcall(B, {})
    assert.is_false(ok)
    assert.matches("bad argument #1 .-got table", err)
    ok, err = pcall(B, 10, 16)
    assert.is_false(ok)
    assert.matches("bad argument #1", err)
  end)

  it("copies a bignum", function()
    local a = B(5)
    local b = B(a)
    assert.are_not.equal(rawequal(a, b), true)
    assert.are.equal(a, b)
  end)

  it("tells bignums from other values", function()
    assert.is_true(cpm.isbig(B(1)))
    assert.is_false(cpm.isbig(1))
    assert.is_false(cpm.isbig("1"))
    assert.is_false(cpm.isbig(nil))
    assert.are.equal("cpm.big", getmetatable(B(1)).__name)
  end)
end)

describe("cpm.big conversions", function()
  it("writes and reads decimal as the reference does", function()
    for _ = 1, N do
      local a = gen()
      local dec = R.todec(a)
      assert.are.equal(dec, tostring(tobig(a)), ctx(dec))
      same(B(dec), a, "from decimal", dec)
      assert.are.equal(dec, tobig(a) .. "", ctx(dec))
    end
  end)

  it("round-trips through every base 2..36", function()
    for _ = 1, 300 do
      local a = gen()
      local base = rand(2, 36)
      local s = tobig(a):tostring(base)
      assert.is_nil(s:find("[A-Z]"))
      same(B(s, base), a, "base", base, s)
    end
    assert.are.equal("-ff", B(-255):tostring(16))
    assert.are.equal("11111111", B(255):tostring(2))
  end)

  it("concatenates with strings and numbers", function()
    assert.are.equal("x12", "x" .. B(12))
    assert.are.equal("12x", B(12) .. "x")
    assert.are.equal("312", 3 .. B(12))
    assert.are.equal("1212", B(12) .. B(12))
  end)

  it("gives tointeger only when the value fits", function()
    if IS54 then
      assert.are.equal(math.maxinteger, B(math.maxinteger):tointeger())
      assert.are.equal(math.mininteger, B(math.mininteger):tointeger())
      assert.is_nil((B(math.maxinteger) + 1):tointeger())
      assert.is_nil((B(math.mininteger) - 1):tointeger())
      assert.are.equal("integer", math.type(B(7):tointeger()))
    else
      assert.are.equal(2^53, B(2^53):tointeger())
      assert.is_nil((B(2^53) + 1):tointeger())
    end
    assert.are.equal(-5, B(-5):tointeger())
  end)

  it("rounds tonumber to the nearest float, ties to even", function()
    local two53 = B(2)^53
    assert.are.equal(2^53, (two53 + 1):tonumber())       -- tie: down to even
    assert.are.equal(2^53 + 4, (two53 + 3):tonumber())   -- tie: up to even
    assert.are.equal(2^64, (B(2)^64 - 1):tonumber())
    assert.are.equal(-2^64, (-(B(2)^64) + 1):tonumber())
    assert.are.equal(1/0, (B(2)^1024):tonumber())
    assert.are.equal(-1/0, (-(B(2)^1024)):tonumber())
    -- the largest double, and the first value that rounds to infinity
    local maxd = (B(2)^53 - 1) * B(2)^971
    assert.are.equal(maxd:tonumber(), (maxd + B(2)^969 - 1):tonumber())
    assert.are.equal(1/0, (maxd + B(2)^970):tonumber())
    -- any value: the float is within half an ulp, and even on a tie
    for _ = 1, N do
      local a = tobig(gen())
      local d = a:tonumber()
      if d ~= 1/0 and d ~= -1/0 and d ~= 0 then
        local shift = math.max(B(d):bits() - 53, 0)  -- the ulp is 2^shift
        local diff = a - B(d)
        if diff:sign() < 0 then diff = -diff end
        local c = cpm.cmp(diff * 2, B(2) ^ shift)
        assert.is_true(c <= 0, ctx("within half an ulp", tostring(a)))
        if c == 0 then
          assert.are.equal(B(0), B(d):shr(shift) % 2, ctx("tie to even", tostring(a)))
        end
      end
    end
  end)

  it("reports bits and sign", function()
    assert.are.equal(0, B(0):bits())
    assert.are.equal(1, B(-1):bits())
    assert.are.equal(65, (B(2)^64):bits())
    assert.are.equal(-1, B(-7):sign())
    assert.are.equal(0, B(0):sign())
    assert.are.equal(1, B(7):sign())
  end)
end)

describe("cpm.big arithmetic agrees with the reference", function()
  it("on + - * and unary minus", function()
    for _ = 1, N do
      local a, b = gen(), gen()
      local x, y = tobig(a), tobig(b)
      same(x + y, R.add(a, b), "add", R.tohex(a), R.tohex(b))
      same(x - y, R.sub(a, b), "sub", R.tohex(a), R.tohex(b))
      same(x * y, R.mul(a, b), "mul", R.tohex(a), R.tohex(b))
      same(-x, R.neg(a), "unm", R.tohex(a))
      same(x:add(y), R.add(a, b), "method add")
      same(x:sub(y), R.sub(a, b), "method sub")
      same(x:mul(y), R.mul(a, b), "method mul")
      same(x:unm(), R.neg(a), "method unm")
    end
  end)

  it("on // and % with floor semantics (a == (a//b)*b + a%b)", function()
    for _ = 1, N do
      local a, b = gen(), nonzero()
      local x, y = tobig(a), tobig(b)
      local q, r = x:idiv(y), x % y
      assert.are.equal(q, IS54 and op54.idiv(x, y) or q)
      assert.are.equal(r, x:mod(y))
      local qr, rr = toref(q), toref(r)
      local c = ctx("divmod", R.tohex(a), R.tohex(b))
      assert.are.equal(R.tohex(a), R.tohex(R.add(R.mul(qr, b), rr)), c)
      if R.isneg(b) then
        assert.is_true(R.cmp(b, rr) < 0 and R.cmp(rr, R.zero()) <= 0, c)
      else
        assert.is_true(R.cmp(R.zero(), rr) <= 0 and R.cmp(rr, b) < 0, c)
      end
    end
  end)

  it("on // and % exactly as Lua integers do", function()
    for a = -7, 7 do
      for b = -3, 3 do
        if b ~= 0 then
          local q = IS54 and op54.idiv(a, b) or math.floor(a / b)
          assert.are.equal(B(q), B(a):idiv(b))
          assert.are.equal(B(a % b), B(a) % b)
          assert.are.equal(B(a % b), a % B(b))
        end
      end
    end
  end)

  it("on ^ with non-negative integer exponents", function()
    for _ = 1, N / 5 do
      local a, e = R.random(rand(0, 200), rand), rand(0, 12)
      same(tobig(a) ^ e, R.pow(a, e), "pow", R.tohex(a), e)
      same(tobig(a):pow(B(e)), R.pow(a, e), "pow big exponent")
    end
    assert.are.equal(B(1), B(0) ^ 0)
    assert.are.equal(B(-1), B(-1) ^ (B(2)^200 + 1))
    assert.are.equal(B(1), B(1) ^ (B(2)^200))
    assert.are.equal(B(0), B(0) ^ (B(2)^200))
    assert.are.equal(B(1024), 2 ^ B(10))
  end)

  it("on & | ~ and not, as infinite two's complement", function()
    for _ = 1, N do
      local a, b = gen(), gen()
      local x, y = tobig(a), tobig(b)
      same(x:band(y), R.band(a, b), "band", R.tohex(a), R.tohex(b))
      same(x:bor(y), R.bor(a, b), "bor", R.tohex(a), R.tohex(b))
      same(x:bxor(y), R.bxor(a, b), "bxor", R.tohex(a), R.tohex(b))
      same(x:bnot(), R.bnot(a), "bnot", R.tohex(a))
      if IS54 then
        same(op54.band(x, y), R.band(a, b), "&")
        same(op54.bor(x, y), R.bor(a, b), "|")
        same(op54.bxor(x, y), R.bxor(a, b), "~")
        same(op54.bnot(x), R.bnot(a), "~x")
      end
    end
  end)

  it("on << and >> (floor, negative counts shift the other way)", function()
    for _ = 1, N do
      local a, s = gen(), rand(0, 300)
      local x = tobig(a)
      same(x:shl(s), R.shl(a, s), "shl", R.tohex(a), s)
      same(x:shr(s), R.shr(a, s), "shr", R.tohex(a), s)
      same(x:shl(-s), R.shr(a, s), "shl negative", R.tohex(a), s)
      same(x:shr(B(-s)), R.shl(a, s), "shr negative big", R.tohex(a), s)
      if IS54 then
        same(op54.shl(x, s), R.shl(a, s), "<<")
        same(op54.shr(x, s), R.shr(a, s), ">>")
      end
    end
    local huge = B(2)^70
    assert.are.equal(B(0), B(12345):shr(huge))
    assert.are.equal(B(-1), B(-12345):shr(huge))
    assert.are.equal(B(-1), B(-12345):shl(-huge))
    assert.are.equal(B(0), B(0):shl(huge))
    if IS54 then
      assert.are.equal(B(0), B(5):shr(math.maxinteger))
      assert.are.equal(B(-1), B(-5):shl(math.mininteger))
      assert.are.equal(B(2)^64, op54.shl(1, B(64)))
    end
  end)

  it("mixes bignums with Lua integers on either side", function()
    for _ = 1, N do
      local i
      if IS54 then
        i = rand(0, 3) == 0 and ({math.maxinteger, math.mininteger, 0, -1})[rand(1, 4)]
            or rand(math.mininteger, math.maxinteger)
      else
        i = rand(-2^31, 2^31) * 2^rand(0, 40)
      end
      local a = gen()
      local x, ir = tobig(a), R.fromdec(string.format(IS54 and "%d" or "%.0f", i))
      same(x + i, R.add(a, ir), "x + i")
      same(i + x, R.add(ir, a), "i + x")
      same(x - i, R.sub(a, ir), "x - i")
      same(i - x, R.sub(ir, a), "i - x")
      same(x * i, R.mul(a, ir), "x * i")
      same(i * x, R.mul(ir, a), "i * x")
      same(x:band(i), R.band(a, ir), "x & i")
      if IS54 then same(op54.bor(i, x), R.bor(ir, a), "i | x") end
      if i ~= 0 then
        assert.are.equal(x:idiv(B(i)), x:idiv(i))
        assert.are.equal(x % B(i), x % i)
      end
      if not R.iszero(a) then
        assert.are.equal(B(i):idiv(x), (IS54 and op54.idiv(i, x)) or B(i):idiv(x))
        assert.are.equal(B(i) % x, i % x)
      end
    end
  end)

  it("coerces numeric strings as Lua does for arithmetic", function()
    assert.are.equal(B(11), B(1) + "10")
    assert.are.equal(B(11), "10" + B(1))
    assert.are.equal(B(-9), B(1) - " 10 ")
    assert.are.equal(1.5, B(1) + "0.5")
    local ok, err = pcall(function() return B(1) + "ten" end)
    assert.is_false(ok)
    assert.matches("attempt to perform arithmetic on a string value", err)
    ok, err = pcall(function() return B(1):band("3") end)
    assert.is_false(ok)
    assert.matches("attempt to perform bitwise operation on a string value", err)
  end)

  it("turns into float arithmetic when a float is involved", function()
    local x = B(2)^80 + 12345
    local f = x:tonumber()
    assert.are.equal(f + 0.5, x + 0.5)
    assert.are.equal(0.5 - f, 0.5 - x)
    assert.are.equal(f * 1.5, x * 1.5)
    assert.are.equal(f % 2.5, x % 2.5)
    assert.are.equal(-7.5 % B(2), -7.5 % 2)
    assert.are.equal(B(7) % -2.5, 7 % -2.5)
    assert.are.equal(math.floor(f / 3.5), x:idiv(3.5))
    assert.are.equal(f ^ 0.5, x ^ 0.5)
    if IS54 then
      assert.are.equal("float", math.type(x + 0.5))
      assert.are.equal(math.floor(f / 3.5), op54.idiv(x, 3.5))
      assert.are.equal(B(3), op54.band(B(7), 3.0))
    end
    local ok, err = pcall(function() return B(7):band(1.5) end)
    assert.is_false(ok)
    assert.matches("number has no integer representation", err)
  end)

  it("divides with / into a float as Lua does for integers", function()
    for _ = 1, N / 5 do
      local a, b = rand(-2^40, 2^40), rand(-2^40, 2^40)
      if b ~= 0 then assert.are.equal(a / b, B(a) / B(b)) end
    end
    assert.are.equal(1/3, B(1) / 3)
    assert.are.equal(2.0, B(2)^2000 / B(2)^1999)
    assert.are.equal(10.0, B(10)^400 / B(10)^399)
    assert.are.equal(0.1, B(10)^399 / B(10)^400)
    assert.are.equal(2^-1074, B(1) / B(2)^1074)      -- least subnormal
    assert.are.equal(0.0, B(1) / B(2)^1076)          -- below half of it
    assert.are.equal(1/0, B(2)^1100 / 3)
    assert.are.equal(1/0, B(1) / 0)
    assert.are.equal(-1/0, B(-1) / B(0))
    local nan = B(0) / 0
    assert.are_not.equal(nan, nan)
  end)
end)

describe("cpm.big comparisons", function()
  it("order bignums as the reference does", function()
    for _ = 1, N do
      local a, b = gen(), rand(0, 5) == 0 and nil or gen()
      b = b or a
      local x, y = tobig(a), tobig(b)
      local c = R.cmp(a, b)
      assert.are.equal(c < 0, x < y, ctx("<"))
      assert.are.equal(c <= 0, x <= y, ctx("<="))
      assert.are.equal(c > 0, x > y, ctx(">"))
      assert.are.equal(c == 0, x == y, ctx("=="))
      assert.are.equal(c ~= 0, x ~= y, ctx("~="))
      assert.are.equal(c, cpm.cmp(x, y), ctx("cmp"))
      assert.are.equal(c == 0, cpm.eq(x, y), ctx("eq"))
    end
  end)

  it("compares with numbers exactly through cpm.eq and cpm.cmp", function()
    local p53 = B(2)^53
    assert.is_false(B(5) == 5)           -- Lua never calls __eq here
    assert.is_true(cpm.eq(B(5), 5))
    assert.is_true(cpm.eq(5.0, B(5)))
    assert.is_false(cpm.eq(p53 + 1, 2^53))
    assert.are.equal(1, cpm.cmp(p53 + 1, 2^53))
    assert.are.equal(-1, cpm.cmp(2^53, p53 + 1))
    assert.are.equal(0, cpm.cmp(2^53, p53))
    assert.are.equal(-1, cpm.cmp(B(2)^5000, 1/0))
    assert.are.equal(1, cpm.cmp(B(-2)^5001 * -1, -1/0))
    assert.is_nil(cpm.cmp(B(1), 0/0))
    assert.is_false(cpm.eq(B(1), 0/0))
    assert.are.equal(-1, cpm.cmp(1, 2))
    assert.are.equal(0, cpm.cmp(3, 3.0))
    local ok, err = pcall(cpm.cmp, B(1), "1")
    assert.is_false(ok)
    assert.matches("bad argument #2", err)
    ok, err = pcall(cpm.eq, {}, B(1))
    assert.is_false(ok)
    assert.matches("bad argument #1", err)
  end)

  it("orders against Lua numbers with < on Lua 5.4, raises on LuaJIT", function()
    if IS54 then
      local p = B(2)^63
      assert.is_true(math.maxinteger < p)
      assert.is_true(p > math.maxinteger)
      assert.is_false(p < 2^63)
      assert.is_true(p <= 2^63)
      assert.is_true(p + 1 > 2^63)
      assert.is_false(B(1) < 0/0)
      assert.is_false(B(1) >= 0/0)
      local ok, err = pcall(function() return B(1) < "2" end)
      assert.is_false(ok)
      assert.matches("attempt to compare", err)
    else
      assert.is_false(pcall(function() return B(1) < 2 end))
    end
  end)
end)

describe("cpm.big errors", function()
  it("raises Lua's division by zero errors", function()
    local ok, err = pcall(function() return B(7):idiv(0) end)
    assert.is_false(ok)
    assert.matches("attempt to perform 'n//0'", err)
    ok, err = pcall(function() return B(7) % B(0) end)
    assert.is_false(ok)
    assert.matches("attempt to perform 'n%%0'", err)
  end)

  it("refuses a negative exponent", function()
    local ok, err = pcall(function() return B(2) ^ -1 end)
    assert.is_false(ok)
    assert.matches("negative exponent", err)
  end)

  it("raises Lua's error for operands that are not numbers", function()
    for _, v in ipairs {false, {}, print} do
      local ok, err = pcall(function() return B(1) + v end)
      assert.is_false(ok)
      assert.matches("attempt to perform arithmetic on a " .. type(v) .. " value", err)
    end
    local ok, err = pcall(function() return B(1):add(nil) end)
    assert.is_false(ok)
    assert.matches("attempt to perform arithmetic on a nil value", err)
  end)
end)

describe("cpm.big size limit", function()
  local saved
  before_each(function() saved = cpm.maxbits() end)
  after_each(function() cpm.maxbits(saved) end)

  it("has a default of 2^32 bits and can be changed", function()
    assert.are.equal(2^32, saved)
    assert.are.equal(1000, cpm.maxbits(1000))
    assert.are.equal(1000, cpm.maxbits())
  end)

  it("refuses a bad limit with a bad argument", function()
    assert.matches("bad argument #1", select(2, pcall(cpm.maxbits, 10)))
    assert.matches("bad argument #1", select(2, pcall(cpm.maxbits, 100.5)))
    assert.matches("bad argument #1", select(2, pcall(cpm.maxbits, "x")))
  end)

  it("raises instead of growing past it", function()
    local function fails(f, ...)
      local ok, err = pcall(f, ...)
      assert.is_false(ok)
      assert.matches("cpm: result of .- would exceed the bignum size limit", err)
    end
    fails(function() return B(2) ^ (B(2)^40) end)
    fails(function() return B(3):pow(B(2)^100) end)
    fails(function() return B(1):shl(2^40) end)
    fails(function() return B(1):shl(B(2)^80) end)
    cpm.maxbits(1000)
    local a = B(2)^999
    fails(function() return a * a end)
    fails(function() return a:shl(1) end)
    fails(function() return a:bnot() * 4 end)
    fails(function() return B(-1):shl(1000) end)
    fails(function() return B(string.rep("9", 400)) end)
    local b = B(2)^998
    assert.are.equal(a, b + b)        -- 1000 bits: allowed
    assert.are.equal(999, (a - 1):bits())
  end)

  it("names the operator in the message as src/core/ir.h declares it", function()
    cpm.maxbits(1000)
    local a = B(2)^999
    local function message(f)
      local ok, err = pcall(f)
      assert.is_false(ok)
      return err:match("cpm: result of (.-) would exceed")
    end
    assert.are.equal("'*'", message(function() return a * a end))
    assert.are.equal("'+'", message(function() return a + a end))
    assert.are.equal("'-'", message(function() return a - (-a) end))
    assert.are.equal("'^'", message(function() return a ^ 2 end))
    assert.are.equal("'<<'", message(function() return a:shl(1) end))
    assert.are.equal("'>>'", message(function() return a:shr(-1) end))
  end)

  it("has a method for each operator of src/core/ir.h, giving what the operator gives", function()
    local core = require "cpm.core"
    local x, y = B(-23), B(5)
    local count = 0
    for sym, name in pairs(core._aops) do
      count = count + 1
      assert.is_function(x[name], name)
      if IS54 or ({ ["+"] = 1, ["-"] = 1, ["*"] = 1, ["/"] = 1, ["%"] = 1, ["^"] = 1 })[sym] then
        local op = load("local x, y = ... return x " .. sym .. " y")
        assert.are.equal(op(x, y), x[name](x, y), name)
      end
    end
    assert.is_true(count >= 6)
    assert.are.equal(B(23), x:unm())
    assert.are.equal(-x, x:unm())
    if IS54 then assert.are.equal(load("return ~...")(x), x:bnot()) end
  end)

  if IS54 then
    it("raises for cpm.big(2) ^ (1 << 40)", function()
      local ok, err = pcall(load("local B = ... return B(2) ^ (1 << 40)"), B)
      assert.is_false(ok)
      assert.matches("size limit", err)
    end)
  end
end)
