-- The options table of cpm.optimize, cpm.explain, cpm.load and
-- cpm.loadfile: checked the same way everywhere (unknown names are an
-- error), and honoured by load and loadfile; their env argument as load's.
local cpm = require "cpm"
local files = require "files"

local LUA54 = cpm.vm == "Lua 5.4"
-- a loop of n iterations with a float step: planned, never computed
local FLOATY = "local n = ... local s = 0.5 for i = 1, n do s = s + 1 end return s"
-- a loop that cannot be planned (a call in its body)
local CALLS = "local n = ... local s = 0 for i = 1, n do s = s + math.abs(i) end return s"

local function message(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok)
  return err
end

describe("options", function()
  it("an unknown option name is an error naming it, in every function", function()
    local f = function() end
    assert.matches("bad argument #2 to 'optimize' %(unknown option 'itters_limit'%)",
      message(cpm.optimize, f, { itters_limit = 3 }))
    assert.matches("bad argument #2 to 'explain' %(unknown option 'Strict'%)",
      message(cpm.explain, f, { Strict = true }))
    assert.matches("bad argument #5 to 'load' %(unknown option 'limit'%)",
      message(cpm.load, "return 1", "=x", "t", nil, { limit = 2 }))
    assert.matches("bad argument #4 to 'loadfile' %(unknown option '1'%)",
      message(cpm.loadfile, "nosuch.lua", "t", nil, { true }))
  end)

  it("load and loadfile check their options before loading", function()
    assert.matches("bad argument #5 to 'load' %(iters_limit must be an integer >= 2%)",
      message(cpm.load, "syntax error here", "=x", "t", nil, { iters_limit = 1 }))
    assert.matches("bad argument #4 to 'loadfile' %(table expected, got string%)",
      message(cpm.loadfile, "nosuch.lua", "t", nil, "strict"))
  end)

  it("load honours strict and iters_limit", function()
    local f = assert(cpm.load(FLOATY, "=floaty", "t", nil, { iters_limit = 2, strict = true }))
    assert.matches("^cpm: floaty:1: ", message(f, 3))
    f = assert(cpm.load(FLOATY, "=floaty", "t", nil, { iters_limit = 10, strict = true }))
    assert.are.equal(9.5, f(9))  -- below the limit: as written, no error
    assert.matches("^cpm: calls:1: call in loop body",
      message(cpm.load, CALLS, "=calls", "t", nil, { strict = true }))
    assert.are.equal(6, assert(cpm.load(CALLS, "=calls", "t", nil, {}))(3))
  end)

  it("loadfile honours them too", function()
    local path = files.tmpfile(FLOATY)
    local f = assert(cpm.loadfile(path, "t", nil, { iters_limit = 2, strict = true }))
    assert.matches("^cpm: .*:1: ", message(f, 3))
    f = assert(cpm.loadfile(path, nil, nil, {}))
    assert.are.equal(3.5, f(3))
    os.remove(path)
  end)

  it("env: given (even nil, on Lua 5.4) as load takes it; nil before opts is the default", function()
    local env = { x = 5 }
    assert.are.equal(5, assert(cpm.load("return x", "=e", "t", env))())
    assert.are.equal(5, assert(cpm.load("return x", "=e", "t", env, {}))())
    rawset(_G, "x_of_options_spec", 7)  -- (busted runs specs in an environment of their own)
    assert.are.equal(7, assert(cpm.load("return x_of_options_spec", "=e", "t", nil, {}))())
    local path = files.tmpfile("return x_of_options_spec")
    assert.are.equal(7, assert(cpm.loadfile(path, "t", nil, {}))())
    assert.are.equal(5, assert(cpm.loadfile(path, "t", { x_of_options_spec = 5 }))())
    os.remove(path)
    rawset(_G, "x_of_options_spec", nil)
    if LUA54 then  -- load(s, name, mode, nil): the chunk's _ENV is nil
      local f0 = assert(load("return x", "=e", "t", nil))
      local f = assert(cpm.load("return x", "=e", "t", nil))
      assert.are.equal(message(f0), message(f))
    end
  end)
end)
