-- Crafted LuaJIT dumps, each a reproducer that the chunk fuzzer found
-- (tools/fuzz-chunks.lua, make asan) or one of its kind: cpm's own reader
-- must refuse what LuaJIT's loader cannot take safely, and cpm.optimize,
-- cpm.explain and cpm.load must give a function loaded from such a dump
-- back unchanged (or optimized and equal to it), never crash or corrupt
-- the heap.  Each case changes fields of a real dump through the field map
-- of tools/chunkjit.lua.
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

describe("hostile LuaJIT dumps", function()
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
