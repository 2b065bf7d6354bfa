-- LuaJIT 2.1 bytecode dumps (string.dump) as fields to mutate: where each
-- count, flag, instruction, upvalue descriptor and constant of a dump is,
-- so that the chunk fuzzer (tools/fuzz-chunks.lua) can change one of them
-- and keep the rest of the layout as LuaJIT's loader and cpm's reader
-- (src/luajit/jitbc_read.c) expect it: a count written with more or fewer
-- bytes moves the prototype's length (and the debug info's size) with it,
-- so a mutant gets past the length checks to the checks of what the
-- fields mean.  The grammar is the one in src/luajit/jitbc.h (version 2,
-- little-endian).  Lua 5.1 syntax with the bit library: LuaJIT only.
--
--   local chunkjit = require "chunkjit"
--   local parsed = chunkjit.parse(dump)          -- raises on a layout it
--                                                -- does not read to the end
--   local mutant = chunkjit.mutate(dump, parsed, math.random)

local M = {}

-- The opcodes of LuaJIT 2.1 in their order (lj_bc.h) with the operand
-- modes of A, B and C-or-D, as in src/luajit/jitbc.h.
local OPDEF = [[
ISLT var ___ var  ISGE var ___ var  ISLE var ___ var  ISGT var ___ var
ISEQV var ___ var  ISNEV var ___ var  ISEQS var ___ str  ISNES var ___ str
ISEQN var ___ num  ISNEN var ___ num  ISEQP var ___ pri  ISNEP var ___ pri
ISTC dst ___ var  ISFC dst ___ var  IST ___ ___ var  ISF ___ ___ var
ISTYPE var ___ lit  ISNUM var ___ lit
MOV dst ___ var  NOT dst ___ var  UNM dst ___ var  LEN dst ___ var
ADDVN dst var num  SUBVN dst var num  MULVN dst var num  DIVVN dst var num
MODVN dst var num  ADDNV dst var num  SUBNV dst var num  MULNV dst var num
DIVNV dst var num  MODNV dst var num  ADDVV dst var var  SUBVV dst var var
MULVV dst var var  DIVVV dst var var  MODVV dst var var  POW dst var var
CAT dst rbase rbase  KSTR dst ___ str  KCDATA dst ___ cdata
KSHORT dst ___ lits  KNUM dst ___ num  KPRI dst ___ pri  KNIL base ___ base
UGET dst ___ uv  USETV uv ___ var  USETS uv ___ str  USETN uv ___ num
USETP uv ___ pri  UCLO rbase ___ jump  FNEW dst ___ func
TNEW dst ___ lit  TDUP dst ___ tab  GGET dst ___ str  GSET var ___ str
TGETV dst var var  TGETS dst var str  TGETB dst var lit  TGETR dst var var
TSETV var var var  TSETS var var str  TSETB var var lit  TSETM base ___ num
TSETR var var var  CALLM base lit lit  CALL base lit lit  CALLMT base ___ lit
CALLT base ___ lit  ITERC base lit lit  ITERN base lit lit  VARG base lit lit
ISNEXT base ___ jump  RETM base ___ lit  RET rbase ___ lit  RET0 rbase ___ lit
RET1 rbase ___ lit  FORI base ___ jump  JFORI base ___ jump
FORL base ___ jump  IFORL base ___ jump  JFORL base ___ lit
ITERL base ___ jump  IITERL base ___ jump  JITERL base ___ lit
LOOP rbase ___ jump  ILOOP rbase ___ jump  JLOOP rbase ___ lit
JMP rbase ___ jump
]]
M.OPS = {}      -- [opcode] = { name =, a =, b =, cd = }
M.OP = {}       -- [name] = opcode
for name, a, b, cd in OPDEF:gmatch("(%u[%u%d]*) ([%l_]+) ([%l_]+) (%l+)") do
  local op = #M.OPS + (M.OPS[0] and 1 or 0)
  M.OPS[op] = { name = name, a = a, b = b, cd = cd }
  M.OP[name] = op
