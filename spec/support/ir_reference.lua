-- Spec support: the loop IR (see src/core/plan_lua.c for the table form) run
-- as a plain Lua loop, value comparison that sees types and -0.0, and a
-- random generator of affine loops.  Runs on Lua 5.4 and LuaJIT.
local cpm = require "cpm"

local M = {}

local LUA54 = not jit

local OPS = {
  add = function(x, y) return x + y end,
  sub = function(x, y) return x - y end,
  mul = function(x, y) return x * y end,
  mod = function(x, y) return x % y end,
  pow = function(x, y) return x ^ y end,
  div = function(x, y) return x / y end,
  unm = function(x) return -x end,
  move = function(x) return x end,
  index = function(x, y) return x[y] end,
}
if LUA54 then  -- operators LuaJIT cannot even parse
  local extra = assert(load [[
    return {
      idiv = function(x, y) return x // y end,
      band = function(x, y) return x & y end,
      bor = function(x, y) return x | y end,
      bxor = function(x, y) return x ~ y end,
      shl = function(x, y) return x << y end,
      shr = function(x, y) return x >> y end,
      bnot = function(x) return ~x end,
    }]])()
  for k, v in pairs(extra) do OPS[k] = v end
end
M.OPS = OPS

-- Executes the IR as `for i = a, b, c do <ops> end`; returns the slots.
function M.run(ir, a, b, c, env)
  local slots = {}
  for k, v in pairs(env) do slots[k] = v end
  local ops, index = ir.ops, ir.index
  local function val(x)
    if type(x) == "table" then return x.k end
    return slots[x]
  end
  for i = a, b, c do
    if index then slots[index] = i end
    for n = 1, #ops do
      local op = ops[n]
      slots[op[2]] = OPS[op[1]](val(op[3]), op[4] ~= nil and val(op[4]) or nil)
    end
  end
  return slots
end

local function vtype(x)
  if cpm.isbig(x) then return "big" end
  if type(x) == "number" then
    return math.type and math.type(x) or "number"
  end
  return type(x)
end

-- Are x and y the same value of the same type (bignums by value, -0.0
-- apart from 0.0, NaN equal to NaN)?  Returns ok, message.
function M.same(x, y)
  local tx, ty = vtype(x), vtype(y)
  if tx ~= ty then
    return false, ("types differ: %s (%s) vs %s (%s)"):format(tx, tostring(x), ty, tostring(y))
  end
  if tx == "big" then
    return cpm.eq(x, y), ("%s vs %s"):format(tostring(x), tostring(y))
  end
  if tx == "float" or tx == "number" then
    if x ~= x and y ~= y then return true end
    if x ~= y then return false, ("%.17g vs %.17g"):format(x, y) end
    if x == 0 and 1 / x ~= 1 / y then return false, "signed zeros differ" end
    return true
  end
  return x == y, ("%s vs %s"):format(tostring(x), tostring(y))
end

local function show(v)
  if type(v) == "table" and not cpm.isbig(v) then
    if v.k ~= nil then return "{k=" .. show(v.k) .. "}" end
    local parts = {}
    for i = 1, #v do parts[i] = show(v[i]) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  if type(v) == "string" then return ("%q"):format(v) end
  if math.type and math.type(v) == "float" then return ("%.17g"):format(v) .. "f" end
  return tostring(v) .. (cpm.isbig(v) and "B" or "")
end

