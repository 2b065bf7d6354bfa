-- The LuaJIT dump reader, writer and editor (src/luajit/jitbc_*.c), through
-- the internal entry points of cpm.core: byte-identical round trips of
-- every function of many files (stripped and not), insertion of
-- instructions (the padded functions must behave as the originals), and
-- refusal of truncated and damaged dumps without a crash.
local core = require "cpm.core"

if not jit or not core._jitbc_roundtrip then
  describe("the LuaJIT dump reader", function()
    pending("is LuaJIT only: skipped on " .. _VERSION)
  end)
  return
end

local dump, loadstring, pcall = string.dump, loadstring, pcall

-- a small deterministic random generator, independent of math.random
local function rng(seed)
  local s = seed
  return function(n)
    s = (s * 1103515245 + 12345) % 2147483648
    return s % n + 1
  end
end

local function sortedfiles(cmd)
  local files, p = {}, io.popen(cmd)
  for line in p:lines() do files[#files + 1] = line end
  p:close()
  table.sort(files)
  return files
end

-- Every function of a chunk: the chunk's and, through the dump of each,
-- the children found by running nothing (child prototypes are in the
-- dump itself, so the chunk's dump covers them).
local function corpus()
  local out = {}
  for _, file in ipairs(sortedfiles("find lua spec bench examples " ..
      "/usr/share/lua/5.1/busted -name '*.lua' 2>/dev/null")) do
    local f = loadfile(file)
    if f then out[#out + 1] = { name = file, f = f } end
  end
  return out
end

local function ser(v)
  if type(v) == "number" then return ("%.17g"):format(v) end
  return type(v) .. ":" .. tostring(v)
end

-- What calling f(...) gives, as text: its results or its error.
local function outcome(f, ...)
  local r = { pcall(f, ...) }
  for i = 2, #r do r[i] = ser(r[i]) end
  return tostring(r[1]) .. " " .. table.concat(r, ",", 2)
end

describe("the LuaJIT dump reader and writer", function()
  it("write back every function of the corpus byte for byte", function()
    local files = corpus()
    assert.is_true(#files > 20)
    for _, c in ipairs(files) do
      for _, strip in ipairs { false, true } do
        local s = dump(c.f, strip)
        assert(core._jitbc_roundtrip(s) == s, c.name .. (strip and " (stripped)" or ""))
      end
    end
  end)

  it("write back closures, constants of every kind and =name chunks", function()
    local up = 3
    local fs = {
      function(a, ...) local t = { 1, 2.5, x = 3, [4.5] = "y", z = true, -7, 2^40 }
        local nv = select("#", ...)
        local function g(b) return function() return b + up + a + nv end end
        return g, t, 1.5, -7, 2^40, -2^31, 2^31, -0.0, 1/0, "str", nil, false end,
      loadstring("local s = 0 for i = 1, 10 do s = s + i end return s", "=name"),
      loadstring("return function(x) return x * 2 end", "@file.lua"),
    }
    for i, f in ipairs(fs) do
      for _, strip in ipairs { false, true } do
        local s = dump(f, strip)
        assert(core._jitbc_roundtrip(s) == s, "function " .. i)
      end
    end
  end)

  it("refuses every truncation of a dump, and damaged dumps, without a crash", function()
    local s = dump(function(a, b)
      local t = { 1, x = "y" }
      for i = 1, a do b = b + i * 2 end
      return function() return t, b end
    end)
    for n = 0, #s - 1 do
      local ok, err = pcall(core._jitbc_roundtrip, s:sub(1, n))
      assert(not ok, "accepted a truncation to " .. n .. " bytes")
      assert.matches("^cpm: unrecognized LuaJIT bytecode", err)
    end
    assert.is_false(pcall(core._jitbc_roundtrip, s .. "x"))
    assert.is_false(pcall(core._jitbc_roundtrip, s:sub(1, 3) .. "\3" .. s:sub(5)))  -- version
    assert.is_false(pcall(core._jitbc_roundtrip, s:sub(1, 4) .. "\9" .. s:sub(6)))  -- BE flag
    assert.is_false(pcall(core._jitbc_roundtrip, s:sub(1, 4) .. "\40" .. s:sub(6)))  -- unknown
    local r = rng(7)
    for _ = 1, 3000 do  -- damaged bytes: refused or read, never a crash
      local i = r(#s)
      local d = s:sub(1, i - 1) .. string.char(r(256) - 1) .. s:sub(i + 1)
      local ok, out = pcall(core._jitbc_roundtrip, d)
      assert(ok or out:match("^cpm: "), out)
    end
  end)
end)

describe("the LuaJIT dump editor", function()
  local function f(n, k)
    local s, t = 0, {}
    for i = 1, n do
      if i % 3 == 0 then s = s + i elseif i % 5 == 0 then s = s - 1 else t[#t + 1] = i end
      local j = 0
      while j < 3 do j = j + 1; if j == 2 then break end end
      for _, v in pairs({ a = 1 }) do s = s + v end
      for _, v in ipairs({ 1, 2 }) do s = s + v end
      repeat k = k - 1 until k < 0
    end
    local g = function(x) return x and s or -s end
    return s, #t, g(true), g(false), select("#", unpack(t)), k
  end

  it("inserts instructions anywhere, relocating jumps, lines and variables", function()
    for every = 1, 5 do
      for _, strip in ipairs { false, true } do
        local d = assert(core._jitbc_pad(dump(f, strip), every))
        assert.is_true(#d > #dump(f, strip))
        local g = assert(loadstring(d))
        for n = 0, 30 do
          assert.equal(outcome(f, n, 2), outcome(g, n, 2))
        end
        if not strip then  -- lines moved along: an error names the same line
          local e1, e2 = outcome(f, 3, nil), outcome(g, 3, nil)
          assert.matches(":%d+:", e1)
          assert.equal(e1, e2)
        end
      end
    end
  end)

  it("pads every function of the corpus into one that loads", function()
    for _, c in ipairs(corpus()) do
      local d = core._jitbc_pad(dump(c.f), 2)
      assert(d and loadstring(d), c.name)
    end
  end)
end)

describe("the LuaJIT bytecode front end", function()
  local cpm = require "cpm"
  local tmpfile = require("files").tmpfile
  local agree = require("agree").agree

  local function fibsum(n, a, b)
    local s = 0
    for _ = 1, n do a, b = b, a + b; s = s + a end
    return a, b, s
  end

  it("optimizes =name chunks, which have no text", function()
    local f = loadstring("return function(n)\n  local s = 0\n  for i = 1, n do s = s + i end\n"
      .. "  return s\nend", "=name")()
    local g = cpm.optimize(f)
    assert.are_not.equal(f, g)
    assert.are.equal("name:3: loop optimized: computed when every value stays an integer below 2^53 (LuaJIT numbers), or is a cpm.big, and the step has an integer value", cpm.explain(f))
    assert.are.equal(f(1000), g(1000))
    assert.are.equal(5e13 + 5e6, g(1e7))
  end)

  it("optimizes functions loaded from stripped bytecode, and its own dumps", function()
    local f = loadstring(string.dump(fibsum, true))
    local g = cpm.optimize(f)
    assert.are_not.equal(f, g)
    for _, n in ipairs { 0, 1, 2, 50, 383, 384, 1000 } do agree(f, g, { n, 0, 1 }, "n = " .. n) end
    -- a dump of an optimized function loads: its hook upvalue is nil
    -- then, and its loops run as written; optimizing it again leaves them
    -- so, and its code as it is
    for _, strip in ipairs { false, true } do
      local h = loadstring(string.dump(g, strip))
      for _, n in ipairs { 0, 5, 1000 } do agree(f, h, { n, 0, 1 }, "dumped, n = " .. n) end
      assert.matches("loop not optimized: loop rewritten by cpm already", cpm.explain(h))
      assert.are.equal(string.dump(h, strip), string.dump(cpm.optimize(h), strip))
    end
  end)

  it("optimizes a function whose other loop already ran hot (JIT-patched)", function()
    local f = loadstring([[
      return function(n, m)
        local s, t = 0, 1
        for i = 1, n do s = s + i end
        for _ = 1, m do t = t + s end
        return s, t
      end]], "=hot")()
    for _ = 1, 200 do f(1000, 0) end  -- the first loop is traced: FORL -> JFORL
    local g = cpm.optimize(f)
    assert.are.equal("hot:3: loop optimized: computed when every value stays an integer below 2^53 (LuaJIT numbers), or is a cpm.big, and the step has an integer value\n"
      .. "hot:4: loop optimized: computed when every value stays an integer below 2^53 (LuaJIT numbers), or is a cpm.big, and s has an integer value", cpm.explain(f))
    for _, a in ipairs { { 1000, 5 }, { 10, 1000 }, { 0, 0 }, { 3e6, 2e6 } } do
      agree(f, g, a, table.concat(a, ", "))
    end
  end)

  it("optimizes the functions of a file without a trailing return", function()
    local path = tmpfile("function jitbc_spec_sum(n)\n  local s = 0\n"
      .. "  for i = 1, n do s = s + 2 * i end\n  return s\nend\n")
    local chunk = assert(cpm.loadfile(path))
    os.remove(path)
    chunk()
    local g = _G.jitbc_spec_sum
    _G.jitbc_spec_sum = nil
    assert.matches(":3: loop optimized: computed when [^\n]*$", cpm.explain(g))
    assert.are.equal(2 * 5050, g(100))
    assert.are.equal(1e14 + 1e7, g(1e7))
  end)

  it("reads globals through the function's environment, also after setfenv", function()
    local f = loadstring("return function(n) local s = 0 for i = 1, n do s = s + K * i end return s end")()
    setfenv(f, { K = 3 })
    local g = cpm.optimize(f)
    assert.are_not.equal(f, g)
    assert.are.equal(3 * 500500, g(1000))
    setfenv(g, { K = 5 })
    assert.are.equal(5 * 500500, g(1000))
    setfenv(g, setmetatable({}, { __index = function() return 7 end }))  -- through a metamethod:
    assert.are.equal(7 * 500500, g(1000))                            -- the loop as written
    setfenv(g, {})
    assert.has_error(function() g(1000) end)
  end)

  it("writes upvalues that the original function shares", function()
    local total = 0
    local function acc(n) for i = 1, n do total = total + i end return total end
    local g = cpm.optimize(acc)
    assert.are.equal(500500, g(1000))
    assert.are.equal(500500, total)
    assert.are.equal(500500 + 210, acc(20))
  end)

  it("calls no C function below iters_limit, and one guard at or above it", function()
    local g = cpm.optimize(fibsum, { iters_limit = 100 })
    local ncalls
    local function count(n)
      ncalls = 0
      debug.sethook(function()
        if debug.getinfo(2, "S").what == "C" then ncalls = ncalls + 1 end
      end, "c")
      g(n, 0, 1)
      debug.sethook()
      return ncalls - 1  -- debug.sethook itself
    end
    for _, n in ipairs { 0, 1, 2, 50, 98 } do assert.are.equal(0, count(n), "n = " .. n) end
    for _, n in ipairs { 100, 101, 1000 } do assert.are.equal(1, count(n), "n = " .. n) end
    -- not numbers: the loop raises its own error, on its line
    local e1 = select(2, pcall(fibsum, "x", 0, 1))
    local e2 = select(2, pcall(g, "x", 0, 1))
    assert.are.equal(e1, e2)
    assert.are.equal(fibsum("10", 0, 1), g("10", 0, 1))  -- strings: converted as the loop does
    assert.are.equal(fibsum("200", 0, 1), g("200", 0, 1))
  end)
end)