end
assert(M.OP.JMP == 88, "the opcode table lost an opcode")
-- opcodes a dump may hold (the others only the VM writes into running code)
local DUMPOPS = {}
for op = 0, #M.OPS do
  local n = M.OPS[op].name
  if not (n:match("^I.*L$") and n ~= "ITERL" or n:match("^J") and n ~= "JMP") then
    DUMPOPS[#DUMPOPS + 1] = op
  end
end

local STRIP = 2
local KGC_CHILD, KGC_TAB, KGC_STR = 0, 1, 5

-- {======================================================
-- Reading
-- =======================================================

-- Reads a dump; returns { fields = { f, ... }, protos = { p, ... } (dump
-- order), flags = f } where each field is { kind =, at = first byte
-- (1-based), len = bytes, value =, what =, proto = } and kind one of
-- "byte", "uleb" (a ULEB128), "knum" (a number constant: value { isnum,
-- lo, hi }), "u16" (an upvalue descriptor), "ins" (an instruction: value
-- a 32-bit word, with pc = its code index).  A proto is { at, stop (byte
-- after its last), lenfield, dbgfield (sizedbg, or nil), flags, numparams,
-- framesize, nuv, nkgc, nkn, nbc, code = { ins fields }, kgc = { type
-- fields }, uv = { u16 fields } }.  Raises on any layout it does not read
-- to the end.
function M.parse(s)
  local pos, fields, protos = 1, {}, {}
  local proto, indbg   -- the prototype being read; inside its debug info?
  local function field(kind, at, value, what, extra)
    local f = { kind = kind, at = at, len = pos - at, value = value,
                what = what, proto = proto, dbg = indbg }
    for k, v in pairs(extra or {}) do f[k] = v end
    fields[#fields + 1] = f
    return f
  end
  local function rawbyte()
    local b = s:byte(pos)
    if not b then error("truncated dump", 0) end
    pos = pos + 1
    return b
  end
  local function byte(what)
    local at = pos
    return field("byte", at, rawbyte(), what)
  end
  local function rawuleb()
    local v, m = 0, 1
    repeat
      local b = rawbyte()
      v = v + (b % 128) * m
      m = m * 128
      if m > 2 ^ 35 then error("overlong number", 0) end
    until b < 128
    return v
  end
  local function uleb(what)
    local at = pos
    return field("uleb", at, rawuleb(), what)
  end
  local function skip(n)
    if pos + n - 1 > #s then error("truncated dump", 0) end
    pos = pos + n
  end
  local function tabk()
    local t = rawuleb()
    if t >= 5 then skip(t - 5)
    elseif t == 3 then rawuleb()
    elseif t == 4 then rawuleb(); rawuleb() end
  end

  if s:sub(1, 4) ~= "\27LJ\2" then error("not a LuaJIT dump", 0) end
  pos = 5
  local flags = uleb("header flags")
  if flags.value % 4 < STRIP then
    skip(uleb("chunk name length").value)
  end
  local stripped = flags.value % 4 >= STRIP
  while true do
    local lenat = pos
    local plen = rawuleb()
    if plen == 0 then break end
    proto = { at = lenat, code = {}, kgc = {}, uv = {} }
    protos[#protos + 1] = proto
    pos = lenat
    proto.lenfield = uleb("proto length")
    local stop = pos + plen
    proto.stop = stop
    proto.flags = byte("proto flags").value
    proto.numparams = byte("numparams").value
    proto.framesize = byte("framesize").value
    proto.nuv = byte("numuv").value
    proto.nkgc = uleb("numkgc").value
    proto.nkn = uleb("numkn").value
    proto.nbc = uleb("numbc").value
    local sizedbg = 0
    if not stripped then
      proto.dbgfield = uleb("sizedbg")
      sizedbg = proto.dbgfield.value
      if sizedbg > 0 then uleb("firstline"); proto.numline = uleb("numline").value end
    end
    for pc = 0, proto.nbc - 1 do
      local at = pos
      local b0, b1, b2, b3 = rawbyte(), rawbyte(), rawbyte(), rawbyte()
      proto.code[pc] = field("ins", at, b0 + b1 * 256 + b2 * 65536 + b3 * 16777216,
                             "instruction", { pc = pc })
    end
    for i = 1, proto.nuv do
      local at = pos
      local lo, hi = rawbyte(), rawbyte()
      proto.uv[i] = field("u16", at, lo + hi * 256, "upvalue descriptor")
    end
    for i = 1, proto.nkgc do
      local t = uleb("kgc type")
      proto.kgc[i] = t
      t = t.value
      if t >= KGC_STR then skip(t - KGC_STR)
      elseif t == KGC_TAB then
        local na, nh = uleb("table array size").value, uleb("table hash size").value
        for _ = 1, na do tabk() end
        for _ = 1, 2 * nh do tabk() end
      elseif t == 2 or t == 3 then rawuleb(); rawuleb()
      elseif t == 4 then rawuleb(); rawuleb(); rawuleb(); rawuleb()
      elseif t ~= KGC_CHILD then error("unknown constant type", 0) end
    end
    for _ = 1, proto.nkn do
      local at = pos
      local v = rawuleb()
      local isnum = v % 2
      local lo = (v - isnum) / 2
      local hi = isnum == 1 and rawuleb() or 0
      field("knum", at, { isnum, lo, hi }, "number constant")
    end
    if sizedbg > 0 then
      indbg = true
      local dbgend = pos + sizedbg
      local w = proto.numline < 256 and 1 or proto.numline < 65536 and 2 or 4
      skip(w * proto.nbc)
      for _ = 1, proto.nuv do  -- names
        while rawbyte() ~= 0 do end
      end
      while true do  -- variables: name, start, length
        local b = rawbyte()
        if b == 0 then break end
        if b >= 7 then
          while rawbyte() ~= 0 do end
        end
        uleb("variable start"); uleb("variable length")
      end
      indbg = nil
      if pos ~= dbgend then error("debug info of the wrong size", 0) end
    end
    if pos ~= stop then error("prototype of the wrong size", 0) end
    proto = nil
  end
  if pos ~= #s + 1 then error("data after the end", 0) end
  return { fields = fields, protos = protos, flags = flags }
end

-- }======================================================


-- {======================================================
-- Writing fields
-- =======================================================

-- The bytes of a ULEB128 holding x >= 0.
function M.uleb(x)
  local t = {}
  repeat
    local b = x % 128
    x = (x - b) / 128
    t[#t + 1] = string.char(x > 0 and b + 128 or b)
  until x == 0
  return table.concat(t)
end

local function le(x, n)
  local t = {}
  for i = 1, n do
    local b = x % 256
    t[i] = string.char(b)
    x = (x - b) / 256
  end
  return table.concat(t)
end

local function encode(f, v)
  if f.kind == "byte" then return string.char(v % 256) end
  if f.kind == "u16" then return le(v % 65536, 2) end
  if f.kind == "ins" then return le(v % 2 ^ 32, 4) end
  if f.kind == "knum" then
    return M.uleb(v[2] * 2 + v[1]) .. (v[1] == 1 and M.uleb(v[3]) or "")
  end
  return M.uleb(v)
end

local function replace(s, at, len, bytes)
  return s:sub(1, at - 1) .. bytes .. s:sub(at + len)
end

-- s with field f (of the dump s was parsed from) set to v, the sizes
-- around it moved by as many bytes as its encoding grew: the debug info's
-- size when f is inside it, and its prototype's length (unless f is that
-- length itself).
function M.set(s, f, v)
  local bytes = encode(f, v)
  local grow = #bytes - f.len
  s = replace(s, f.at, f.len, bytes)
  local p = f.proto
  if grow ~= 0 and p and f ~= p.lenfield then
    if f.dbg and p.dbgfield then
      local d = p.dbgfield
      local db = M.uleb(d.value + grow)
      s = replace(s, d.at, d.len, db)
      grow = grow + #db - d.len
    end
    local l = p.lenfield
    s = replace(s, l.at, l.len, M.uleb(l.value + grow))
  end
  return s
end

-- }======================================================


-- {======================================================
-- Mutations
-- =======================================================

local function pick(rnd, t) return t[rnd(#t)] end

-- A value worth trying in operand mode 'mode' of an instruction of p: one
-- inside what p declares (half the time: cpm's reader refuses the others,
-- these reach the loop finder and the rewrite), a boundary of the sizes it
-- indexes (frame, constants, upvalues, code), or a random one.
local function operand(rnd, p, mode, pc, max)
  local fs, nuv, nkgc, nkn = p.framesize, p.nuv, p.nkgc, p.nkn
  local c
  local inside = rnd(2) == 1
  if mode == "var" or mode == "dst" or mode == "base" or mode == "rbase" then
    if inside and fs > 0 then return rnd(0, fs - 1) end
    c = { fs - 1, fs, fs + 1, 0, 1, 249, 250, 255, fs - 2, fs - 3 }
  elseif mode == "str" or mode == "tab" or mode == "func" or mode == "cdata" then
    if inside and nkgc > 0 then return rnd(0, nkgc - 1) end
    c = { nkgc - 1, nkgc, nkgc + 1, 0, 1, max }  -- D is ~index from the end
  elseif mode == "num" then
    if inside and nkn > 0 then return rnd(0, nkn - 1) end
    c = { nkn - 1, nkn, nkn + 1, 0, 255, max }
  elseif mode == "uv" then
    if inside and nuv > 0 then return rnd(0, nuv - 1) end
    c = { nuv - 1, nuv, nuv + 1, 0, 59, 60, 61, max }
  elseif mode == "jump" then  -- D = target - (pc + 1) + 0x8000
    local t = pick(rnd, { 0, -1, 1, p.nbc - 1, p.nbc, p.nbc + 1, pc, pc + 1,
                          rnd(0, p.nbc) })
    c = { t - (pc + 1) + 0x8000 }
  elseif mode == "pri" then
    c = { 0, 1, 2, 3, max }
  else
    c = { 0, 1, 2, 3, max, max - 1, 0x7fff, 0x8000 }
  end
  local x = rnd(3) == 1 and rnd(0, max) or pick(rnd, c)
  return math.max(0, math.min(max, x))
end

-- An instruction word of p (at code index pc) with one operand, or the
-- opcode, changed.
local function mutins(rnd, p, w, pc)
  local op = w % 256
  local a = math.floor(w / 256) % 256
  local c = math.floor(w / 65536) % 256
  local b = math.floor(w / 16777216)
  local info = M.OPS[op]
  if not info or rnd(5) == 1 then
    -- another opcode, the operands kept: same modes first
    local same = {}
    for _, o in ipairs(DUMPOPS) do
      local oi = M.OPS[o]
      if info and oi.a == info.a and oi.cd == info.cd then same[#same + 1] = o end
    end
    op = (#same > 0 and rnd(2) == 1) and pick(rnd, same) or pick(rnd, DUMPOPS)
    return op + a * 256 + c * 65536 + b * 16777216
  end
  local r = rnd(3)
  if r == 1 then
    a = operand(rnd, p, info.a, pc, 255)
  elseif r == 2 and info.b ~= "___" then
    b = operand(rnd, p, info.b, pc, 255)
    c = operand(rnd, p, info.cd, pc, 255)
  else
    local d = operand(rnd, p, info.cd, pc, 65535)
    c = d % 256
    b = math.floor(d / 256)
  end
  return op + a * 256 + c * 65536 + b * 16777216
end

-- A value worth trying in field f.
local function value(rnd, f)
  local v, p = f.value, f.proto
  if f.kind == "ins" then return mutins(rnd, p, v, f.pc) end
  if f.kind == "u16" then
    -- a parent's slot (0x8000 | slot, 0x4000: immutable) or upvalue index
    local slot = pick(rnd, { 0, 1, 249, 250, 255, rnd(0, 255) })
    return pick(rnd, { 0x8000 + slot, 0xc000 + slot, rnd(0, 61), 59, 60, 61,
                       0xffff, rnd(0, 0xffff) })
  end
  if f.kind == "knum" then
    return pick(rnd, { { 0, 0, 0 }, { 0, 1, 0 }, { 0, 0xffffffff, 0 },
                       { 0, 0x80000000, 0 }, { 1, 0, 0x80000000 },  -- -0.0
                       { 1, 0, 0x7ff80000 }, { 1, 0, 0x7ff00000 },  -- NaN, inf
                       { 1, 0, 0x41e00000 }, { 1, 1, 0x43300000 },
                       { 1, rnd(0, 0xffffffff), rnd(0, 0xffffffff) } })
  end
  if f.what == "header flags" then return rnd(0, 15) end
  if f.what == "proto flags" then return pick(rnd, { rnd(0, 7), rnd(0, 255) }) end
  if f.what == "kgc type" then
    -- child <-> empty string keeps the layout and moves a prototype
    -- between parents; a string's length moves what follows
    if v == KGC_CHILD then return pick(rnd, { KGC_STR, KGC_STR, KGC_TAB }) end
    if v == KGC_STR then return KGC_CHILD end
    return pick(rnd, { v + 1, v - 1, KGC_CHILD, KGC_STR, rnd(0, 7) })
  end
  if f.kind == "byte" then
    return pick(rnd, { 0, 1, 255, v + 1, v - 1, 249, 250, 251, 59, 60, 61,
                       rnd(0, 255) }) % 256
  end
  return math.max(0, pick(rnd, { 0, 1, v + 1, v - 1, v + 2, v - 2, 255, 256,
                                 65535, 65536, 65537, 2 ^ 31, 2 ^ 32 - 1,
                                 rnd(0, 300) }))
end

-- s (parsed) with the prototypes at indexes i and j of parsed.protos
-- swapped, or prototype i copied before j, or removed: each prototype
-- stays whole, the tree they form changes (a parent takes the last
-- prototypes written before it as its children).
local function protoop(rnd, s, parsed)
  local ps = parsed.protos
  if #ps == 0 then return s end
  local i, j = rnd(#ps), rnd(#ps)
  local pi, pj = ps[i], ps[j]
  local bi = s:sub(pi.at, pi.stop - 1)
  local r = rnd(3)
  if r == 1 and i ~= j then
    if i > j then pi, pj = pj, pi; bi = s:sub(pi.at, pi.stop - 1) end
    local bj = s:sub(pj.at, pj.stop - 1)
    return s:sub(1, pi.at - 1) .. bj .. s:sub(pi.stop, pj.at - 1) .. bi ..
           s:sub(pj.stop)
  elseif r == 2 then
    return s:sub(1, pj.at - 1) .. bi .. s:sub(pj.at)
  end
  return s:sub(1, pi.at - 1) .. s:sub(pi.stop)
end

-- A mutant of dump s (parsed by M.parse): one field set to a value worth
-- trying (an instruction's operand or opcode, an upvalue descriptor, a
-- count, a flag, a constant's type or number), the sizes around it kept
-- consistent, or (one time in ten) a whole prototype moved, copied or
-- removed.  rnd is math.random.
function M.mutate(s, parsed, rnd)
  if rnd(10) == 1 then return protoop(rnd, s, parsed) end
  local fs = parsed.fields
  local f
  -- instructions first: they are what the loop finder reads
  if rnd(2) == 1 then
    for _ = 1, 8 do
      f = fs[rnd(#fs)]
      if f.kind == "ins" then break end
    end
  else
    f = fs[rnd(#fs)]
  end
  return M.set(s, f, value(rnd, f))
end

-- }======================================================

return M
