-- Crafted LuaJIT dumps, each a reproducer that the chunk fuzzer found
-- (tools/fuzz-chunks.lua, make asan) or one of its kind: cpm's own reader
-- must refuse what LuaJIT's loader cannot take safely, and cpm.optimize,
-- cpm.explain and cpm.load must give a function loaded from such a dump
-- back unchanged (or optimized and equal to it), never crash or corrupt
-- the heap.  Each case changes fields of a real dump through the field map
-- of tools/chunkjit.lua.
local cpm = require "cpm"
local core = require "cpm.core"

if not jit or not core._jitbc_list then
  describe("hostile LuaJIT dumps", function()
    pending("are LuaJIT dumps: skipped on " .. _VERSION)
  end)
  return
end

package.path = "tools/?.lua;" .. package.path
local J = require "chunkjit"
local files = require "files"

local VM = os.getenv("CPM_VM") or "luajit"
local BUILD = os.getenv("CPM_BUILD") or "build/luajit"

-- the first field of 'parsed' of kind 'what' (in prototype p, if given)
local function field(parsed, what, p)
  for _, f in ipairs(parsed.fields) do
    if f.what == what and (p == nil or f.proto == p) then return f end
  end
  error("no field " .. what)
end

-- a loop cpm optimizes, with a number constant, an upvalue, a string
-- constant, a field read and a nested function
local SOURCE = [[
local up, t = 2, { w = 3 }
return function(n, x)
  local a, b = 0, 1.5
  for i = 1, n do a, b = b + t.w * up, a + 0.25 end
  local h = function() return up end
  local y, z
  return a, b, h, x .. "s", y, z
end
]]

