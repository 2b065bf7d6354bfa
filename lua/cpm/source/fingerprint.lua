-- What a compiled function is, apart from how its closure captures its
-- upvalues: the source front end compiles the text it found for f again
-- and compares the two, so that a file edited after f was loaded (even
-- with f's lines and upvalue names unchanged) is never taken for f's text.
--
-- On both VMs the comparison is of string.dump's output: every prototype's
-- instructions, constants (numbers bit for bit, strings, nested
-- prototypes), lines and names, as the VM's own compiler produced them.
-- LuaJIT rewrites instructions in place while it runs (a hot loop's FORL
-- becomes JFORL, an ITERN or a LOOP becomes JLOOP with a trace number, a
-- pairs() loop over another iterator is despecialised); its dump writer
-- undoes those patches (lj_bcwrite.c), so a function whose loops have run
-- hot dumps exactly as the parser wrote it.  What differs between f and
-- the recompiled function is cut out: the top prototype's upvalue
-- descriptors (they say where the enclosing function keeps each upvalue,
-- and the enclosing functions differ) and, for a LuaJIT main chunk (which
-- is compared with its text compiled as a function), the lines the
-- function itself spans, its line table kept as absolute lines.
local pcall, error, dump = pcall, error, string.dump
local byte, sub, concat = string.byte, string.sub, table.concat
local jit = rawget(_G, "jit")

-- LuaJIT 2.1.0-beta3's trace compiler crashed inside compiled parser code
-- (see cpm/source/grammar.lua); this runs once per optimized function.
if jit then jit.off(true, true) end
local _ENV = nil -- luacheck: ignore

local M = {}

-- A reader of unsigned LEB128 numbers (both VMs' dumps use the form of
-- their own: Lua 5.4 most significant group first with the stop bit on
-- the last byte, LuaJIT least significant first with a continuation bit).
local function reader(s, pos)
  local r = { pos = pos }
  function r.byte()
    local b = byte(s, r.pos)
    if not b then error("short dump", 0) end
    r.pos = r.pos + 1
    return b
  end
  function r.skip(n)
    if n < 0 or r.pos + n - 1 > #s then error("short dump", 0) end
    r.pos = r.pos + n
  end
  return r
end

---------------------------------------------------------------- Lua 5.4

-- Reads a dump from its start: header, then the top function up to its
-- upvalue descriptors.  Returns the positions of the descriptor bytes.
local function upvalue_bytes(s)
  local r = reader(s, 31 + 1 + 1)  -- header, then the main closure's upvalue count
  local function varint()
    local x = 0
    repeat
      local b = r.byte()
      x = x * 128 + b % 128
    until b >= 128
    return x
  end
  local function str()
    local n = varint()
    if n > 0 then r.skip(n - 1) end
  end
  str()                 -- source
  varint(); varint()    -- linedefined, lastlinedefined
  r.skip(3)             -- numparams, is_vararg, maxstacksize
  r.skip(4 * varint())  -- code
  for _ = 1, varint() do    -- constants
    local tag = r.byte()
    if tag == 3 or tag == 19 then r.skip(8)
    elseif tag == 4 or tag == 20 then str()
    elseif tag ~= 0 and tag ~= 1 and tag ~= 17 then error("unknown constant", 0) end
  end
  local n = varint()
  return r.pos, r.pos + 3 * n
end

local function lua54(f)
  local ok, s = pcall(dump, f)
  if not ok then return nil, s end
  if sub(s, 1, 5) ~= "\27Lua\84" then return nil, "not a Lua 5.4 dump" end
  local ok2, a, b = pcall(upvalue_bytes, s)
  if not ok2 then return nil, a end
  return sub(s, 1, a - 1) .. sub(s, b)
end

---------------------------------------------------------------- LuaJIT

-- The dump format of lj_bcdump.h: "\27LJ", version, flags (ULEB128), the
-- chunk name unless stripped, then each prototype (children before their
-- parent, the top function last) as its length and its bytes, then 0.
-- A prototype: flags, numparams, framesize, sizeuv (a byte each); sizekgc,
-- sizekn, sizebc (ULEB128); unless stripped sizedbg, and when it is not 0
-- firstline and numline; the instructions (4 bytes each, the function
-- header left out); the upvalue descriptors (2 bytes each); the constants;
-- the debug information, whose first part is the line of each instruction
-- relative to firstline, in 1, 2 or 4 bytes as numline needs.
local F_BE, F_STRIP = 1, 2

local function lj(s, main)
  local r = reader(s, 5)
  local function uleb()
    local x, m = 0, 1
    repeat
      local b = r.byte()
      x = x + (b % 128) * m
      m = m * 128
    until b < 128 or m > 2^35
    return x
  end
  if sub(s, 1, 3) ~= "\27LJ" then error("not a LuaJIT dump", 0) end
  local flags = uleb()
  local strip = flags % 4 >= F_STRIP
  local be = flags % 2 == F_BE
  if not strip then r.skip(uleb()) end  -- the chunk name: both are loaded under f's
  local protos = {}
  while true do
    local len = uleb()
    if len == 0 then break end
    protos[#protos + 1] = { r.pos, r.pos + len - 1 }
    r.skip(len)
  end
  if r.pos ~= #s + 1 or #protos == 0 then error("bad dump", 0) end
  local out = { sub(s, 1, 4), "|", flags }
  for i = 1, #protos - 1 do out[#out + 1] = sub(s, protos[i][1], protos[i][2]) end
  -- the top prototype
  local a, b = protos[#protos][1], protos[#protos][2]
  r.pos = a
  r.skip(3)
  local sizeuv = r.byte()
  uleb(); uleb()
  local sizebc = uleb()
  out[#out + 1] = "|" .. sub(s, a, r.pos - 1)
  local sizedbg, firstline, numline = 0, 0, 0
  local dbgpos = r.pos
  if not strip then
    sizedbg = uleb()
    if sizedbg > 0 then firstline = uleb(); numline = uleb() end
  end
  if not main then out[#out + 1] = "|" .. sub(s, dbgpos, r.pos - 1) end
  local bcpos = r.pos
  r.skip(4 * sizebc)
  out[#out + 1] = "|" .. sub(s, bcpos, r.pos - 1)
  r.skip(2 * sizeuv)  -- the upvalue descriptors
  local dbg = b + 1 - sizedbg
  if dbg < r.pos then error("bad dump", 0) end
  out[#out + 1] = "|" .. sub(s, r.pos, dbg - 1)
  if main and sizedbg > 0 then
    local w = numline < 256 and 1 or numline < 65536 and 2 or 4
    if w * sizebc > sizedbg then error("bad dump", 0) end
    local lines = {}
    for pc = 0, sizebc - 1 do
      local v, p = 0, dbg + pc * w
      for k = 0, w - 1 do
        local bk = byte(s, be and p + k or p + w - 1 - k)
        v = v * 256 + bk
      end
      lines[pc + 1] = firstline + v
    end
    out[#out + 1] = "|" .. concat(lines, ",")
    out[#out + 1] = "|" .. sub(s, dbg + w * sizebc, b)
  else
    out[#out + 1] = "|" .. sub(s, dbg, b)
  end
  return concat(out)
end

local function luajit(f, main)
  local ok, s = pcall(dump, f)
  if not ok then return nil, s end
  local ok2, fp = pcall(lj, s, main)
  if not ok2 then return nil, fp end
  return fp
end

-- of(f [, main]) -> a string that is equal for two functions compiled
-- from the same text at the same lines, or nil, why when it cannot be
-- computed (string.dump failed, or its output is not what was expected).
-- With main (LuaJIT only), the lines the function itself spans are left
-- out: a main chunk is compared with its text compiled as a function.
-- On Lua 5.4 a main chunk never equals a function (it always has _ENV as
-- its first upvalue), so the source front end leaves main chunks alone.
M.of = jit and luajit or lua54

return M
