-- Nested loops (src/core/plan_nest.c): random rectangular nests of depth 1
-- to 3 -- invariant bounds from parameters and constants, zero-length
-- inner loops, float bounds, negative steps, bodies of affine statements
-- -- run optimized by every front end against the original, at the
-- default iters_limit and at 2; huge nests computed, not run; inner loops
-- that cannot be planned refused with a reason (triangular nests:
-- spec/trinest_spec.lua).
local cpm = require "cpm"
local agree = require("agree").agree

local LUA54 = not jit
local load = loadstring or load
local FRONTENDS = { "bytecode", "source" }
-- the front ends that plan a whole nest (every one, on both VMs)
local NESTS = { bytecode = true, source = true }
-- exact integer division (Lua 5.4's //; LuaJIT's numbers are exact here)
local idiv = LUA54 and load("return function(a, b) return a // b end")()
  or function(a, b) return math.floor(a / b) end

-- A deterministic generator (the same cases on every run and VM).
local rnd, pick = require("lcg").new(4242, "low")

-- Loop variables by depth; statements over the carried s, t, the
-- variables of the loops around them and the parameter a.
local VARS = { "i", "j", "k" }
local function statement(depth)
  local v = VARS[rnd(depth)]
  return pick({ "s = s + 1", "s = s + " .. v, "t = t + s", "s = s - " .. v,
    "t = t - 2 * s + 3", "s, t = t, s", "s = 2 * s + 1",
    "local u = s + t; t = u", "s = s + a", "t = t + a * 2",
    "s = s + " .. v .. " * 3", "t = t + (a + 1) * " .. v,
    "s = s + i * " .. v })  -- the last: a product when v is not i
end

-- Bounds of the loop at 'depth': parameters (m, p, a) and constants,
-- counting up or down, integer or float.
local function bounds()
  return pick({ "1, m", "1, p", "m, 1, -1", "0, p - 1", "1, 3", "2, 1",
    "1.0, m", "m, 0, -2", "1, p, 2", "-p, p", "1, m, 1.0", "a, 3" })
end