function M.describe(ir, a, b, c, env)
  local lines = { ("for i = %s, %s, %s  (index slot %s)"):format(show(a), show(b), show(c),
    tostring(ir.index)) }
  local ks = {}
  for k in pairs(env) do ks[#ks + 1] = k end
  table.sort(ks)
  for _, k in ipairs(ks) do lines[#lines + 1] = ("  slot %d = %s"):format(k, show(env[k])) end
  for _, op in ipairs(ir.ops) do lines[#lines + 1] = "  " .. show(op) end
  return table.concat(lines, "\n")
end


-- {======================================================
-- Random affine loops
-- =======================================================

local Gen = {}
Gen.__index = Gen
M.generator = Gen

function Gen.new(seed)
  math.randomseed(seed)
  return setmetatable({}, Gen)
end

local function pick(t) return t[math.random(#t)] end

local BIGINTS = { 0, 1, -1, 2, 3, 7, 100, 2^31, -2^31, 2^52, 2^53 - 1 }

-- A value of the given kind ("int", "float", "big", "mixed").
function Gen:value(kind)
  local r = math.random(100)
  if kind == "mixed" then kind = pick(LUA54 and { "int", "big", "float" } or { "big", "float" }) end
  if kind == "int" then
    if r <= 60 then return math.random(-20, 20) end
    if r <= 80 then return math.random(-2^40, 2^40) end
    return pick { math.maxinteger, math.mininteger, math.maxinteger - 5, math.mininteger + 3,
                  4611686018427387904, -4611686018427387904 }
  elseif kind == "float" then
    if r <= 70 then return math.random(-20, 20) + 0.0 end
    if r <= 85 then return (math.random(-2^40, 2^40)) + 0.0 end
    return pick { 0.5, -2.25, 2^53, -2^53, 2^60, 1e300, 0.0, -0.0 }
  else
    if r <= 60 then return cpm.big(math.random(-20, 20)) end
    if r <= 80 then return cpm.big(pick(BIGINTS)) end
    return cpm.big("123456789012345678901234567890") * math.random(-3, 3)
  end
end

-- A small constant operand.
function Gen:const(kind)
  local r = math.random(100)
  if kind == "float" and r <= 30 then return { k = math.random(-4, 4) + 0.0 } end
  if LUA54 and kind == "mixed" and r <= 15 then return { k = math.random(-4, 4) + 0.0 } end
  return { k = math.random(-4, 4) }
end

-- A random loop: returns ir, env, a, b, c.
function Gen:loop(kind)
  local nv = math.random(1, 4)      -- carried variables: slots 0 .. nv-1
  local ni = math.random(0, 2)      -- invariants: nv .. nv+ni-1
  local nt = math.random(0, 3)      -- temporaries
  local index = nv + ni + nt        -- the loop variable
  local t0 = nv + ni
  local ir = { nslots = index + 1, index = index, liveout = {}, ops = {} }
  for s = 0, nv - 1 do ir.liveout[#ir.liveout + 1] = s end
  local env = {}
  for s = 0, nv + ni - 1 do env[s] = self:value(kind) end
  local defined, hoisted = {}, {}
  local function variant()
    local c = { math.random(0, nv - 1), index }
    for t in pairs(defined) do c[#c + 1] = t end
    return pick(c)
  end
  local function invariant()
    local c = { self:const(kind) }
    for s = nv, nv + ni - 1 do c[#c + 1] = s end
    for t in pairs(hoisted) do c[#c + 1] = t end
    return pick(c)
  end
  local function any() return math.random(3) == 1 and invariant() or variant() end
  local nops = math.random(1, 6)
  local hoistops = LUA54 and { "idiv", "mod", "add", "mul", "sub", "band", "shl" }
                          or { "mod", "add", "mul", "sub" }
  for _ = 1, nops do
    local r = math.random(100)
    local dst
    if nt > 0 and math.random(3) == 1 then dst = t0 + math.random(0, nt - 1)
    else dst = math.random(0, nv - 1) end
    local op
    if r <= 30 then op = { "add", dst, any(), any() }
    elseif r <= 45 then op = { "sub", dst, any(), any() }
    elseif r <= 65 then
      if math.random(2) == 1 then op = { "mul", dst, variant(), invariant() }
      else op = { "mul", dst, invariant(), variant() } end
    elseif r <= 72 then op = { "unm", dst, variant() }
    elseif r <= 82 then op = { "move", dst, any() }
    elseif r <= 92 and nt > 0 then  -- a hoisted invariant expression
      dst = t0 + math.random(0, nt - 1)
      local o = pick(hoistops)
      local y = invariant()
      if o == "shl" then y = { k = math.random(0, 3) } end
      if (o == "idiv" or o == "mod") then y = { k = pick { 2, 3, -3, 5 } } end
      op = { o, dst, invariant(), y }
    else op = { "add", dst, variant(), self:const(kind) } end
    -- a temporary written by a non-hoisted op is variant from now on
    local inv = op[1] ~= "move" and op[1] ~= "unm" and op[1] ~= "add" and op[1] ~= "sub"
                and op[1] ~= "mul"
    if dst >= t0 then
      if inv then hoisted[dst] = true; defined[dst] = nil
      else defined[dst] = true; hoisted[dst] = nil end
    end
    ir.ops[#ir.ops + 1] = op
  end
  -- temporaries read before written would read entry values: give them one
  for t = t0, t0 + nt - 1 do env[t] = self:value(kind) end
  local n = math.random(0, 200)
  local c = pick { 1, 1, 1, 2, 3, -1, -2 }
  local a = math.random(-50, 50)
  if kind == "float" and math.random(4) == 1 then a = a + 0.0 end
  local b = a + c * n + (c > 0 and math.random(0, c - 1) or -math.random(0, -c - 1))
  return ir, env, a, b, c
end

-- }======================================================

return M
