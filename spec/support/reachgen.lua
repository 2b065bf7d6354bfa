-- Spec support: random loop functions beyond affine bodies, as source text,
-- and random arguments for them.
--   poly: "solvable" polynomial bodies -- variables in strata, each updated
--         linearly in itself plus a polynomial in the loop variable and the
--         variables below it; now and then a body whose degree grows
--         (r = r * i), which must run as written.
--   mod:  recurrences whose carried values are reduced modulo one
--         invariant m (a parameter); now and then one that mixes rings
--         (s = s + x with x reduced and s not) or squares (x = x * x % m),
--         which must run as written.
-- Every function is `function(n, k1, k2, k3, v1..vk)`: the loop runs i from
-- k3 to k3 + n - 1 (k3 near 3.04e9 puts i * i at the edge of the integer
-- range), k1 and k2 are invariant parameters.  The source uses only syntax
-- both Lua 5.4 and LuaJIT accept.
local cpm = require "cpm"

local M = {}

local function pick(t) return t[math.random(#t)] end

local Gen = {}
Gen.__index = Gen

-- opts: seed, lua54 (integers exist)
function M.new(opts)
  math.randomseed(opts.seed)
  return setmetatable({ lua54 = opts.lua54 }, Gen)
end

-- A polynomial over 'vars' (the loop variable and lower variables), the
-- parameters and small constants, of degree at most 'deg'.
function Gen:poly(vars, deg)
  local r = math.random(100)
  if deg <= 1 or r <= 30 then
    if math.random(3) == 1 then
      return pick { tostring(math.random(-9, 9)), "k1", "(k2 + 1)", "2" }
    end
    return pick(vars)
  end
  if r <= 60 then  -- a product of two lower-degree parts
    local d1 = math.random(1, deg - 1)
    return ("(%s) * (%s)"):format(self:poly(vars, d1), self:poly(vars, deg - d1))
  end
  if r <= 75 then return ("%s + %s"):format(self:poly(vars, deg), self:poly(vars, deg - 1)) end
  if r <= 88 then return ("%s - (%s)"):format(self:poly(vars, deg - 1), self:poly(vars, deg)) end
  if r <= 94 then return ("-(%s)"):format(self:poly(vars, deg)) end
  return ("%s * (%s)"):format(pick { "3", "k1", "-2" }, self:poly(vars, deg))
end

-- A random polynomial loop function; returns its source and its number of
-- carried variables.
function Gen:polyfunc()
  local nv = math.random(1, 3)
  local vars = {}
  for j = 1, nv do vars[j] = "v" .. j end
  local body, below = {}, { "i", "i" }
  for j = 1, nv do
    local v = vars[j]
    local r = math.random(100)
    local self_part = pick { v, v, v, "2 * " .. v, "-" .. v, "k2 * " .. v }
    if r <= 8 and #body == 0 then  -- degree grows: refused, runs as written
      body[#body + 1] = ("%s = %s * %s"):format(v, v, pick { "i", "(i + k1)" })
    elseif r <= 20 then  -- a temporary, polynomial in what is below
      body[#body + 1] = ("local t%d = %s"):format(j, self:poly(below, 2))
      body[#body + 1] = ("%s = %s + t%d * %s"):format(v, self_part, j, pick(below))
    else
      body[#body + 1] = ("%s = %s + %s"):format(v, self_part, self:poly(below, math.random(1, 3)))
    end
    below[#below + 1] = v
  end
  local src = {
    ("return function(n, k1, k2, k3, %s)"):format(table.concat(vars, ", ")),
    "  for i = k3, k3 + n - 1 do",
  }
  for _, s in ipairs(body) do src[#src + 1] = "    " .. s end
  src[#src + 1] = "  end"
  src[#src + 1] = ("  return %s"):format(table.concat(vars, ", "))
  src[#src + 1] = "end"
  return table.concat(src, "\n"), nv
end

-- A random modular loop function `function(n, m, k1, v1..vk)`; returns
-- its source and its number of carried variables.
function Gen:modfunc()
  local nv = math.random(1, 3)
  local vars = {}
  for j = 1, nv do vars[j] = "v" .. j end
  local body = {}
  local r = math.random(100)
  local function affine(j)  -- over every variable, i, k1, constants
    local t = {}
    for _ = 1, math.random(1, 3) do
      local v = pick(vars)
      t[#t + 1] = pick { v, v, "2 * " .. v, "k1 * " .. v, "-" .. v, "i", "3", "k1" }
    end
    if j > 1 and math.random(4) == 1 then  -- a product of a lower variable
      t[#t + 1] = ("%s * %s"):format(vars[math.random(j - 1)], pick { "i", vars[1] })
    end
    return table.concat(t, " + ")
  end
  if r <= 20 and nv >= 2 then  -- simultaneous: a, b = b, (a + b) % m
    local lhs, rhs = {}, {}
    for j = 1, nv do
      lhs[j] = vars[j]
      rhs[j] = j < nv and vars[j + 1] or ("(%s) %% m"):format(affine(1))
    end
    body[1] = ("%s = %s"):format(table.concat(lhs, ", "), table.concat(rhs, ", "))
  else
    for j = 1, nv do
      if math.random(100) <= 20 and j == 1 then
        body[#body + 1] = ("local t = %s %% m"):format(affine(j))
        body[#body + 1] = ("%s = (t * %s + 1) %% m"):format(vars[j], pick { "3", "k1", "i" })
      else
        body[#body + 1] = ("%s = (%s) %% m"):format(vars[j], affine(j))
      end
    end
  end
  r = math.random(100)
  if r <= 8 then body[#body + 1] = "v1 = v1 * v1 % m"  -- degree grows
  elseif r <= 14 and nv >= 2 then body[#body + 1] = ("%s = %s + v1"):format(vars[nv], vars[nv]) end
  local src = {
    ("return function(n, m, k1, %s)"):format(table.concat(vars, ", ")),
    "  for i = 1, n do",
  }
  for _, b in ipairs(body) do src[#src + 1] = "    " .. b end
  src[#src + 1] = "  end"
  src[#src + 1] = ("  return %s"):format(table.concat(vars, ", "))
  src[#src + 1] = "end"
  return table.concat(src, "\n"), nv
end

-- A modulus of kind "int", "float", "big" or "mixed".
function Gen:modulus(kind)
  if kind == "mixed" then
    kind = pick(self.lua54 and { "int", "big", "float" } or { "big", "float" })
  end
  if kind == "float" then
    return pick { 1000000007.0, 97.0, -7.0, 2.0, 0.0, 1.0, 2^40 + 15, 2^52 + 1, 3.5 }
  elseif kind == "big" then
    return pick { cpm.big(1000000007), cpm.big(10)^20 + 39, -(cpm.big(2)^70 + 25), cpm.big(0) }
  end
  return pick { 1000000007, 97, -7, 2, 1, 0, -2147483648, 3037000493,
                4611686018427387847, math.mininteger, math.maxinteger }
end

-- Arguments of a modular function: n, m, k1, v1..vn.
function Gen:modargs(kind, nv)
  local args = { math.random(0, 200), self:modulus(kind), nil }
  local num = self.lua54 and kind ~= "float" and function(x) return x end
              or function(x) return x + 0.0 end
  args[3] = num(pick { 1, 2, -3, 12345 })
  for j = 1, nv do
    args[3 + j] = math.random(3) == 1 and self:value(kind) or num(math.random(-50, 50))
  end
  args.n = 3 + nv
  return args
end

-- A value of kind "int", "float", "big" or "mixed".
function Gen:value(kind)
  if kind == "mixed" then
    kind = pick(self.lua54 and { "int", "big", "float" } or { "big", "float" })
  end
  local r = math.random(100)
  if kind == "int" then
    if r <= 70 then return math.random(-30, 30) end
    if r <= 90 then return math.random(-2^31, 2^31) end
    return pick { math.maxinteger, math.mininteger, 3037000499, -3037000500 }
  elseif kind == "float" then
    if r <= 75 then return math.random(-30, 30) + 0.0 end
    if r <= 90 then return math.random(-2^26, 2^26) + 0.0 end
    return pick { 0.5, 2^53, -0.0, 94906265.0, 1e300 }
  else
    if r <= 70 then return cpm.big(math.random(-30, 30)) end
    return cpm.big("987654321987654321987654321") * math.random(-2, 2)
  end
end

-- Arguments: n, k1, k2, k3, v1..vn.
function Gen:args(kind, nv)
  local num = self.lua54 and kind ~= "float" and function(x) return x end
              or function(x) return x + 0.0 end
  local args = { math.random(0, 200), num(math.random(-6, 6)), num(pick { 1, 2, -1, 0 }) }
  local r = math.random(100)
  -- the start: small, or where i * i nears 2^63 (integers) or 2^53 (floats)
  if r <= 70 then args[4] = num(math.random(-20, 20))
  elseif r <= 85 then args[4] = num(pick { 3037000400, 3037000499, -3037000560 })
  else args[4] = num(pick { 94906200, 94906265, -94906300 }) end
  for j = 1, nv do args[4 + j] = self:value(kind) end
  args.n = 4 + nv
  return args
end

return M
