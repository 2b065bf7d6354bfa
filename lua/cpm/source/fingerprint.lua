-- What a compiled function is, apart from how its closure captures its
-- upvalues: the source front end compiles the text it found for f again
-- and compares the two, so that a file edited after f was loaded (even
-- with f's lines and upvalue names unchanged) is never taken for f's text.
--
-- Lua 5.4: string.dump with the top function's upvalue descriptors
-- (register or enclosing upvalue, and kind) cut out; they describe the
-- enclosing function, which differs.  LuaJIT: jit.util's view of every
-- prototype (bytecode, lines, constants, upvalue names), with the
-- instructions the VM patches at run time (hot loops, pairs()) read back
-- as the parser emitted them.
local type, tostring, pairs, pcall, require, error, dump =
  type, tostring, pairs, pcall, require, error, string.dump
local byte, sub, format, concat, floor, table_sort =
  string.byte, string.sub, string.format, table.concat, math.floor, table.sort
local jit = rawget(_G, "jit")

-- LuaJIT 2.1.0-beta3's trace compiler crashed inside compiled parser code
-- (see cpm/source/grammar.lua); this runs once per optimized function.
if jit then jit.off(true, true) end

local util, bcnames
if jit then
  util = require "jit.util"
  local ok, vmdef = pcall(require, "jit.vmdef")
  bcnames = ok and vmdef.bcnames
end
local _ENV = nil -- luacheck: ignore

local M = {}

---------------------------------------------------------------- Lua 5.4

-- Reads a dump from its start: header, then the top function up to its
-- upvalue descriptors.  Returns the positions of the descriptor bytes.
local function upvalue_bytes(s)
  local pos = 31 + 1 + 1  -- header, then the main closure's upvalue count
  local function varint()
    local x = 0
    repeat
      local b = byte(s, pos)
      if not b then error("short dump") end
      pos = pos + 1
      x = x * 128 + b % 128
    until b >= 128
    return x
  end
  local function str()
    local n = varint()
    if n > 0 then pos = pos + n - 1 end
  end
  str()                 -- source
  varint(); varint()    -- linedefined, lastlinedefined
  pos = pos + 3         -- numparams, is_vararg, maxstacksize
  pos = pos + 4 * varint()  -- code
  for _ = 1, varint() do    -- constants
    local tag = byte(s, pos)
    pos = pos + 1
    if tag == 3 or tag == 19 then pos = pos + 8
    elseif tag == 4 or tag == 20 then str()
    elseif tag ~= 0 and tag ~= 1 and tag ~= 17 then error("unknown constant") end
  end
  local n = varint()
  return pos, pos + 3 * n
end

local function lua54(f)
  local ok, s = pcall(dump, f)
  if not ok or sub(s, 1, 5) ~= "\27Lua\84" then return nil end
  local ok2, a, b = pcall(upvalue_bytes, s)
  if not ok2 then return nil end
  return sub(s, 1, a - 1) .. sub(s, b)
end

---------------------------------------------------------------- LuaJIT

-- Opcodes the VM rewrites in place, as the parser wrote them.
local unpatched = { IFORL = "FORL", JFORL = "FORL", JFORI = "FORI",
  IITERL = "ITERL", JITERL = "ITERL", ILOOP = "LOOP", JLOOP = "LOOP",
  IFUNCF = "FUNCF", JFUNCF = "FUNCF", IFUNCV = "FUNCV", JFUNCV = "FUNCV",
  ITERN = "ITERC", ISNEXT = "JMP" }
-- Their operand D becomes a trace number: only A is compared.
local traced = { FORI = true, FORL = true, ITERL = true, LOOP = true,
  FUNCF = true, FUNCV = true }

local function opname(op)
  return (sub(bcnames, op * 6 + 1, op * 6 + 6):gsub(" +$", ""))
end

local proto

local function value(v, out)
  local t = type(v)
  if t == "number" then out[#out + 1] = format("n%a", v)
  elseif t == "string" then out[#out + 1] = format("s%d:%s", #v, v)
  elseif t == "proto" then proto(v, out)
  elseif t == "table" then
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table_sort(keys, function(a, b)
      if type(a) ~= type(b) then return type(a) < type(b) end
      if type(a) == "number" or type(a) == "string" then return a < b end
      return tostring(a) < tostring(b)
    end)
    out[#out + 1] = "{"
    for i = 1, #keys do value(keys[i], out); value(v[keys[i]], out) end
    out[#out + 1] = "}"
  else out[#out + 1] = t .. ":" .. tostring(v) end
end

function proto(f, out, main)
  local info = util.funcinfo(f)
  out[#out + 1] = format("F%s,%s,%s,%s,%s,%s,%s,%s,%s",
    main and "" or tostring(info.linedefined),
    main and "" or tostring(info.lastlinedefined), tostring(info.params), tostring(info.stackslots),
    tostring(info.isvararg), tostring(info.bytecodes), tostring(info.gcconsts),
    tostring(info.nconsts), tostring(info.upvalues))
  for pc = 0, info.bytecodes - 1 do
    local ins = util.funcbc(f, pc)
    local op = ins % 256
    local name = opname(op)
    name = unpatched[name] or name
    if traced[name] then
      out[#out + 1] = format("%s %d", name, floor(ins / 256) % 256)
    else
      out[#out + 1] = format("%s %d", name, floor(ins / 256))
    end
    -- (the header instruction of a main chunk is on line 0)
    out[#out + 1] = (main and pc == 0) and "" or tostring(util.funcinfo(f, pc).currentline)
  end
  for i = 0, (info.nconsts or 0) - 1 do value(util.funck(f, i), out) end
  for i = 1, info.gcconsts or 0 do value(util.funck(f, -i), out) end
  for i = 0, (info.upvalues or 0) - 1 do out[#out + 1] = tostring(util.funcuvname(f, i)) end
end

local function luajit(f, main)
  if not bcnames then return nil end
  local out = {}
  local ok = pcall(proto, f, out, main)
  if not ok then return nil end
  return concat(out, "\n")
end

-- of(f [, main]) -> a string that is equal for two functions compiled
-- from the same text at the same lines, or nil when it cannot be computed.
-- With main (LuaJIT only), the lines the function itself spans are left
-- out: a main chunk is compared with its text compiled as a function.
-- On Lua 5.4 a main chunk never equals a function (it always has _ENV as
-- its first upvalue), so the source front end leaves main chunks alone.
M.of = jit and luajit or lua54

return M
