-- Triangular loops below the first level (src/core/plan_nest.c,
-- prodloop): an inner loop whose body holds loops whose bounds follow its
-- own variable (`for i = 1, n do for j = 1, i do for k = 1, j`), its
-- product of changing matrices taken by Newton's formula, on random
-- nests of depth 3 and 4, bounds and arguments, through every front end
-- on both VMs, at the default iters_limit and at 2; huge nests computed,
-- not run; what does not close runs as written, with a reason.
local cpm = require "cpm"
local agree = require("agree").agree
local sweep = require("sweep").sweep
local refused = require("sweep").refused

local LUA54 = not jit
local load = loadstring or load
local FRONTENDS = { "bytecode", "source" }
local idiv = LUA54 and load("return function(a, b) return a // b end")()
  or function(a, b) return math.floor(a / b) end

local rnd, pick = require("lcg").new(4242)

-- C(x, 4) as the loops compute it (Lua 5.4: mod 2^64): the factors of 24
-- divided out of the four consecutive factors before multiplying
local function binom4(x)
  local f = { x, x - 1, x - 2, x - 3 }
  for _, d in ipairs({ 3, 4, 2 }) do
    for i = 1, 4 do
      if f[i] % d == 0 then f[i] = idiv(f[i], d); break end
    end
  end
  return f[1] * f[2] * f[3] * f[4]
end

