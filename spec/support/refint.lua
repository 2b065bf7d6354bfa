-- refint: a slow, independent reference for exact integers, in plain Lua
-- that runs on Lua 5.4 and LuaJIT.  The specs check cpm.big against it.
--
-- A value is {sign = -1|0|1, n = #limbs, [1..n] = limbs}, base 2^24, least
-- significant first, no leading zero limb (0 has n = 0).  Every product of
-- two limbs plus carries stays below 2^53, so doubles (LuaJIT) are exact.
local floor = math.floor

local R = {}
local BASE = 16777216  -- 2^24
local MASK = BASE - 1

local band, bor, bxor
if bit then
  band, bor, bxor = bit.band, bit.bor, bit.bxor
else  -- Lua 5.4: the operators, hidden from LuaJIT's parser
  band, bor, bxor = load("return function(a, b) return a & b end",
                         "=band")(),
                    load("return function(a, b) return a | b end",
                         "=bor")(),
                    load("return function(a, b) return a ~ b end",
                         "=bxor")()
end

local function norm(a)
  local n = a.n
  while n > 0 and a[n] == 0 do a[n] = nil; n = n - 1 end
  a.n = n
  if n == 0 then a.sign = 0 end
  return a
end

local function make(sign, limbs)
  limbs.sign, limbs.n = sign, #limbs
  return norm(limbs)
end
R.make = make

function R.zero() return {sign = 0, n = 0} end

-- Magnitudes.
local function cmpabs(a, b)
  if a.n ~= b.n then return a.n < b.n and -1 or 1 end
  for i = a.n, 1, -1 do
    if a[i] ~= b[i] then return a[i] < b[i] and -1 or 1 end
  end
  return 0
end

local function addabs(a, b)
  local r, carry = {}, 0
  for i = 1, math.max(a.n, b.n) do
    local t = (a[i] or 0) + (b[i] or 0) + carry
    if t >= BASE then r[i], carry = t - BASE, 1 else r[i], carry = t, 0 end
  end
  if carry > 0 then r[#r + 1] = carry end
  return r
end

local function subabs(a, b)  -- |a| >= |b|
  local r, borrow = {}, 0
  for i = 1, a.n do
    local t = a[i] - (b[i] or 0) - borrow
    if t < 0 then r[i], borrow = t + BASE, 1 else r[i], borrow = t, 0 end
  end
  return r
end

function R.neg(a)
  local r = {}
  for i = 1, a.n do r[i] = a[i] end
  return make(-a.sign, r)
end

function R.add(a, b)
  if a.sign == 0 then return R.neg(R.neg(b)) end
  if b.sign == 0 then return R.neg(R.neg(a)) end
  if a.sign == b.sign then return make(a.sign, addabs(a, b)) end
  local c = cmpabs(a, b)
  if c == 0 then return R.zero() end
  if c > 0 then return make(a.sign, subabs(a, b)) end
  return make(b.sign, subabs(b, a))
end

function R.sub(a, b) return R.add(a, R.neg(b)) end

function R.mul(a, b)
  if a.sign == 0 or b.sign == 0 then return R.zero() end
  local r = {}
  for i = 1, a.n + b.n do r[i] = 0 end
  for i = 1, a.n do
    local carry, ai = 0, a[i]
    for j = 1, b.n do
      local t = r[i + j - 1] + ai * b[j] + carry
      carry = floor(t / BASE)
      r[i + j - 1] = t - carry * BASE
    end
    local k = i + b.n
    while carry > 0 do
      local t = r[k] + carry
      carry = floor(t / BASE)
      r[k] = t - carry * BASE
      k = k + 1
    end
  end
  return make(a.sign * b.sign, r)
end

function R.cmp(a, b)
  if a.sign ~= b.sign then return a.sign < b.sign and -1 or 1 end
  return a.sign * cmpabs(a, b)
end

function R.pow(a, e)  -- e: a small non-negative integer
  local r = make(1, {1})
  for _ = 1, e do r = R.mul(r, a) end
  return r
end

-- Small helpers: multiply by and divide by a small positive integer.
local function muladd_small(a, m, add)  -- |a| * m + add, a >= 0
  local r, carry = {}, add
  for i = 1, a.n do
    local t = a[i] * m + carry
    carry = floor(t / BASE)
    r[i] = t - carry * BASE
  end
  while carry > 0 do
    r[#r + 1] = carry % BASE
    carry = floor(carry / BASE)
  end
  return make(1, r)
end

local function divmod_small(a, d)  -- |a| // d, |a| % d
  local r, rem = {}, 0
  for i = a.n, 1, -1 do
    local t = rem * BASE + a[i]
    local q = floor(t / d)
    r[i], rem = q, t - q * d
  end
  return make(1, r), rem
end

-- a / d for a small positive d that divides a (asserted).
function R.divexact(a, d)
  local q, rem = divmod_small(a, d)
  assert(rem == 0, "inexact division")
  if q.n > 0 then q.sign = a.sign end
  return q
end

-- The number of bits of |a| (0 for 0).
function R.bits(a)
  if a.sign == 0 then return 0 end
  local top, b = a[a.n], 0
  while top >= 1 do top, b = floor(top / 2), b + 1 end
  return (a.n - 1) * 24 + b
end

-- Strings.
local function digits_of(s)
  local sign = 1
  if s:sub(1, 1) == "-" then sign, s = -1, s:sub(2) end
  return sign, s
end

function R.fromhex(s)
  local sign, d = digits_of(s)
  local r = {}
  local i = #d
  while i >= 1 do
    local j = math.max(1, i - 5)
    r[#r + 1] = tonumber(d:sub(j, i), 16)
    i = j - 1
  end
  return make(sign, r)
end

function R.tohex(a)
  if a.sign == 0 then return "0" end
  local parts = {string.format("%x", a[a.n])}
  for i = a.n - 1, 1, -1 do parts[#parts + 1] = string.format("%06x", a[i]) end
  return (a.sign < 0 and "-" or "") .. table.concat(parts)
end

function R.fromdec(s)
  local sign, d = digits_of(s)
  local r = R.zero()
  for i = 1, #d do r = muladd_small(r, 10, tonumber(d:sub(i, i))) end
  if r.n > 0 then r.sign = sign end
  return r
end

function R.todec(a)
  if a.sign == 0 then return "0" end
  local parts, q = {}, R.neg(R.neg(a))
  q.sign = 1
  while q.n > 0 do
    local rem
    q, rem = divmod_small(q, 10000000)
    parts[#parts + 1] = rem
  end
  local out = {string.format("%d", parts[#parts])}
  for i = #parts - 1, 1, -1 do out[#out + 1] = string.format("%07d", parts[i]) end
  return (a.sign < 0 and "-" or "") .. table.concat(out)
end

-- Two's complement in n limbs (bit 24n - 1 is the sign), and back.
local function tocomp(a, n)
  local r = {}
  if a.sign >= 0 then
    for i = 1, n do r[i] = a[i] or 0 end
  else
    local m = subabs(a, make(1, {1}))  -- |a| - 1, then invert
    for i = 1, n do r[i] = MASK - (m[i] or 0) end
  end
  return r
end

local function fromcomp(r, n)
  if r[n] >= BASE / 2 then
    local m = {}
    for i = 1, n do m[i] = MASK - r[i] end
    local mag = make(1, m)
    return R.neg(make(1, addabs(mag, make(1, {1}))))
  end
  local t = {}
  for i = 1, n do t[i] = r[i] end
  return make(1, t)
end

local function bitwise(f, a, b)
  local n = math.max(a.n, b.n) + 1
  local x, y, r = tocomp(a, n), tocomp(b, n), {}
  for i = 1, n do r[i] = f(x[i], y[i]) end
  return fromcomp(r, n)
end

function R.band(a, b) return bitwise(band, a, b) end
function R.bor(a, b) return bitwise(bor, a, b) end
function R.bxor(a, b) return bitwise(bxor, a, b) end
function R.bnot(a) return R.sub(R.neg(a), make(1, {1})) end

-- a * 2^s for s >= 0.
function R.shl(a, s)
  local r = {}
  local limbs, bits = floor(s / 24), s % 24
  for i = 1, limbs do r[i] = 0 end
  local m = R.pow(make(1, {2}), bits)
  local t = R.mul(make(1, (function()
    local c = {}
    for i = 1, a.n do c[i] = a[i] end
    return c
  end)()), m)
  for i = 1, t.n do r[limbs + i] = t[i] end
  return make(a.sign, r)
end

-- floor(a / 2^s) for s >= 0.
function R.shr(a, s)
  if a.sign == 0 then return R.zero() end
  local limbs, bits = floor(s / 24), s % 24
  local r, dropped = {}, false
  for i = 1, math.min(limbs, a.n) do if a[i] ~= 0 then dropped = true end end
  local d = 2 ^ bits
  for i = limbs + 1, a.n do
    local lo = a[i] % d
    if i == limbs + 1 and lo ~= 0 then dropped = true end
    local hi = floor(a[i] / d)
    local j = i - limbs
    r[j] = (r[j] or 0) + hi
    if j > 1 then r[j - 1] = r[j - 1] + lo * (BASE / d) end
  end
  local q = make(1, r)
  if a.sign < 0 then
    if dropped then q = R.add(q, make(1, {1})) end
    return R.neg(q)
  end
  return q
end

-- A random value: 'bits' bits of magnitude (top bit set), random sign.
function R.random(bits, rand)
  if bits == 0 then return R.zero() end
  local r = {}
  local n = floor((bits - 1) / 24) + 1
  for i = 1, n do r[i] = rand(0, MASK) end
  local top = bits - (n - 1) * 24  -- 1..24 bits in the top limb
  r[n] = r[n] % 2 ^ top
  if r[n] < 2 ^ (top - 1) then r[n] = r[n] + 2 ^ (top - 1) end
  return make(rand(0, 1) == 0 and -1 or 1, r)
end

-- 2^k + d for a small d (values next to powers of two).
function R.pow2plus(k, d)
  local r = R.shl(make(1, {1}), k)
  if d >= 0 then return R.add(r, make(d == 0 and 0 or 1, {d})) end
  return R.sub(r, make(1, {-d}))
end

function R.isneg(a) return a.sign < 0 end
function R.iszero(a) return a.sign == 0 end

return R
