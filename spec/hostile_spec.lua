-- Crafted Lua 5.4 binary chunks that Lua's load accepts without checking
-- their code: cpm only reads them (optimize, explain, load) and must give
-- f back unchanged with the reason, never read outside what the chunk
-- declares.  Each case changes one field of a real dump (tools/chunk54.lua,
-- kept out of spec/ and lua/: it is Lua 5.4 syntax, and the parser spec
-- loads every file there on both VMs) whose loop cpm optimizes when
-- unchanged.
local cpm = require "cpm"

if jit then
  describe("hostile Lua 5.4 chunks", function()
    pending("are Lua 5.4 chunks: skipped on LuaJIT")
  end)
  return
end

package.path = "tools/?.lua;" .. package.path
local C = require "chunk54"
local SOURCE_FRONTEND = pcall(require, "cpm.source")
local OP = C.OP

-- a loop cpm optimizes, with a constant, an upvalue, a field read, a
-- branch before it and a nested function
local SOURCE = [[
local up = 2
local t = { w = 3 }
return function(n, x)
  local a, b = 0, 1.5
  if x then n = n + 1 end
  local h = function() return up end
  local tt = t
  for i = 1, n do a, b = b + tt.w * up, a + 0.25 end
  return a, b, h
end
]]

local ORIGINAL = load(SOURCE)()

-- the inner function's dump (unstripped, or stripped when asked)
local function dump(strip)
  return string.dump(ORIGINAL, strip)
end

-- the instruction field of the first 'op' in the function (path {} = the
-- dumped function itself, {1} its first nested function)
local function instr(parsed, op, nested)
  local p = parsed.main
  if nested then p = p.p[1] end
  return assert(C.find(p, op), "no such instruction")
end

local function field(parsed, kind, what, p)
  for _, f in ipairs(parsed.fields) do
    if f.kind == kind and (what == nil or f.what == what) and
       (p == nil or f.proto == p) then
      return f
    end
  end
  error("no field " .. kind .. " " .. tostring(what))
end

-- name, mutation (dump -> mutated dump), the reason explain must give
local CASES = {
  { "a FORPREP jumping past the end of the code", function(d, P)
      local f = instr(P, OP.FORPREP)
      return C.set(d, f, C.setarg(f.value, "Bx", 100000))
    end, "loop exit out of the code" },
  { "a JMP past the end of the code", function(d, P)
      local f = instr(P, OP.JMP)
      return C.set(d, f, C.setsJ(f.value, 5000))
    end, "jump out of the code" },
  { "a JMP before the start of the code", function(d, P)
      local f = instr(P, OP.JMP)
      return C.set(d, f, C.setsJ(f.value, -5000))
    end, "jump out of the code" },
  { "a FORLOOP jumping back before the start", function(d, P)
      local f = instr(P, OP.FORLOOP)
      return C.set(d, f, C.setarg(f.value, "Bx", 100000))
    end, "loop jumps out of the code" },
  { "a LOADK past the constant table", function(d, P)
      local f = instr(P, OP.LOADK)
      return C.set(d, f, C.setarg(f.value, "Bx", P.main.nk + 40))
    end, "constant index out of range" },
  { "a GETFIELD key past the constant table", function(d, P)
      local f = instr(P, OP.GETFIELD)
      return C.set(d, f, C.setarg(f.value, "C", 250))
    end, "constant index out of range" },
  { "a GETUPVAL past the upvalues", function(d, P)
      local f = instr(P, OP.GETUPVAL)
      return C.set(d, f, C.setarg(f.value, "B", 200))
    end, "upvalue index out of range" },
  { "a MOVE to a register past the frame", function(d, P)
      local f = instr(P, OP.MOVE)
      return C.set(d, f, C.setarg(f.value, "A", P.main.maxstacksize))
    end, "register out of the frame" },
  { "an ADD reading a register past the frame", function(d, P)
      local f = instr(P, OP.ADD)
      return C.set(d, f, C.setarg(f.value, "C", 255))
    end, "register out of the frame" },
  { "a CLOSURE past the nested functions", function(d, P)
      local f = instr(P, OP.CLOSURE)
      return C.set(d, f, C.setarg(f.value, "Bx", 7))
    end, "prototype index out of range" },
  { "an unknown opcode", function(d, P)
      local f = instr(P, OP.MOVE)
      return C.set(d, f, C.setop(f.value, 127))
    end, "unknown opcode" },
  { "an arithmetic without its MMBIN", function(d, P)
      local f = instr(P, OP.MMBIN)
      return C.set(d, f, C.setarg(C.setarg(C.setop(f.value, OP.MOVE), "B", 0), "C", 0))
    end, "arithmetic without its metamethod instruction" },
  { "a nested function's upvalue past the enclosing upvalues", function(d, P)
      local f = field(P, "byte", "idx", P.main.p[1])
      local instack = field(P, "byte", "instack", P.main.p[1])
      return C.set(C.set(d, instack, 0), f, 100)
    end, "upvalue description out of the enclosing function" },
  { "a local variable whose scope ends past the code", function(d, P)
      local f = field(P, "varint", "endpc", P.main)
      return C.set(d, f, 1000000)
    end, "local variable scope out of the code" },
  { "an absolute line entry without its absolute line", function(d, P)
      local f = field(P, "varint", "lineinfo", P.main)
      assert(f.value > 0, "needs line information")
      return d:sub(1, f.at + f.len - 1) .. "\x80" .. d:sub(f.at + f.len + 1)
    end, "bad line information" },
  { "a header giving the closure fewer upvalues than its function",
    function(d, P)
      return C.set(d, field(P, "header_nup"), P.main.nup - 1)
    end, "the closure has 1 upvalues, its function 2" },
  { "a header giving the closure more upvalues than its function",
    function(d, P)
      return C.set(d, field(P, "header_nup"), P.main.nup + 3)
    end, "the closure has 5 upvalues, its function 2" },
}