-- The instruction field of the first 'name' in the dumped function (its
-- last prototype: the root is written last).
local function instr(parsed, name)
  local p = parsed.protos[#parsed.protos]
  for pc = 0, p.nbc - 1 do
    if p.code[pc].value % 256 == J.OP[name] then return p.code[pc], p end
  end
  error("no " .. name)
end

-- word w with operand A (8 bits from bit 8), C (from 16), B (from 24) or
-- D (16 bits from 16) set to v
local SHIFT = { a = 8, c = 16, b = 24, d = 16 }
local WIDTH = { a = 256, c = 256, b = 256, d = 65536 }
local function setop(w, which, v)
  local sh, width = 2 ^ SHIFT[which], WIDTH[which]
  local old = math.floor(w / sh) % width
  return w + (v - old) * sh
end

-- D naming the first GC constant of p whose type passes 'test' (D counts
-- from the end of the table)
local function kgcof(p, test)
  for i, t in ipairs(p.kgc) do
    if test(t.value) then return p.nkgc - i end
  end
  error("no such constant")
end

describe("hostile LuaJIT dumps", function()
  local original = assert(loadstring(SOURCE))()

  it("start from a function whose loop cpm optimizes", function()
    local g = cpm.optimize(original)
    assert.are_not.equal(original, g)
    for _, n in ipairs { 0, 1, 10, 1000 } do
      local a, b, _, s = original(n, "x")
      local a2, b2, h2, s2 = g(n, "x")
      assert.same({ a, b, s, 2 }, { a2, b2, s2, h2() })
    end
  end)

  -- each: an instruction of the function, an operand, and its value given
  -- the prototype's sizes (past the frame, the upvalues, the constants)
  for _, case in ipairs {
    { "KNUM", "d", function(p) return p.nkn end, "number constant past the table" },
    { "ADDVN", "c", function(p) return p.nkn end, "number constant operand past the table" },
    { "UGET", "d", function(p) return p.nuv end, "upvalue past the upvalues" },
    { "TGETS", "c", function(p) return p.nkgc end, "string constant past the table" },
    { "KSTR", "d", function(p) return kgcof(p, function(t) return t == 0 end) end,
      "string constant that is a prototype" },
    { "FNEW", "d", function(p) return kgcof(p, function(t) return t >= 5 end) end,
      "child that is a string" },
    { "MOV", "d", function(p) return p.framesize end, "slot read past the frame" },
    { "MULVV", "a", function(p) return p.framesize + 3 end, "slot written past the frame" },
    { "KNIL", "d", function(p) return p.framesize end, "nil run past the frame" },
    { "FORI", "a", function(p) return p.framesize - 3 end, "loop slots past the frame" },
  } do
    local name, which, value, what = case[1], case[2], case[3], case[4]
    it("are refused by cpm's reader and left unchanged: " .. what, function()
      for _, strip in ipairs { false, true } do
        local d = string.dump(original, strip)
        local parsed = J.parse(d)
        local f, p = instr(parsed, name)
        local bad = J.set(d, f, setop(f.value, which, value(p)))
        assert.are_not.equal(d, bad)
        local ok, err = pcall(core._jitbc_list, bad)
        assert.is_false(ok)
        assert.matches("operand outside the function", err, 1, true)
        -- LuaJIT's load takes it (it checks no operand); cpm reads the
        -- function's own dump again, refuses it and gives f back
        local h = assert(loadstring(bad))
        assert.equal(h, cpm.optimize(h))
        assert.matches("operand outside the function",
                       cpm.explain(h, { frontend = "bytecode" }), 1, true)
        assert.equal("function", type(cpm.load(bad, "=bad", "b")))
      end
    end)
  end

  it("are refused by cpm's reader when a cdata constant comes without the FFI flag", function()
    -- LuaJIT's loader makes the constant with the FFI's type state, which
    -- only the header's FFI flag has it load: in a state that never
    -- loaded the FFI it dereferences a null pointer
    local f = assert(loadstring("local x = ... return x + 1LL, 2ULL, 3i"))
    for _, strip in ipairs { false, true } do
      local d = string.dump(f, strip)
      local parsed = J.parse(d)
      local flags = field(parsed, "header flags")
      assert.equal(4, flags.value % 8 - flags.value % 4)  -- FFI set
      assert.equal(d, core._jitbc_roundtrip(d))
      local bad = J.set(d, flags, flags.value - 4)
      local ok, err = pcall(core._jitbc_list, bad)
      assert.is_false(ok)
      assert.matches("cdata constant without the FFI flag", err, 1, true)
    end
  end)

  it("load through cpm.load and cpm.loadfile without leaving the collector a null FFI state", function()
    -- a fresh interpreter that never loaded the FFI: plain load of this
    -- dump returns a function whose constants crash the collector
    local f = assert(loadstring("return 1LL + 2, 3ULL, 2i"))
    local d = string.dump(f)
    local parsed = J.parse(d)
    local flags = field(parsed, "header flags")
    local path = files.tmpfile(J.set(d, flags, flags.value - 4))
    local script = files.tmpfile(([[
      local cpm = require "cpm"
      assert(package.loaded.ffi == nil)
      local h = io.open(%q, "rb")
      local s = h:read("*a")
      h:close()
      local pieces = { s:sub(1, 2), s:sub(3) }
      for _, g in ipairs {
        cpm.load(s, "=d", "b"),
        cpm.load(function() return table.remove(pieces, 1) end, "=d", "b"),
        cpm.loadfile(%q, "b"),
      } do
        local a, b, c = g()
        print(tostring(a), tostring(b), tostring(c))
      end
      collectgarbage()
      collectgarbage()
      print("collected")
    ]]):format(path, path))
    local out = files.tmpfile("")
    local ok = os.execute(("LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='%s/?.so;;' %s %s > %s 2>&1")
      :format(BUILD, VM, script, out))
    local text = files.read(out)
    os.remove(path); os.remove(script); os.remove(out)
    assert(ok == 0 or ok == true, text)
    assert.equal(("3LL\t3ULL\t0+2i\n"):rep(3) .. "collected\n", text)
  end)
end)