local function body(depth, maxdepth, ind)
  local r = {}
  for _ = 1, rnd(2) do r[#r + 1] = ind .. statement(depth) end
  if depth < maxdepth then
    r[#r + 1] = ind .. "for " .. VARS[depth + 1] .. " = " .. bounds() .. " do"
    r[#r + 1] = body(depth + 1, maxdepth, ind .. "  ")
    r[#r + 1] = ind .. "end"
    if rnd(2) == 1 then r[#r + 1] = ind .. statement(depth) end
  end
  return table.concat(r, "\n")
end

local function source(maxdepth)
  return "return function(n, m, p, a)\n  local s, t = 0, 1\n" ..
    "  for i = 1, n do\n" .. body(1, maxdepth, "    ") .. "\n" ..
    "  end\n  return s, t\nend"
end

local function args()
  local n = pick({ 0, 1, 3, 7, 20 })
  local m = pick({ 0, 1, 2, 5, 12, 2.0, -1 })
  local p = pick({ 0, 1, 3, 9, 3.0 })
  local a = pick({ 0, 1, 2, -3, 2.0, 0.5, "2", "x" })
  return { n = 4, n, m, p, a }
end

describe("nested loops", function()
  it("give what the original gives, on random nests and arguments", function()
    local planned = { bytecode = 0, source = 0 }
    local computed = { bytecode = 0, source = 0 }
    local cases = 0
    for _ = 1, 50 do
      local depth = rnd(3)
      local text = source(depth)
      local f = assert(load(text))()
      cases = cases + 1
      for _, fe in ipairs(FRONTENDS) do
        if cpm.explain(f, { frontend = fe }):match(":3: loop optimized") then
          planned[fe] = planned[fe] + 1
        end
        for _, limit in ipairs({ 0, 2 }) do
          local opts = { frontend = fe }
          if limit > 0 then opts.iters_limit = limit end
          local g = cpm.optimize(f, opts)
          for _ = 1, 5 do
            local x = args()
            local shown = {}
            for i = 1, 4 do shown[i] = tostring(x[i]) end
            agree(f, g, x, ("%s\nfrontend %s, iters_limit %d, args %s"):format(
              text, fe, limit, table.concat(shown, ", ")))
          end
          for _, st in ipairs(cpm.stats(g)) do
            if st.line == 3 then computed[fe] = computed[fe] + st.computed end
          end
        end
      end
    end
    -- most nests are planned as a whole where nests are planned, and many
    -- calls computed (the others ran as written: values it cannot follow)
    for _, fe in ipairs(FRONTENDS) do
      if NESTS[fe] then
        assert.is_true(planned[fe] > cases / 2, fe .. ": " .. planned[fe])
        assert.is_true(computed[fe] > cases, fe .. ": " .. computed[fe])
      end
    end
  end)

  it("are one plan, computed, not run (10^6 x 10^6 x 10^6)", function()
    local f = assert(load([[
      return function(n, m, p)
        local s, t = 0, 0
        for i = 1, n do
          local u = i * 2
          for j = 1, m do
            for k = 1, p do
              s = s + 1
            end
            t = t + u
          end
        end
        return s, t
      end]]))()
    for _, fe in ipairs(FRONTENDS) do
      if NESTS[fe] then
        assert.matches(":3: loop optimized", cpm.explain(f, { frontend = fe }))
        -- strict: a loop run as written would raise; 10^18 iterations
        -- would never return
        local g = cpm.optimize(f, { frontend = fe, strict = true })
        local N = LUA54 and 1000000 or 100000
        local s, t = g(N, N, N)
        if LUA54 then
          assert.are.equal(1000000 * 1000000 * 1000000, s)  -- wraps as Lua does
          assert.are.equal(1000000 * 1000001 * 1000000, t)
          assert.are.equal("integer", math.type(s))
        else
          assert.are.equal(1e15, s)
          assert.are.equal(1e5 * 100001 * 1e5, t)
        end
        agree(f, g, { n = 3, 9, 8, 7 }, fe)
        agree(f, cpm.optimize(f, { frontend = fe, iters_limit = 2 }),
              { n = 3, 9, 0, 7 }, fe)
      end
    end
  end)

  it("count float loops and zero-trip inner loops as the VM does", function()
    local f = assert(load([[
      return function(n, m, st)
        local s, t = 0.0, 0.0
        for i = 1.0, n do
          for j = m, 1, st do
            s = s + j
          end
          t = t + s + i
        end
        return s, t
      end]]))()
    for _, fe in ipairs(FRONTENDS) do
      if NESTS[fe] then
        local g = cpm.optimize(f, { frontend = fe, iters_limit = 2 })
        for _, x in ipairs({ { 50, 10, -1 }, { 50, 0, -1 }, { 50, 10, 1 },
            { 50, 10.0, -3 }, { 7, 3, -0.5 }, { 40, 1e6, -1 } }) do
          agree(f, g, { n = 3, x[1], x[2], x[3] }, fe .. " " .. table.concat(x, ","))
        end
        local gs = cpm.optimize(f, { frontend = fe, strict = true })
        local s, t = gs(4096, 1000.0, -1)  -- strict: computed, or it raises
        assert.are.equal(4096 * 500500, s)
        assert.are.equal(500501 * 4096 * 4097 / 2, t)
        if LUA54 then assert.are.equal("float", math.type(t)) end
      end
    end
  end)

  it("compute float nests under integer loops and int/float mixes (Lua 5.4), each value of the type the loop leaves it", function()
    local f = assert(load([[
      return function(n, m, s0)
        local s, x = s0, 0
        for i = 1, n do
          x = 5
          local u = x * 2
          for j = 1, m do s = s + 1.5 * 2 + u end
        end
        return s, x
      end]]))()
    for _, fe in ipairs(FRONTENDS) do
      if NESTS[fe] then
        local gs = cpm.optimize(f, { frontend = fe, strict = true })
        local s, x = gs(100000, 100000, 0.0)  -- strict: computed, or it raises
        assert.are.equal(1.3e11, s)
        assert.are.equal(5, x)
        if LUA54 then
          assert.are.equal("float", math.type(s))
          assert.are.equal("integer", math.type(x))
          -- an integer s plus floats: a mix, s a float from the first
          -- iteration on, x an integer
          s, x = gs(1000, 100, 0)
          assert.are.equal(1.3e6, s)
          assert.are.equal("float", math.type(s))
          assert.are.equal("integer", math.type(x))
          -- no iteration: s keeps its type (and the guard is not called)
          assert.are.equal("integer", math.type((gs(0, 100, 0))))
          -- an integer inner sum beside a float one; a float inner loop
          -- adding to an integer; a swap of an integer and a float,
          -- whose types alternate (run as written)
          local h = assert(load([[
            return function(n, m, a)
              local s, c, t, p, q = 0, 0, 0, 1, 2.0
              for i = 1, n do
                for j = 1, m do s = s + 2.0; c = c + j end
                for k = 1.0, m do t = t + k end
                for _ = 1, a do p, q = q, p end
              end
              return s, c, t, p, q
            end]]))()
          local hs = cpm.optimize(h, { frontend = fe, strict = true })
          local r = { hs(100000, 1000, 0) }
          assert.are.same({ 2e8, 100000 * 500500, 100000 * 500500.0, 1, 2.0 }, r)
          assert.are.same({ "float", "integer", "float", "integer", "float" },
            { math.type(r[1]), math.type(r[2]), math.type(r[3]), math.type(r[4]), math.type(r[5]) })
          local sw = assert(load([[
            return function(n, m)
              local s, p, q = 0, 1, 2.0
              for i = 1, n do
                for j = 1, m do s = s + 1 end
                p, q = q, p
              end
              return s, p, q
            end]]))()
          local ok, err = pcall(cpm.optimize(sw, { frontend = fe, strict = true }), 1000, 10)
          assert.is_false(ok)
          assert.matches("values change between integer and float", err, 1, true)
          agree(sw, cpm.optimize(sw, { frontend = fe, iters_limit = 2 }), { n = 2, 7, 3 }, fe)
          local hl = cpm.optimize(h, { frontend = fe, iters_limit = 2 })
          for _, a in ipairs({ 0, 1, 2, 3 }) do
            for _, n in ipairs({ 0, 1, 2, 3, 10 }) do
              agree(h, hl, { n = 3, n, 4, a }, fe .. " " .. n .. " " .. a)
            end
          end
        end
        local g = cpm.optimize(f, { frontend = fe, iters_limit = 2 })
        for _, x0 in ipairs({ 0, 0.0, 7, -2.0, 2 ^ 53 }) do
          agree(f, g, { n = 3, 40, 30, x0 }, fe .. " " .. tostring(x0))
        end
      end
    end
  end)

  it("compute a triangular loop inside a rectangular inner loop as one nest", function()
    local f = assert(load([[
      return function(n)
        local s = 0
        for i = 1, n do
          for j = 1, n do
            for k = 1, j do s = s + k end
          end
        end
        return s
      end]]))()
    for _, fe in ipairs(FRONTENDS) do
      local rep = cpm.explain(f, { frontend = fe })
      if NESTS[fe] then
        assert.matches(":3: loop optimized", rep, 1, true)
        -- strict: computed, not run; n * sum_{j<=n} j(j+1)/2
        local N = LUA54 and 100000 or 2000
        local s = cpm.optimize(f, { frontend = fe, strict = true })(N)
        assert.are.equal(N * idiv(N * (N + 1) * (N + 2), 6), s)
      end
      assert.matches(":4: loop optimized", rep, 1, true)
      agree(f, cpm.optimize(f, { frontend = fe }), { n = 1, 60 }, fe)
    end
  end)

  it("report an outer loop whose inner loop cannot be planned at its own line", function()
    local cases = {
      { "s = s + j; g(s)", "inner loop at line 4: call in loop body" },
      { "s = s * j", "inner loop at line 4: product of two loop%-carried values in a nested loop" },
      { "s = s % 7 + j", "inner loop at line 4: operator '%%' applied to a loop%-carried value in a nested loop" },
      { "if s > 3 then s = s + j end", "inner loop at line 4: branch condition depends on a loop%-carried value" },
    }
    for _, c in ipairs(cases) do
      local text = "local g = function() end\nreturn function(n, m)\n  local s = 1\n  for i = 1, n do for j = 1, m do\n    " ..
        c[1] .. "\n  end end\n  return s\nend"
      local f = assert(load(text))()
      for _, fe in ipairs(FRONTENDS) do
        local rep = cpm.explain(f, { frontend = fe })
        if NESTS[fe] then assert.matches(":4: loop not optimized: " .. c[2], rep) end
        agree(f, cpm.optimize(f, { frontend = fe }), { n = 2, 30, 30 }, text)
      end
    end
  end)

  it("run as written on values they cannot follow", function()
    local f = assert(load([[
      return function(n, m, a)
        local s = 0
        for i = 1, n do
          for j = 1, m do
            s = s + a
          end
        end
        return s
      end]]))()
    for _, fe in ipairs(FRONTENDS) do
      local g = cpm.optimize(f, { frontend = fe, iters_limit = 2 })
      for _, a in ipairs({ 1, 2.5, "3", 2 ^ 60, -0.0, 1e300 }) do
        agree(f, g, { n = 3, 30, 20, a }, fe .. " " .. tostring(a))
      end
      local m = setmetatable({}, { __add = function(x) return x end })
      agree(f, g, { n = 3, 5, 5, m }, fe)
      agree(f, g, { n = 3, 5, "x", 1 }, fe)  -- the inner loop raises
    end
  end)
end)