describe("hostile Lua 5.4 chunks", function()
  it("start from a dump whose loop cpm optimizes", function()
    local f = load(dump())
    for i = 1, debug.getinfo(f, "u").nups do
      debug.upvaluejoin(f, i, ORIGINAL, i)
    end
    assert.matches("loop optimized", cpm.explain(f))
    local g = cpm.optimize(f, { iters_limit = 2 })
    assert.are_not.equal(f, g)
    for n = 0, 12 do
      local a, b = f(n, n % 2 == 0)
      local c, d = g(n, n % 2 == 0)
      assert.are.same({ a, b, math.type(a) }, { c, d, math.type(c) })
    end
  end)

  for _, case in ipairs(CASES) do
    local name, mutate, reason = case[1], case[2], case[3]
    it("are refused: " .. name, function()
      for _, strip in ipairs { false, true } do
        local d = dump(strip)
        local P = C.parse(d)
        local ok, m = pcall(mutate, d, P)
        if not ok and strip then break end  -- needs debug information
        assert(ok, m)
        assert.are_not.equal(d, m)
        local f = assert(load(m, "=hostile", "b"))
        -- never called: Lua itself may crash running it
        assert.are.equal(f, cpm.optimize(f))
        local why = cpm.explain(f)
        assert.matches("not optimized: ", why, 1, true)
        assert.matches(reason, why, 1, true)
        assert.has_error(function() cpm.optimize(f, { strict = true }) end)
        if SOURCE_FRONTEND then
          -- it reads the text (here a string source) and f's upvalues by
          -- name, never past the closure's own count: it may optimize
          -- (what it compiles is the text), and then explain says so
          local opts = { frontend = "source" }
          local g = cpm.optimize(f, opts)
          assert.are.equal("function", type(g))
          assert.matches(g == f and "not optimized" or "loop optimized",
                         cpm.explain(f, opts), 1, true)
        end
        local g = cpm.load(m, "=hostile", "b")
        assert.are.equal("function", type(g))
        assert.are.equal(string.dump(f), string.dump(g))
      end
    end)
  end
end)
