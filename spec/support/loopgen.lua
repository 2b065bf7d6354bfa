-- Spec support: random Lua functions with for loops, as source text, and
-- random arguments for them.  Mostly affine bodies (which cpm must compute
-- exactly), some not (which must run as written).  The source uses only
-- syntax both Lua 5.4 and LuaJIT accept unless `lua54` is set.
local cpm = require "cpm"

local M = {}

local function pick(t) return t[math.random(#t)] end

local Gen = {}
Gen.__index = Gen

-- opts: lua54 (use 5.4-only operators), seed
function M.new(opts)
  math.randomseed(opts.seed)
  return setmetatable({ lua54 = opts.lua54, nonaffine = opts.nonaffine or 10 }, Gen)
end

-- An expression over the carried variables, the loop variable, the
-- invariant parameters k1, k2 and small constants; 'depth' bounds it.
function Gen:expr(vars, depth)
  local r = math.random(100)
  if depth <= 0 or r <= 35 then
    local atoms = { "i", "k1", "k2", tostring(math.random(-9, 9)), "(" .. math.random(-9, 9) .. ")" }
    for _, v in ipairs(vars) do atoms[#atoms + 1] = v; atoms[#atoms + 1] = v end
    if math.random(10) == 1 then atoms[#atoms + 1] = pick { "2.0", "0.5", "3" } end
    return pick(atoms)
  end
  local a = self:expr(vars, depth - 1)
  if r <= 55 then return a .. " + " .. self:expr(vars, depth - 1) end
  if r <= 70 then return a .. " - " .. self:expr(vars, depth - 1) end
  if r <= 82 then  -- multiplication by something invariant
    local c = pick { tostring(math.random(-5, 5)), "k1", "k2", "(k1 + 1)", "(k1 - k2)" }
    return math.random(2) == 1 and (c .. " * " .. a) or ("(" .. a .. ") * " .. c)
  end
  if r <= 87 then return "-(" .. a .. ")" end
  if r <= 93 then  -- an invariant expression of any operator: hoisted
    local ops = self.lua54 and { "k1 // 3", "k2 % 5", "k1 ^ 2", "(k1 & 7)", "(k2 << 2)", "k1 / 4" }
                            or { "k2 % 5", "k1 ^ 2", "k1 / 4", "math.floor(k1 / 3)" }
    return "(" .. pick(ops) .. ")"
  end
  if math.random(100) <= self.nonaffine * 3 then  -- not affine: must fall back
    -- (a product of two carried bignums would square their size each
    -- iteration: too slow for a spec, so the non-affine forms stay small)
    return pick { "(" .. a .. ") % 97", "(" .. a .. ") * (" .. pick(vars) .. " % 5)" }
  end
  return "(" .. a .. ")"
end

-- A random function; returns its source.
function Gen:func()
  local nv = math.random(1, 3)
  local vars = {}
  for j = 1, nv do vars[j] = "v" .. j end
  local body = {}
  local nst = math.random(1, 4)
  local locals = {}
  for _ = 1, nst do
    local r = math.random(100)
    local rhsvars = {}
    for _, v in ipairs(vars) do rhsvars[#rhsvars + 1] = v end
    for _, l in ipairs(locals) do rhsvars[#rhsvars + 1] = l end
    if r <= 50 then
      body[#body + 1] = ("%s = %s"):format(pick(vars), self:expr(rhsvars, 2))
    elseif r <= 75 and nv >= 2 then
      local a, b = vars[1], vars[2]
      body[#body + 1] = ("%s, %s = %s, %s"):format(a, b, self:expr(rhsvars, 2), self:expr(rhsvars, 2))
    elseif r <= 90 then
      local name = "t" .. (#locals + 1)
      body[#body + 1] = ("local %s = %s"):format(name, self:expr(rhsvars, 2))
      locals[#locals + 1] = name
    elseif math.random(100) <= self.nonaffine then
      body[#body + 1] = pick {
        "if v1 == nil then break end",
        ("sink(%s)"):format(pick(vars)),
        ("tab[1] = %s"):format(pick(vars)),
        ("%s = %s .. ''"):format(vars[1], vars[1]),
      }
    else
      body[#body + 1] = ("%s = %s + i"):format(pick(vars), pick(vars))
    end
  end
  local step = pick { "", "", "", ", 2", ", 3", ", -1", ", -2", ", k2" }
  local start = step:find("-") and "n" or pick { "1", "1", "0", "-5", "(k1 % 10)" }
  local limit = step:find("-") and pick { "1", "0", "-7" } or "n"
  local src = {
    "local sink, tab = ...",
    ("return function(n, k1, k2, %s)"):format(table.concat(vars, ", ")),
    ("  for i = %s, %s%s do"):format(start, limit, step),
  }
  for _, s in ipairs(body) do src[#src + 1] = "    " .. s end
  src[#src + 1] = "  end"
  src[#src + 1] = ("  return %s"):format(table.concat(vars, ", "))
  src[#src + 1] = "end"
  return table.concat(src, "\n"), nv
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
    return pick { math.maxinteger, math.mininteger, 4611686018427387904 }
  elseif kind == "float" then
    if r <= 75 then return math.random(-30, 30) + 0.0 end
    if r <= 90 then return math.random(-2^40, 2^40) + 0.0 end
    return pick { 0.5, 2^53, -0.0, 1e300, 0 / 0 }
  else
    if r <= 70 then return cpm.big(math.random(-30, 30)) end
    return cpm.big("987654321987654321987654321") * math.random(-2, 2)
  end
end

-- Arguments: n, k1, k2, v1..vn.
function Gen:args(kind, nv)
  local args = { math.random(0, 200), nil, nil }
  local k = kind == "big" and "int" or kind
  if not self.lua54 and k == "int" then k = "float" end
  args[2] = math.random(4) == 1 and self:value(k) or math.random(-6, 6)
  args[3] = math.random(4) == 1 and self:value(k) or pick { 1, 2, 3, -1 }
  -- k2 may be the step: LuaJIT runs a loop of step 0 forever (Lua 5.4 raises)
  if not self.lua54 and args[3] == 0 then args[3] = 1 end
  for j = 1, nv do args[3 + j] = self:value(kind) end
  return args
end

return M
