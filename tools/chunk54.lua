-- Lua 5.4 binary chunks as fields to mutate: where each count, index,
-- instruction and byte of a dump is, so that a spec or the chunk fuzzer
-- (tools/fuzz-chunks.lua) can change exactly one of them and still hand
-- Lua's loader a chunk it accepts.  The layout is lundump.c's (Lua 5.4,
-- format 0): a header, the main closure's upvalue count, then the main
-- function; a function is its source, lines, sizes, code, constants,
-- upvalue descriptions, nested functions and debug information.  Lua 5.4
-- syntax (so it lives in tools/, not in spec/ whose files the parser spec
-- loads on LuaJIT too); LuaJIT dumps have another layout.
local M = {}

local HEADER = 4 + 1 + 1 + 6 + 3 + 8 + 8	-- signature .. float check

-- Reads a chunk; returns { fields = { f, ... }, main = proto } where each
-- field is { kind =, at = first byte (1-based), len = bytes, value =,
-- proto = }, kind one of "header_nup", "varint" (with 'what': "code",
-- "k", "up", "p", "lineinfo", "absline", "locvar", "upnames", "line",
-- "pc", "startpc", "endpc", "strlen"), "byte" ("numparams", "is_vararg",
-- "maxstacksize", "ktag", "instack", "idx", "kind"), "instr" (with pc).
-- A proto is { code = { [pc] = instr field, ... } (pcs from 0), ncode,
-- nk, nup, np, maxstacksize, p = { nested protos } }.
function M.parse(s)
  local pos, fields = 1, {}
  local function field(kind, at, len, value, extra)
    local f = { kind = kind, at = at, len = len, value = value }
    for k, v in pairs(extra or {}) do f[k] = v end
    fields[#fields + 1] = f
    return f
  end
  local function byte(what, proto)
    local v = s:byte(pos)
    assert(v, "truncated chunk")
    field("byte", pos, 1, v, { what = what, proto = proto })
    pos = pos + 1
    return v
  end
  local function varint(what, proto)
    local at, x = pos, 0
    repeat
      local b = s:byte(pos)
      assert(b, "truncated chunk")
      pos = pos + 1
      x = x * 128 + (b & 0x7f)
    until b >= 0x80
    field("varint", at, pos - at, x, { what = what, proto = proto })
    return x
  end
  local function str(proto)
    local n = varint("strlen", proto)
    if n > 0 then pos = pos + n - 1 end
  end
  local function fn()
    local p = { code = {}, p = {} }
    str(p)
    varint("line", p); varint("line", p)
    byte("numparams", p); byte("is_vararg", p)
    p.maxstacksize = byte("maxstacksize", p)
    local n = varint("code", p)
    p.ncode = n
    for pc = 0, n - 1 do
      local v = string.unpack("<I4", s, pos)
      p.code[pc] = field("instr", pos, 4, v, { pc = pc, proto = p })
      pos = pos + 4
    end
    p.nk = varint("k", p)
    for _ = 1, p.nk do
      local tag = byte("ktag", p)
      if tag == 0x03 or tag == 0x13 then pos = pos + 8
      elseif tag == 0x04 or tag == 0x14 then str(p) end
    end
    p.nup = varint("up", p)
    for _ = 1, p.nup do
      byte("instack", p); byte("idx", p); byte("kind", p)
    end
    p.np = varint("p", p)
    for i = 1, p.np do p.p[i] = fn() end
    n = varint("lineinfo", p)
    pos = pos + n
    n = varint("absline", p)
    for _ = 1, n do varint("pc", p); varint("line", p) end
    n = varint("locvar", p)
    for _ = 1, n do str(p); varint("startpc", p); varint("endpc", p) end
    n = varint("upnames", p)
    -- Lua 5.4.4's loader stores this many names into the upvalue array
    -- unchecked: any other count than 0 or nup crashes the VM itself
    assert(n == 0 or n == p.nup, "upvalue names not one per upvalue")
    for _ = 1, n do str(p) end
    return p
  end
  assert(s:sub(1, 5) == "\27Lua\x54", "not a Lua 5.4 chunk")
  pos = HEADER + 1
  field("header_nup", pos, 1, s:byte(pos))
  pos = pos + 1
  local main = fn()
  assert(pos == #s + 1, "extra bytes after the chunk")
  return { fields = fields, main = main }
end

-- The bytes of a varint holding x (lundump.c's loadUnsigned order).
function M.varint(x)
  local t = { string.char(0x80 | (x & 0x7f)) }
  x = x >> 7
  while x > 0 do
    table.insert(t, 1, string.char(x & 0x7f))
    x = x >> 7
  end
  return table.concat(t)
end

-- s with field f's bytes replaced by 'bytes'.
function M.replace(s, f, bytes)
  return s:sub(1, f.at - 1) .. bytes .. s:sub(f.at + f.len)
end

-- s with field f set to the number v, encoded as the field's kind is.
function M.set(s, f, v)
  if f.kind == "instr" then return M.replace(s, f, string.pack("<I4", v)) end
  if f.kind == "varint" then return M.replace(s, f, M.varint(v)) end
  return M.replace(s, f, string.char(v & 0xff))
end

-- A value worth trying in field f (for the fuzzer): a boundary of the
-- field or of the sizes around it, or a random one; for an instruction,
-- the instruction with one operand (or the opcode) changed so.  rnd is
-- math.random.
function M.mutant(f, rnd)
  local v = f.value
  if f.kind == "instr" then
    local fields = { { 0, 7 }, { 7, 8 }, { 15, 1 }, { 16, 8 }, { 24, 8 },
                     { 15, 17 }, { 7, 25 } }
    local pos, size = table.unpack(fields[rnd(#fields)])
    local max = (1 << size) - 1
    local x = ({ 0, 1, max, max - 1, rnd(0, max), max >> 1, (max >> 1) + 1,
                 rnd(0, 8), ((v >> pos) & max) + 1, ((v >> pos) & max) - 1 })
      [rnd(10)] & max
    return (v & ~(max << pos) & 0xffffffff) | (x << pos)
  end
  if f.kind == "byte" or f.kind == "header_nup" then
    return ({ 0, 1, 255, v + 1, v - 1, rnd(0, 255) })[rnd(6)] & 0xff
  end
  local r = rnd(10)
  if r <= 3 then return v + rnd(1, 3) end
  if r <= 6 then return math.max(0, v - rnd(1, 3)) end
  if r <= 7 then return 0 end
  if r <= 8 then return (1 << 31) - 1 end
  return rnd(0, 300)
end

-- Instruction fields (lopcodes.h, Lua 5.4).
M.OP = { MOVE = 0, LOADK = 3, LOADNIL = 8, GETUPVAL = 9, GETFIELD = 14,
         ADD = 34, MMBIN = 46, JMP = 56, FORLOOP = 73, FORPREP = 74,
         CLOSURE = 79 }

function M.op(i) return i & 0x7f end

-- position and size of each field
local ARG = { A = { 7, 8 }, k = { 15, 1 }, B = { 16, 8 }, C = { 24, 8 },
              Bx = { 15, 17 }, sJ = { 7, 25 } }

-- i with field name (a key of ARG) set to the raw (unsigned) value v.
function M.setarg(i, name, v)
  local pos, size = ARG[name][1], ARG[name][2]
  local mask = ((1 << size) - 1) << pos
  return (i & ~mask & 0xffffffff) | ((v << pos) & mask)
end

-- i with opcode op.
function M.setop(i, op) return (i & ~0x7f) | op end

-- i with the signed jump sJ set to 'offset' (stored in excess 2^24 - 1).
function M.setsJ(i, offset) return M.setarg(i, "sJ", offset + (1 << 24) - 1) end

-- The first instruction of proto p with opcode op, or nil.
function M.find(p, op)
  for pc = 0, p.ncode - 1 do
    if M.op(p.code[pc].value) == op then return p.code[pc] end
  end
end

-- Every proto of a parsed chunk, main first.
function M.protos(parsed)
  local all = {}
  local function walk(p)
    all[#all + 1] = p
    for _, q in ipairs(p.p) do walk(q) end
  end
  walk(parsed.main)
  return all
end

return M
