-- cpm's functions called by a finalizer after the same code has run hot.
-- LuaJIT before its fix of 2023-08-13 (issue #1000; Debian 12's LuaJIT)
-- spins for ever in a compiled pairs() loop that a finalizer runs when the
-- trace exits at the loop's start, so cpm's own Lua code is not compiled
-- (lua/cpm/init.lua).  Each script runs in a subprocess (a hang is a
-- timeout there, not a stuck suite): it first runs a loop of cpm's many
-- times over keys of one type, then, from a finalizer, over a key of
-- another type, which is such an exit.  On Lua 5.4 the same scripts
-- check the same results.
local sub = require "subprocess"

local project, remove, run = sub.project, sub.remove, sub.run

-- runs `text` as main.lua (with extra files), returns its stdout and exit code
local function script(text, files, opts)
  local tree = { ["main.lua"] = text }
  for name, body in pairs(files or {}) do tree[name] = body end
  local dir = project(tree)
  local out, err, code = run(dir, (opts or "") .. " main.lua")
  remove(dir)
  if code == 124 then err = "timed out: a hang (" .. err .. ")" end
  return out, code, err
end

-- the head of every script: a finalizer that runs `fn` once, at the next
-- full collection, and keeps what it returned or raised
local FINALIZE = [[
local function finalize(fn)
  local got
  local holder = setmetatable({}, { __gc = function() got = { pcall(fn) } end })
  if newproxy then  -- LuaJIT: only userdata are finalized
    holder = newproxy(true)
    getmetatable(holder).__gc = function() got = { pcall(fn) } end
  end
  holder = nil
  collectgarbage()
  collectgarbage()
  return got
end
]]

describe("cpm called by a finalizer", function()
  it("checks cpm.optimize's options there after checking many before", function()
    local out, code, err = script(FINALIZE .. [[
local cpm = require "cpm"
local function f(n) local s = 0 for i = 1, n do s = s + i end return s end
for _ = 1, 300 do cpm.optimize(f, { iters_limit = 2, strict = false, frontend = "bytecode" }) end
local got = finalize(function() return cpm.optimize(f, { iters_limit = 2, [1] = true }) end)
print(got[1], (tostring(got[2]):gsub("^.-bad argument", "bad argument")))
got = finalize(function() return cpm.optimize(f, { iters_limit = 2 })(1000000) end)
print(got[1], got[2])
]])
    assert.are.equal(0, code, err)
    assert.are.equal("false\tbad argument #2 to 'optimize' (unknown option '1')\n"
      .. "true\t500000500000\n", out)
  end)

  it("reports cpm.stats there for a function whose loops ran", function()
    local out, code, err = script(FINALIZE .. [[
local cpm = require "cpm"
local src = "return function(n) local s, t = 0, 0 for i = 1, n do s = s + i end " ..
            "for i = 1, n do t = t + 2 end return s, t end"
local g = cpm.optimize(load(src)(), { iters_limit = 2 })
for n = 1, 300 do g(n) cpm.stats(g) end
local got = finalize(function()
  g(10)
  local st = cpm.stats(g)
  return #st, st[1].computed + st[1].below_limit + st[1].fell_back,
         st[2].computed + st[2].below_limit + st[2].fell_back
end)
print(got[1], got[2], got[3], got[4])
]])
    assert.are.equal(0, code, err)
    assert.are.equal("true\t2\t300\t300\n", out)  -- n = 1: run by the count check alone
  end)

  it("loads a module through cpm.auto there after loading many before", function()
    local files = { ["late.lua"] = "return { tri = function(n) local s = 0 for i = 1, n do s = s + i end return s end }" }
    local head = { "local loads = {}" }
    for i = 1, 40 do
      files["m" .. i .. ".lua"] = "return " .. i
      head[#head + 1] = ("loads[%d] = require 'm%d'"):format(i, i)
    end
    local out, code, err = script(FINALIZE .. table.concat(head, "\n") .. [[

package.loaded[1] = true  -- a key of another type in the table cpm.auto walks
local got = finalize(function() return require("late").tri(10000000) end)
package.loaded[1] = nil
print(#loads, got[1], got[2])
]], files, "-l cpm.auto")
    assert.are.equal(0, code, err)
    assert.are.equal("40\ttrue\t50000005000000\n", out)
  end)
end)
