-- What cpm.explain says (doc/manual.md, "cpm.explain"): what computing an
-- optimized loop needs, derived from its plan; reasons that end with the
-- refused operation written with its variables' names; global writes by
-- name; the reason alone when the debug info has no names.  Every front
-- end of the VM the specs run on gives the same text.
local cpm = require "cpm"

local LUA54 = cpm.vm == "Lua 5.4"
local RING = LUA54
  and "the values are integers (wrapping as Lua's do), or cpm.big numbers and floats that stay integers below 2^53"
  or "every value stays an integer below 2^53 (LuaJIT numbers), or is a cpm.big"
local MODRING = LUA54 and "the values are integers or cpm.big numbers"
  or "every value stays an integer below 2^53 (LuaJIT numbers), or is a cpm.big"

local files = require "files"

local TEMPS = {}  -- the files fn wrote, removed after each block
local function removetemps()
  for _, path in ipairs(TEMPS) do os.remove(path) end
  TEMPS = {}
end

-- A function whose one loop, on line 4, has 'body' (loaded from a file:
-- the source front end reads it there).
local function fn(body)
  local src = "local K, t = 3, { k = 5 }\nreturn function(n, a, m)\n"
    .. "  local s, x, r = 0, 1, 1\n  for i = 1, n do " .. body .. " end\n"
    .. "  return s, x, r\nend"
  local path = files.tmpfile(src)
  TEMPS[#TEMPS + 1] = path
  return assert(loadfile(path))()
end

-- cpm.explain of fn(body), its file named "ex"
local function explain(body, frontend, f)
  local text = cpm.explain(f or fn(body), { frontend = frontend })
  return (text:gsub("^[^\n]-:(%d+): ", "ex:%1: "))
end

local OPTIMIZED = {
  { "s = s + i", RING .. ", and the step has an integer value" },
  { "s = s * K + a", RING .. ", and K and a have integer values" },
  { "x = x * t.k + 1", RING .. ", and t.k has an integer value" },
  { "x = x * 2 + 1", RING },
  { "x = (x * 31 + 7) % m", "m is a nonzero integer and " .. MODRING },
  { "x = (a * x + 1) % 1000", "1000 is a nonzero integer and " .. MODRING
    .. ", and a has an integer value" },
  { "if a > 0 then s = s + 1 else s = s - 1 end",
    "the conditions compare numbers with numbers or strings with strings (no metamethod), "
    .. "and the path they take qualifies" },
}

local REFUSED = {
  { "r = r * i", "product of loop-carried values whose degree grows with each iteration (r * i)" },
  { "x = x * x", "product of loop-carried values whose degree grows with each iteration (x * x)" },
  { "s = s ^ K", "operator '^' applied to a loop-carried value (s ^ K)" },
  { "s = s + (a + i) ^ 2", "operator '^' applied to a loop-carried value ((a + i) ^ 2)" },
  { "s = s + x / s", "operator '/' applied to a loop-carried value (x / s)" },
  { "s = s + s.y", "field read with a loop-carried table (s.y)" },
  { "s = s + t[s]", "field read with a loop-carried key (t[s])" },
  { "x = x % m + s % 3; s = s + 1", "reductions modulo different values (s % 3)" },
  { "TOTAL = s + i", "global write (TOTAL)" },
  { "s = s + GLOBAL_Y % s", "operator '%' applied to a loop-carried value (GLOBAL_Y % s)" },
}
if LUA54 then
  REFUSED[#REFUSED + 1] = { "s = s // 2", "operator '//' applied to a loop-carried value (s // 2)" }
  OPTIMIZED[#OPTIMIZED + 1] = { "x = x ~ (x << 13); x = x ~ (x >> 7)",
    "the values are integers and the operands of the bitwise operators convert to integers" }
  OPTIMIZED[#OPTIMIZED + 1] = { "x = x ~ (x & r); r = r ~ 5",
    "the values are integers and the operands of the bitwise operators convert to integers, "
    .. "and no '&' or '|' of two loop-carried values overlaps" }
end

for _, frontend in ipairs { "bytecode", "source" } do
  describe("cpm.explain on " .. cpm.vm .. ", " .. frontend .. " front end", function()
    teardown(removetemps)
    it("says what an optimized loop needs to be computed", function()
      for _, c in ipairs(OPTIMIZED) do
        assert.are.equal("ex:4: loop optimized: computed when " .. c[2], explain(c[1], frontend), c[1])
      end
    end)

    it("ends a refusal with the operation and its variables, and names a global written", function()
      for _, c in ipairs(REFUSED) do
        assert.are.equal("ex:4: loop not optimized: " .. c[2], explain(c[1], frontend), c[1])
      end
    end)

    it("raises the same reason with strict", function()
      local ok, err = pcall(cpm.optimize, fn("r = r * i"), { strict = true, frontend = frontend })
      assert.is_false(ok)
      err = err:gsub("^cpm: [^\n]-:4: ", "cpm: ex:4: ")
      assert.are.equal("cpm: ex:4: product of loop-carried values whose degree grows with each iteration (r * i)", err)
    end)

    it("computes the loops it says it computes when the values qualify, and not otherwise", function()
      local f = fn("x = (x * 31 + 7) % m")
      local g = cpm.optimize(f, { frontend = frontend, iters_limit = 2 })
      assert.are.equal(select(2, f(1000, 0, 97)), select(2, g(1000, 0, 97)))
      assert.are.equal(1, cpm.stats(g)[1].computed)
      local _, x = g(1000, 0, 97.5)  -- m not an integer: run as written
      assert.are.equal(select(2, f(1000, 0, 97.5)), x)
      assert.are.equal(1, cpm.stats(g)[1].computed)
      assert.are.equal(1, cpm.stats(g)[1].fell_back)
    end)
  end)
end

describe("cpm.explain without names", function()
  teardown(removetemps)
  it("gives the reason alone for a stripped function, and 'the modulus'", function()
    local f = assert((loadstring or load)(string.dump(fn("r = r * i"), true)))
    assert.are.equal(f, cpm.optimize(f))
    assert.are.equal("product of loop-carried values whose degree grows with each iteration",
      cpm.explain(f):match("not optimized: (.*)$"))
    f = assert((loadstring or load)(string.dump(fn("x = (x * 31 + 7) % m"), true)))
    assert.are.equal("computed when the modulus is a nonzero integer and " .. MODRING,
      cpm.explain(f):match("loop optimized: (.*)$"))
    f = assert((loadstring or load)(string.dump(fn("s = s * K + a"), true)))
    assert.are.equal("computed when " .. RING .. ", and the invariants it multiplies by have integer values",
      cpm.explain(f):match("loop optimized: (.*)$"))
  end)
end)

describe("the runner's options", function()
  it("are checked by name, as cpm.optimize's are", function()
    local auto = require "cpm.auto"
    local ok, err = pcall(auto.install, { itters_limit = 3 })
    assert.is_false(ok)
    assert.matches("bad argument #1 to 'install' %(unknown option 'itters_limit'%)", err)
    ok, err = pcall(auto.install, "strict")
    assert.is_false(ok)
    assert.matches("table expected, got string", err)
  end)
end)
