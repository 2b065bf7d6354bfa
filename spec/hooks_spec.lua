-- Debug hooks and introspection of optimized functions: each statement of
-- doc/manual.md, "Debug hooks and introspection", on both front ends of the
-- VM the specs run on.  Under a line hook loops run as written, so
-- debuggers and coverage tools see every line; a computed loop fires no
-- count events for the iterations it skips; a call hook sees the guard
-- (and, with the source front end, the entry test's type checks); the
-- optimized function's extra upvalues; lines and errors as the original's.
local cpm = require "cpm"
local files = require "files"

-- (busted reads globals through its own environment: a call hook would
-- see that, so the hooks are set and read through locals)
local sethook, getinfo = debug.sethook, debug.getinfo
local mathtype, type_ = math.type, type

local LUA54 = cpm.vm == "Lua 5.4"

local TEXT = [[
return function(n, k)
  local s = 0
  for i = 1, n do
    s = s + k
  end
  return s
end
]]

-- the source of the chunk whose events 'traced' records
local HOOKED

-- f from TEXT in a file (the source front end reads its text there), and
-- g = cpm.optimize(f, opts) on 'frontend'
local function pair(frontend, opts)
  opts = opts or { iters_limit = 2 }
  opts.frontend = frontend
  local path = files.tmpfile(TEXT)
  local f = assert(loadfile(path))()
  HOOKED = getinfo(f, "S").source
  local g = cpm.optimize(f, opts)
  os.remove(path)
  assert.are_not.equal(f, g)
  return f, g
end

-- the events of `mask` in the chunk HOOKED while calling fn(...):
-- the result, then a list of "event:line" strings
local function traced(mask, count, fn, ...)
  local seen = {}
  sethook(function(ev, line)
    local info = getinfo(2, "S")
    if info and info.source == HOOKED then seen[#seen + 1] = ev .. ":" .. tostring(line) end
  end, mask, count)
  local r = fn(...)
  sethook()
  return r, seen
end

-- the calls a call hook sees while calling fn(...), but fn and sethook
local function calls(fn, ...)
  local names = {}
  sethook(function()
    local info = getinfo(2, "f")
    if info.func ~= fn and info.func ~= sethook then names[#names + 1] = info.func end
  end, "c")
  fn(...)
  sethook()
  return names
end

for _, frontend in ipairs { "bytecode", "source" } do
  describe("debug hooks, " .. frontend .. " front end", function()
    it("a line hook sees every line of every iteration, as in the original", function()
      local f, g = pair(frontend)
      for _, n in ipairs { 0, 1, 5, 100, 1000 } do
        local rf, lf = traced("l", nil, f, n, 3)
        local rg, lg = traced("l", nil, g, n, 3)
        assert.are.equal(rf, rg)
        assert.are.same(lf, lg)
        assert.is_true(#lg >= 2 * n)
      end
    end)

    it("a line hook keeps strict from raising: the loop runs as written by choice", function()
      local _, g = pair(frontend, { iters_limit = 2, strict = true })
      local r = traced("l", nil, g, 1000, 0.5)  -- a float step: refused without the hook
      assert.are.equal(500.0, r)
      assert.has_error(function() g(1000, 0.5) end)
    end)

    it("a computed loop fires no count events for the iterations it skips", function()
      local f, g = pair(frontend)
      local _, cf = traced("", 1, f, 100000, 3)
      local rg, cg = traced("", 1, g, 100000, 3)
      assert.are.equal(300000, rg)
      assert.is_true(#cf > 100000)
      assert.is_true(#cg < 1000)
    end)

    it("a call hook sees the guard when the loop reaches it, and nothing else of cpm's but the entry test's type checks", function()
      -- for i = 1, n: a start and step written as numbers, no type check
      local f, g = pair(frontend, { iters_limit = 100 })
      assert.are.equal(0, #calls(f, 10, 3))
      local short, long = calls(g, 10, 3), calls(g, 100000, 3)
      assert.are.equal(0, #short)  -- below iters_limit: no call at all
      assert.are.equal(1, #long)   -- the guard
      local guard = long[#long]
      assert.are.equal("C", getinfo(guard, "S").what)
      if frontend == "source" then
        -- for i = a, n: the source front end's entry test checks the
        -- types of the start and the limit
        local path = files.tmpfile("return function(a, n) local s = 0 for i = a, n do s = s + i end return s end")
        local h = assert(loadfile(path))()
        local gh = cpm.optimize(h, { frontend = "source", iters_limit = 100 })
        os.remove(path)
        local check = LUA54 and mathtype or type_
        assert.are.same({ check, check }, calls(gh, 1, 10))
        local hl = calls(gh, 1, 100000)
        assert.are.equal(3, #hl)
        assert.are.same({ check, check }, { hl[1], hl[2] })
        assert.are.equal("C", getinfo(hl[3], "S").what)
      end
    end)
  end)

  describe("introspection, " .. frontend .. " front end", function()
    -- f from a file (the source front end reads its text there), g =
    -- cpm.optimize(f)
    local function load2(text)
      local path = files.tmpfile(text)
      local f = assert(loadfile(path))()
      local g = cpm.optimize(f, { frontend = frontend })
      os.remove(path)
      assert.are_not.equal(f, g)
      return f, g
    end
    -- (k is assigned in the chunk: LuaJIT's compiler may treat an upvalue
    -- that is never assigned as a constant, even after debug.setupvalue)
    local WITH = "local k = 4\nreturn function(n) local s = 0 for _ = 1, n do s = s + k end return s end,\n"
      .. " function(v) k = v end"
    local WITHOUT = "return function(n) local s = 0 for i = 1, n do s = s + i end return s end"

    it("an optimized function has the upvalues the manual lists", function()
      -- (VARSTART's loop needs a type check in the source front end)
      local VARSTART = "return function(a, n) local s = 0 for i = a, n do s = s + i end return s end"
      for _, text in ipairs { WITH, WITHOUT, VARSTART } do
        local f, g = load2(text)
        local nf, ng = debug.getinfo(f, "u").nups, debug.getinfo(g, "u").nups
        local extra = {}
        for i = 1, ng do
          local name = debug.getupvalue(g, i)
          if name ~= "k" then extra[#extra + 1] = name end
        end
        if frontend == "source" then
          assert.are.equal(nf + (text == VARSTART and 3 or 2), ng)
          for _, name in ipairs(extra) do assert.matches("^cpm_%u$", name) end
        elseif LUA54 and nf == 0 then
          assert.are.same({ "(cpm env)", "(cpm)" }, extra)
          assert.is_nil(select(2, debug.getupvalue(g, 1)))
        else
          assert.are.same({ "(cpm)" }, extra)
          assert.are.equal(nf + 1, ng)
        end
      end
      -- LuaJIT: a check that calls type reaches it through one more
      if not LUA54 and frontend ~= "source" then
        for _, text in ipairs {
          "return function(n) local s, i = 0, 0 while i < n do s = s + i i = i + 1 end return s end",
          "return function(n, a, b) for _ = 1, n do a, b = b, a + b end return a end",
        } do
          local _, g = load2(text)
          assert.are.same({ "(cpm)", "(cpm type)" },
            { debug.getupvalue(g, 1), (debug.getupvalue(g, 2)) }, text)
          assert.are.equal(type, select(2, debug.getupvalue(g, 2)))
        end
      end
    end)

    it("shares the original's upvalues: setupvalue by name reaches the same variable", function()
      local f, g = load2(WITH)
      assert.are.equal(4000, g(1000))
      for i = 1, debug.getinfo(g, "u").nups do
        if debug.getupvalue(g, i) == "k" then debug.setupvalue(g, i, 7) end
      end
      assert.are.equal(7000, f(1000))
      assert.are.equal(7000, g(1000))
    end)

    it("keeps the original's lines, source and errors", function()
      local f, g = load2(WITH)
      local fi, gi = debug.getinfo(f, "S"), debug.getinfo(g, "S")
      assert.are.equal(fi.short_src, gi.short_src)
      assert.are.equal(fi.linedefined, gi.linedefined)
      assert.are.equal(fi.lastlinedefined, gi.lastlinedefined)
      for i = 1, debug.getinfo(g, "u").nups do
        if debug.getupvalue(g, i) == "k" then debug.setupvalue(g, i, "x") end
      end
      local okf, ef = pcall(f, 1000)
      local okg, eg = pcall(g, 1000)
      assert.is_false(okf)
      assert.is_false(okg)
      assert.are.equal(ef, eg)
      assert.are.equal(fi.short_src .. ":2: ", eg:sub(1, #fi.short_src + 4))
    end)
  end)
end