-- A range for a loop whose enclosing counters are 'vars' (outermost
-- first): a constant or parameter range, or one that follows one of them.
local function range(vars)
  local v = vars[#vars]
  local u = vars[rnd(#vars)]
  return pick({ "1, " .. v, v .. ", n", "1, " .. v .. " - 1", v .. ", " .. v .. " + 2",
    "0, " .. u, u .. ", n", v .. ", 1, -1", "1, 2 * " .. v, "1, m",
    "-" .. v .. ", " .. v, v .. " + 1, n", u .. ", " .. v, "1, " .. v .. ", 2",
    "2 * " .. v .. ", 3 * " .. v, "m, " .. v })
end

local function stmt(vars)
  local v = vars[rnd(#vars)]
  return pick({ "s = s + " .. v, "c = c + 1", "t = t + s", "s = s - " .. v,
    "t = t + 2 * " .. v .. " + a", "c = c + " .. v .. " - 1", "s = s + a",
    "local u = " .. v .. " + 1; t = t + u", "t = t + 3",
    pick({ "s = s + 1", "s = 2 * s", "s = s + " .. v .. " * " .. v, "t = t - c" }) })
end

local function body(vars, depth, maxdepth)
  local r = {}
  for _ = 1, rnd(2) do r[#r + 1] = stmt(vars) end
  if depth < maxdepth then
    local v = ({ "j", "k", "l" })[depth]
    local inner = { table.unpack and table.unpack(vars) or unpack(vars) }
    inner[#inner + 1] = v
    r[#r + 1] = "for " .. v .. " = " .. range(vars) .. " do " ..
      body(inner, depth + 1, maxdepth) .. " end"
    if rnd(3) == 1 then r[#r + 1] = stmt(vars) end
  end
  return table.concat(r, "; ")
end

local function source()
  local o = pick({ "1, n", "0, n", "n, 1, -1", "1, n, 2", "2, n" })
  local init = pick({ "0, 1, 0", "0, 1, 0", "0.0, 1, 0", "0, 1.0, 0", "0, 1, 0.0" })
  return "return function(n, m, a)\n  local s, t, c = " .. init .. "\n" ..
    "  for i = " .. o .. " do\n    " .. body({ "i" }, 1, pick({ 3, 3, 4 })) ..
    "\n  end\n  return s, t, c\nend"
end

local function args()
  return { n = 3, pick({ 0, 1, 2, 5, 9, 17 }), pick({ 0, 3, -2, 4, 2.0 }),
    pick({ 0, 1, -3, 2.0, "2" }) }
end

describe("triangular loops below the first level", function()
  it("give what the original gives, on random nests and arguments", function()
    local computed = sweep({ cases = 50, source = source, args = args, calls = 5 })
    for _, fe in ipairs(FRONTENDS) do
      io.stderr:write(fe, " computed ", computed[fe], "\n")
      assert.is_true(computed[fe] > 25, fe .. ": " .. computed[fe])
    end
  end)

  it("follow bounds of any enclosing counter, through rectangular loops between", function()
    -- found by fuzzing: a rectangular loop (k) between a triangular one
    -- (j) and the loop that follows k (l) has a product that changes; a
    -- doubling inside it must not pass for a sum
    local shapes = {
      { "for j = i, n do c = c + i - 1; for k = 1, m do s = s - k; c = c + 1; " ..
        "for l = 1, k do s = s + i; t = t + 3 end; s = 2 * s end; s = s - i end", false },
      { "for j = 1, i do for k = 1, m do for l = 1, j do s = s + l end end end", true },
      { "for j = 1, i do for k = 1, j do for l = i, k + i do s = s + 1; t = t + l end end end", true },
      { "for j = 1, m do for k = j, m do for l = 1, k - j do s = s + i end end end", true },
      { "for j = 1, i do for k = j, i do s = s + k - j end end", true },
      { "for j = i, 1, -1 do for k = 2 * j, j + i, 1 do t = t + k end end", true },
      { "for j = 1, i do c = c + 1; for k = 1, m do t = t + c; for l = 1, k do s = s + t end end end", false },
    }
    for _, sh in ipairs(shapes) do
      local text = "return function(n, m)\n  local s, t, c = 0, 0, 0\n  for i = 0, n do\n    " ..
        sh[1] .. "\n  end\n  return s, t, c\nend"
      local f = assert(load(text))()
      for _, fe in ipairs(FRONTENDS) do
        local g = cpm.optimize(f, { frontend = fe, iters_limit = 2 })
        for _, n in ipairs({ 0, 1, 2, 5, 10, 70 }) do
          agree(f, g, { n = 2, n, 3 }, text .. "\n" .. fe .. " n = " .. n)
        end
        if sh[2] then  -- computed: strict does not raise
          local gs = cpm.optimize(f, { frontend = fe, iters_limit = 2, strict = true })
          agree(f, gs, { n = 2, 40, 4 }, text .. "\n" .. fe .. " strict")
        end
      end
    end
  end)

  it("are computed, not run, for huge counts", function()
    local f = assert(load([[
      return function(n, m)
        local s, c, t, u = 0, 0, 0, 0
        for i = 1, n do
          for j = 1, i do
            for k = 1, j do
              s = s + k
              c = c + 1
            end
          end
          for j = i, n do
            for k = j, n do t = t + 1 end
          end
          for j = 1, m do
            for k = 1, j do
              for l = 1, k do u = u + 1 end
            end
          end
        end
        return s, c, t, u
      end]]))()
    for _, fe in ipairs(FRONTENDS) do
      assert.matches(":3: loop optimized", cpm.explain(f, { frontend = fe }))
      -- strict: a loop run as written raises; 10^18 iterations would not
      -- return
      local g = cpm.optimize(f, { frontend = fe, strict = true })
      local N, M = LUA54 and 1000000 or 10000, 1000
      local s, c, t, u = g(N, M)
      -- C(N+2, 3) of each of the tetrahedral loop's iterations; s: the
      -- sum over i <= n of sum_{j<=i} j(j+1)/2 = C(N+3, 4) + C(N+2, 3)
      local C3 = idiv(N * (N + 1) * (N + 2), 6)
      assert.are.equal(C3, c)
      assert.are.equal(C3, t)
      assert.are.equal(binom4(N + 3), s)
      assert.are.equal(N * idiv(M * (M + 1) * (M + 2), 6), u)
      if LUA54 then assert.are.equal("integer", math.type(s)) end
      agree(f, cpm.optimize(f, { frontend = fe, iters_limit = 2 }), { n = 2, 40, 9 }, fe)
    end
  end)

  it("run as written what does not close, with a reason under strict", function()
    local cases = {
      { "for k = 1, j, 2 do s = s + k end", "not an affine function of the enclosing loop's counter" },
      { "for k = 3, j do s = s + k end", "runs in some outer iterations" },
      { "for k = 1, j do s = 2 * s + 1 end", "not unipotent" },
      { "c = c + 1; for k = 1, c do s = s + k end", "depends on a value the loops carry" },
    }
    for _, c in ipairs(cases) do
      local text = "return function(n)\n  local s, c = 1, 0\n  for i = 1, n do\n    for j = 1, i do " ..
        c[1] .. " end\n  end\n  return s\nend"
      local f = assert(load(text))()
      for _, fe in ipairs(FRONTENDS) do
        assert.matches(":3: loop optimized", cpm.explain(f, { frontend = fe }), 1, true)
      end
      refused(f, c[2], { n = 1, 20 }, text)
    end
  end)

  it("refuse a triangular loop below the first level with products by the outer counter", function()
    local text = "return function(n)\n  local s = 0\n  for i = 1, n do\n" ..
      "    for j = 1, n do for k = 1, j do s = s + i * k end end\n  end\n  return s\nend"
    local f = assert(load(text))()
    for _, fe in ipairs(FRONTENDS) do
      assert.matches(":3: loop not optimized: inner loop at line 4: ", cpm.explain(f, { frontend = fe }), 1, true)
      agree(f, cpm.optimize(f, { frontend = fe }), { n = 1, 30 }, text)
    end
  end)
end)
