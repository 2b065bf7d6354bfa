-- The module loads on both VMs and reports which one it was built for.
local cpm = require "cpm"

describe("cpm", function()
  it("loads the C core built for the running VM", function()
    local expected = jit and "LuaJIT" or "Lua 5.4"
    assert.are.equal(expected, cpm.vm)
  end)
end)
