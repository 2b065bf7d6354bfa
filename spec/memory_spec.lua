-- Memory exhaustion: GMP aborts the process when an allocation fails, so
-- cpm must raise a catchable "not enough memory" before that can happen
-- (src/core/gmpmem.c).  Each case runs a child interpreter (CPM_VM, the
-- build in CPM_BUILD) under `ulimit -v`, and checks that it ends normally
-- with the error caught and the state still usable.  AddressSanitizer
-- reserves terabytes of address space, so under ASAN=1 this is skipped
-- (tools/alloctest.c covers allocation failures there).
local tmpfile = require("files").tmpfile

local VM = os.getenv("CPM_VM") or (jit and "luajit" or "lua5.4")
local BUILD = os.getenv("CPM_BUILD") or (jit and "build/luajit" or "build/lua5.4")
local LIMIT_KB = 400000	-- address space of the child: 400 MB

if os.getenv("ASAN") then
  describe("memory exhaustion", function()
    pending("runs under ulimit -v, which AddressSanitizer cannot")
  end)
  return
end

-- Runs 'script' in a child under the limit; returns its output and whether
-- it exited normally.
local function run(script)
  local path = tmpfile(script)
  local out = tmpfile("")
  local cmd = ("ulimit -v %d; LUA_PATH='lua/?.lua;lua/?/init.lua;;' "
    .. "LUA_CPATH='%s/?.so;;' exec %s %s > %s 2>&1"):format(
    LIMIT_KB, BUILD, VM, path, out)
  local ok, how, code = os.execute(cmd)
  if type(ok) == "number" then ok, how, code = ok == 0, "exit", ok end  -- Lua 5.1
  local h = io.open(out, "rb")
  local text = h:read("*a")
  h:close()
  os.remove(path)
  os.remove(out)
  return text, ok and how == "exit" and code == 0
end

-- The child's common part: catch(f) prints the error, then proves the
-- state usable with a fresh computation that needs memory.
local PRELUDE = [[
local cpm = require "cpm"
local function catch(f)
  local ok, err = pcall(f)
  collectgarbage() collectgarbage()
  local s = tostring(cpm.big(2) ^ 200 + 1)
  print(ok and "no error" or tostring(err), s == "1606938044258990275541962092341162602522202993782792835301377")
end
]]

describe("memory exhaustion", function()
  it("when many bignums are kept alive raises a catchable error", function()
    local out, ok = run(PRELUDE .. [[
      catch(function()
        local t = {}
        for i = 1, 1e9 do t[i] = cpm.big(3) ^ 20000 + i end
      end)
    ]])
    assert.is_true(ok, out)
    assert.are.equal("not enough memory\ttrue\n", out)
  end)

  it("on a power too large for the memory raises before GMP is called",
     function()
    local out, ok = run(PRELUDE .. [[
      cpm.maxbits(2^40)
      catch(function() return cpm.big(3) ^ cpm.big(2^34) end)
      catch(function() return cpm.big(7) * cpm.big(2) ^ cpm.big(2^35) end)
      catch(function() return cpm.big(2) ^ cpm.big(2^31) end)
    ]])
    assert.is_true(ok, out)
    assert.are.equal(("not enough memory\ttrue\n"):rep(3), out)
  end)

  it("gives the same results as without the limit when memory suffices",
     function()
    local out, ok = run(PRELUDE .. [[
      catch(function()
        local x = cpm.big(3) ^ 100000
        assert(#tostring(x) == 47713)
        error("done")
      end)
    ]])
    assert.is_true(ok, out)
    assert.matches("done\ttrue\n$", out)
  end)
end)
