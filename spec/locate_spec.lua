-- Locating a live function's node in its parsed source.
local locate = require "cpm.source.locate"

local loadstring = loadstring or load
local tmpfile = require("files").tmpfile

-- The text of the node found for f.
local function text_of(f)
  local node, chunk, src = locate.locate(f)
  assert(node, chunk)
  return src:sub(node.pos, node.endpos), node, chunk
end

describe("locate", function()
  it("tells apart two functions on one line by their upvalues", function()
    local f, g = loadstring("local a, b = 1, 2\n"
      .. "return function(x) return a end, function(x) return b end")()
    assert.are.equal("(x) return a end", (text_of(f):gsub("^function", "")))
    assert.are.equal("(x) return b end", (text_of(g):gsub("^function", "")))
  end)

  it("tells apart functions on one line by parameter count and vararg", function()
    local f, g, h = loadstring("return function(x) end, function(x, y) end, function(x, ...) end")()
    assert.are.equal("function(x) end", text_of(f))
    assert.are.equal("function(x, y) end", text_of(g))
    assert.are.equal("function(x, ...) end", text_of(h))
  end)

  it("returns nil and a reason when functions on one line cannot be told apart", function()
    local f = loadstring("return function(x) return x end, function(y) return y end")()
    local node, why = locate.locate(f)
    assert.is_nil(node)
    assert.matches("cannot tell", why)
  end)

  it("finds functions of chunks loaded from strings, on their own lines", function()
    local f = loadstring("local n = 0\n\nlocal function count(k)\n  n = n + k\n  return n\nend\n"
      .. "return count")()
    local text, node = text_of(f)
    assert.are.equal("(k)\n  n = n + k\n  return n\nend", text)
    assert.are.same({ 3, 6 }, { node.linedefined, node.lastlinedefined })
    assert.are.equal("n", node.upvalues[1].name)
  end)

  it("finds methods, whose implicit self counts as a parameter", function()
    local obj = loadstring("local obj = {}\nfunction obj:m(x) return self, x end\n"
      .. "function obj.n(x) return x end\nreturn obj")()
    local _, m = text_of(obj.m)
    local _, n = text_of(obj.n)
    assert.is_true(m.is_method)
    assert.is_false(n.is_method)
    assert.are.same({ 2, 3 }, { m.line, n.line })
  end)

  it("finds nested functions", function()
    local outer = loadstring("local k = 2\nreturn function(a)\n  return function(b)\n"
      .. "    return a * b * k\n  end\nend")()
    local inner = outer(3)
    local text, node = text_of(inner)
    assert.are.equal("function(b)\n    return a * b * k\n  end", text)
    local names = {}
    for i, u in ipairs(node.upvalues) do names[i] = u.name end
    assert.are.same({ "a", "k" }, names)
  end)

  it("finds the main chunk", function()
    local main = loadstring("local x = 1\nreturn x\n")
    local _, node = text_of(main)
    assert.is_true(node.main)
  end)

  it("finds functions in files and reads '@path' sources", function()
    local path = tmpfile("local M = {}\nfunction M.twice(x)\n  return 2 * x\nend\nreturn M\n")
    local M = assert(loadfile(path))()
    local text, node = text_of(M.twice)
    os.remove(path)
    assert.are.equal("(x)\n  return 2 * x\nend", text)
    assert.are.equal(2, node.linedefined)
  end)

  it("returns nil and a reason for a file changed after it was loaded", function()
    local path = tmpfile("local M = {}\nfunction M.f(x)\n  return x\nend\nreturn M\n")
    local M = assert(loadfile(path))()
    local h = assert(io.open(path, "wb"))
    h:write("local M = {}\n-- a new line\nfunction M.f(x)\n  return x\nend\nreturn M\n")
    h:close()
    local node, why = locate.locate(M.f)
    os.remove(path)
    assert.is_nil(node)
    assert.matches("changed", why)
  end)

  it("returns nil and a reason when the file is gone", function()
    local path = tmpfile("return function() end\n")
    local f = assert(loadfile(path))()
    os.remove(path)
    local node, why = locate.locate(f)
    assert.is_nil(node)
    assert.matches("cannot read", why)
  end)

  it("returns nil and a reason for sources without text", function()
    local f = loadstring("return function() end", "=stdin")()
    local node, why = locate.locate(f)
    assert.is_nil(node)
    assert.matches("stdin", why)
    node, why = locate.locate(print)
    assert.is_nil(node)
    assert.matches("C function", why)
  end)

  it("returns nil and a reason when the source does not parse", function()
    -- a chunk that loads on this VM but uses the other VM's syntax is fine;
    -- a source text that was edited into nonsense is not
    local path = tmpfile("return function() end\n")
    local f = assert(loadfile(path))()
    local h = assert(io.open(path, "wb"))
    h:write("return function( end\n")
    h:close()
    local node, why = locate.locate(f)
    os.remove(path)
    assert.is_nil(node)
    assert.matches("cannot parse", why)
  end)
end)
