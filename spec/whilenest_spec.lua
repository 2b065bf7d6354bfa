-- Counted while and repeat loops whose body holds numeric for loops
-- (src/core/plan_while.c hands the converted body to src/core/plan_nest.c:
-- the counter is the nest's outer index, its final value one more
-- output): random loops with every comparison, operand order and step
-- sign, invariant-expression bounds and zero-pass loops, around random
-- rectangular and triangular nests of depth 1 and 2 (counters and sums in
-- locals or upvalues), run optimized by
-- every front end on both VMs against the original (values, math.type,
-- the counter's final value); huge counts computed, not run, and checked
-- against their closed forms; the shapes that stay as written refused
-- with a reason.
local cpm = require "cpm"
local agree = require("agree").agree

local LUA54 = not jit
local load = loadstring or load
local FRONTENDS = { "bytecode", "source" }
local unpack = table.unpack or unpack

local rnd, pick = require("lcg").new(2718)
-- exact integer division (Lua 5.4's //; LuaJIT's numbers are exact here)
local idiv = LUA54 and load("return function(a, b) return a // b end")()
  or function(a, b) return math.floor(a / b) end

-- The innermost body: sums over the loop variables i (the while
-- counter), j, l, the invariant a and the carried s, t, r; now and then a
-- statement that is no sum (the nest then runs as written).
local function innermost(vars)
  local r = {}
  for _ = 1, rnd(3) do
    r[#r + 1] = pick({ "s = s + " .. vars, "r = r + 1", "t = t + s", "s = s + a",
      "s = s - 2 * " .. vars .. " + 1", "t = t + 3 * " .. vars, "r = r + i",
      "local u = s + " .. vars .. "; t = t + u",
      pick({ "s = s + j", "s = 2 * s", "s = s + i * j", "t = t - r" }) })
  end
  return table.concat(r, "; ")
end

-- An inner for loop's range over j: rectangular (invariant) or
-- triangular (the while counter i moves it).
local function jrange()
  return pick({ "1, m", "0, 3", "m, 1, -1", "1, 2", "2, 1", "1, k", "-1, m, 2",
    "1, i", "i, m", "0, i - 1", "i, i + 2", "1, 2 * i + 1", "i, 1, -1" })
end

local function nest()
  if rnd(3) == 1 then  -- depth 2 (rectangular below the first loop)
    return "for j = " .. jrange() .. " do " ..
      pick({ "", "t = t + j; " }) ..
      "for l = " .. pick({ "1, m", "1, 3", "0, k", "m, 1, -1", "1, 0" }) ..
      " do " .. innermost(pick({ "l", "j", "i" })) .. " end end"
  end
  return "for j = " .. jrange() .. " do " .. innermost(pick({ "j", "i" })) .. " end"
end

-- Tests with the counter i on either side; `x` stands for the bound.
local tests = { "i < x", "i <= x", "i > x", "i >= x", "i == x", "i ~= x",
  "x < i", "x <= i", "x > i", "x >= i", "x ~= i", "not (i < x)",
  "not (x <= i)", "not (i == x)" }
local bounds = { "n", "n", "n * 2", "n - k", "10", "-3", "0", "(n + k) * 2" }
local updates = { "i = i + c", "i = i - c", "i = c + i", "i = i + 1", "i = i - 2",
  "i = i + 2 * k", "i = i - (c + k)" }

-- One random function: its text, with `--[[K]]` where each pass starts.
local function source()
  local stmts = { nest() }
  if rnd(2) == 1 then
    table.insert(stmts, rnd(2), pick({ "s = s + i", "t = t + 1", "r = r + s",
      "s = s + a" }))
  end
  table.insert(stmts, rnd(#stmts + 1), pick(updates))
  local test = pick(tests):gsub("x", pick(bounds))
  local body = table.concat(stmts, "\n      ")
  local loop = rnd(3) == 1
    and ("    repeat --[[K]]\n      " .. body .. "\n    until " .. test)
    or ("    while " .. test .. " do --[[K]]\n      " .. body .. "\n    end")
  if rnd(4) == 1 then  -- the counter and the sums upvalues of the loop's function
    loop = "    local function run()\n" .. loop .. "\n    end\n    run()"
  end
  return "return function(i, n, c, m, k, a)\n    local s, t, r = 0, 1, 0\n" ..
    loop .. "\n    return i, s, t, r\nend"
end

-- Does f end within a few thousand passes and inner passes?  A copy of f
-- that counts them and gives up says.
local function ends(text, x)
  local capped = text:gsub("local s, t, r = 0, 1, 0",
    "local s, t, r, cpm_k = 0, 1, 0, 0")
  capped = capped:gsub("%-%-%[%[K%]%]",
    "cpm_k = cpm_k + 1; if cpm_k > 3000 then error('long', 0) end")
  capped = capped:gsub(" do ", " do cpm_k = cpm_k + 1; if cpm_k > 3000 then " ..
    "error('long', 0) end; ")
  local f = assert(load(capped))()
  local ok, err = pcall(f, unpack(x, 1, x.n))
  return ok or err ~= "long"
end

local function args()
  if rnd(4) == 1 then  -- zero-pass loops and unusual values
    return { n = 6, pick({ 0, 5, -4, 2.5, 100 }), pick({ 0, -3, 2.5, 5, -100 }),
      pick({ 1, 2, -1, 0.5, 0 }), pick({ 0, 2, -1, 2.0 }), pick({ 0, 1, -1, 1.0 }),
      pick({ 0, 1, 2.0, "1" }) }
  end
  return { n = 6, pick({ 0, 1, -5, 3, 7, 0.0, 40 }), pick({ 0, 5, 12, 30, -7, 9.0, 60 }),
    pick({ 1, 2, 3, -1, -2, 1.0 }), pick({ 0, 1, 2, 3, 5, -1 }), pick({ 0, 1, 2, -1 }),
    pick({ 0, 1, -2, 3 }) }
end

describe("while and repeat loops around for loops", function()
  it("give what the original gives, on random loops, nests and arguments", function()
    local planned = { bytecode = 0, source = 0 }
    local computed = { bytecode = 0, source = 0 }
    local compared = 0
    for case = 1, 90 do
      local text = source()
      local f = assert(load(text))()
      for _, fe in ipairs(FRONTENDS) do
        local rep = cpm.explain(f, { frontend = fe })
        local line = rep:match(":(%d+): %a+ loop optimized")
        if line then planned[fe] = planned[fe] + 1 end
        for _, limit in ipairs({ 0, 2 }) do
          local opts = { frontend = fe }
          if limit > 0 then opts.iters_limit = limit end
          local g = cpm.optimize(f, opts)
          for _ = 1, 6 do
            local x = args()
            if ends(text, x) then
              compared = compared + 1
              agree(f, g, x, ("case %d\n%s\nfrontend %s, iters_limit %d, args %s %s %s %s %s %s\n%s")
                :format(case, text, fe, limit, tostring(x[1]), tostring(x[2]), tostring(x[3]),
                  tostring(x[4]), tostring(x[5]), tostring(x[6]), rep))
            end
          end
          for _, st in ipairs(cpm.stats(g)) do
            if line and st.line == tonumber(line) then
              computed[fe] = computed[fe] + st.computed
            end
          end
        end
      end
    end
    io.stderr:write(("compared %d, planned %d/%d, computed %d/%d\n"):format(compared,
      planned.bytecode, planned.source, computed.bytecode, computed.source))
    assert.is_true(compared > 500, compared)
    for _, fe in ipairs(FRONTENDS) do
      -- most loops are planned (the others: a body the nest refuses), and
      -- many calls computed (the others: values it cannot follow, or a
      -- loop too short for the guard)
      assert.is_true(planned[fe] >= 50, fe .. " planned " .. planned[fe])
      assert.is_true(computed[fe] >= 40, fe .. " computed " .. computed[fe])
    end
  end)

  it("compute huge nests, not run them, with the counter's final value", function()
    -- text, arguments, results (closed forms), on Lua 5.4 / on LuaJIT
    -- (whose doubles must stay exact: smaller inner counts)
    local M = LUA54 and 1000000 or 100
    local cases = {
      -- 10^12 passes x M inner iterations
      { "while i < n do for j = 1, m do s = s + j end i = i + 1 end",
        { 0, 1000000000000, M }, function(n, m) return n, n * idiv(m * (m + 1), 2) end },
      -- a repeat loop counting down by 3, a triangular inner loop
      { "repeat for j = 1, n do s = s + 1 end n = n - 3 until n <= 0",
        { 0, 3 * M }, function(n)
          local p = idiv(n, 3)  -- passes at n, n - 3, ..., 3
          return 0, 3 * idiv(p * (p + 1), 2)
        end, "n" },
      -- depth 2, a bound that is an invariant expression, the counter
      -- read by the innermost body
      { "while i < n * 2 do for j = 1, m do for l = 1, 10 do s = s + i end end i = i + 2 end",
        { 0, LUA54 and 500000000 or 50000, 1000 }, function(n, m)
          local p = n  -- passes at i = 0, 2, ..., 2n - 2
          return 2 * n, 10 * m * 2 * idiv(p * (p - 1), 2)
        end },
    }
    for _, cs in ipairs(cases) do
      local text = "return function(i, n, m)\n  local s = 0\n  " .. cs[1] ..
        "\n  return " .. (cs[4] or "i") .. ", s\nend"
      local f = assert(load(text))()
      local want = { cs[3](cs[2][2], cs[2][3]) }
      for _, fe in ipairs(FRONTENDS) do
        assert.matches("%a+ loop optimized", cpm.explain(f, { frontend = fe }))
        local g = cpm.optimize(f, { frontend = fe, strict = true })
        local t0 = os.clock()
        local r = { g(unpack(cs[2])) }
        assert.is_true(os.clock() - t0 < 1, text)
        assert.are.same(want, r, text .. "\n" .. fe)
        if LUA54 then
          assert.are.equal("integer", math.type(r[1]))
          assert.are.equal("integer", math.type(r[2]))
        end
        local computed = 0
        for _, st in ipairs(cpm.stats(g)) do computed = computed + st.computed end
        assert.are.equal(1, computed, text .. "\n" .. fe)
      end
    end
  end)

  it("keep the counter's type and final value, on floats and wraps", function()
    local f = assert(load([[
      return function(i, n, c, m)
        local s = 0
        while i < n do
          for j = 1, m do s = s + j end
          i = i + c
        end
        return i, s
      end]]))()
    local cases = { { 0.0, 1000, 1, 3 }, { 0, 1000, 1.0, 3 }, { 0, 1000.0, 4, 2 },
      { 0.5, 1000, 0.25, 2 }, { -7, 1000, 3, 0 }, { 5, 5, 1, 3 }, { 5, 3, 1, 3 } }
    if LUA54 then
      cases[#cases + 1] = { math.maxinteger - 300, math.maxinteger, 3, 2 }
      cases[#cases + 1] = { math.mininteger, math.mininteger + 1000, 3, 2 }
    end
    for _, fe in ipairs(FRONTENDS) do
      local g = cpm.optimize(f, { frontend = fe, iters_limit = 2 })
      for _, x in ipairs(cases) do
        agree(f, g, { n = 4, unpack(x) }, fe .. " " .. table.concat(x, ", "))
      end
      assert.is_true(cpm.stats(g)[1].computed >= 4, fe)
    end
  end)

  it("check the IR of a while loop around LOOP ops", function()
    local core = require "cpm.core"
    -- while i < n do for j = 1, 3 do s = s + j end i = i + k end: slots i
    -- 0, n 1, k 2, s 3, j 4
    local function ir(ops, kind)
      return { kind = kind or "while", nslots = 5, liveout = { 0, 3 }, line = 1, ops = ops,
        cond = { "lt", 0, 1, exit = false, pre = 0 } }
    end
    local sum = { "add", 3, 3, 4 }
    local p, info = core._plan(ir({ { "loop", 4, { k = 1 }, { k = 3 }, body = 1 }, sum,
      { "add", 0, 0, 2 } }))
    assert.is_truthy(p, info)
    assert.are.equal(2, info.w.step)
    assert.are.same({ 3, 0 }, info.outputs)  -- the counter's final value last
    local refused = {
      -- the counter stepped in the inner loop's body (0, 1 or more times)
      { { { "loop", 4, { k = 1 }, { k = 3 }, body = 1 }, { "add", 0, 0, 2 } },
        "loop counter updated inside a nested loop" },
      -- or as the inner loop's variable
      { { { "loop", 0, { k = 1 }, { k = 3 }, body = 1 }, sum },
        "loop counter not stepped" },
      -- an inner body past the end of the while's
      { { { "add", 0, 0, 2 }, { "loop", 4, { k = 1 }, { k = 3 }, body = 2 }, sum },
        "malformed loop IR" },
      { { { "add", 0, 0, 2 }, { "loop", 4, { k = 1 }, 7, body = 1 }, sum },
        "malformed loop IR" },
      -- a bound the inner loop writes
      { { { "loop", 4, { k = 1 }, { k = 3 }, body = 1 }, { "add", 1, 1, 4 }, { "add", 0, 0, 2 } },
        "condition compares two values that the loop changes" },
    }
    for _, c in ipairs(refused) do
      for _, kind in ipairs({ "while", "repeat" }) do
        local q, why = core._plan(ir(c[1], kind))
        assert.is_nil(q)
        assert.matches(c[2], why, 1, true)
      end
    end
  end)

  it("plan invariant branches in the nest (plan_branch.c, each path a nest)", function()
    local bodies = {
      "repeat for j = 1, 3 do if a then s = s + j else s = s - 1 end end i = i + 1 until i >= n",
      "while i < n do if a then for j = 1, i do s = s + j end end i = i + 2 end",
      "while n > i do for j = 1, m do for l = 1, 2 do if a == 1 then s = s + l end end end " ..
        "i = i + 1 end",
    }
    for _, b in ipairs(bodies) do
      local text = "return function(i, n, a, m)\n  local s = 0\n  " .. b .. "\n  return i, s\nend"
      local f = assert(load(text))()
      for _, fe in ipairs(FRONTENDS) do
        assert.matches(":3: %a+ loop optimized", cpm.explain(f, { frontend = fe }))
        local g = cpm.optimize(f, { frontend = fe, iters_limit = 2 })
        for _, x in ipairs({ { 0, 10, true, 3 }, { 0, 10, false, 2 }, { 3, 100, 1, 4 },
          { 0.0, 31, 1, 2 }, { 5, 2, true, 3 }, { -4, 40, 2, 0 } }) do
          agree(f, g, { n = 4, unpack(x) }, text .. "\n" .. fe)
        end
        local computed = 0
        for _, st in ipairs(cpm.stats(g)) do
          if st.line == 3 then computed = computed + st.computed end
        end
        assert.is_true(computed >= 3, text .. "\n" .. fe .. " " .. computed)
      end
    end
  end)

  it("refuse other shapes with a reason", function()
    local cases = {
      { "while i < n do for j = 1, 3 do i = i + 1 end end",
        "loop counter updated inside a nested loop" },
      { "while i < n do for j = 1, 3 do s = s * s end i = i + 1 end",
        "product of two loop-carried values in a nested loop" },
      { "while n > i do for j = 1, 3 do if s > 3 then s = s + 1 end end i = i + 1 end",
        "branch condition depends on a loop-carried value" },
      { "while i < n do for j = 1, s do s = s + j end i = i + 1; i = i + 1 end",
        "loop counter written more than once" },
    }
    for _, cs in ipairs(cases) do
      local text = "return function(i, n, a)\n  local s = 0\n  if n > 40 then return 0 end\n  " ..
        cs[1] .. "\n  return i, s\nend"
      local f = assert(load(text))()
      for _, fe in ipairs(FRONTENDS) do
        local rep = cpm.explain(f, { frontend = fe })
        assert.matches(":4: %a+ loop not optimized: [^\n]*" ..
          cs[2]:gsub("%-", "%%-"), rep)
        agree(f, cpm.optimize(f, { frontend = fe }), { n = 3, 3, 17, false }, text)
      end
    end
    -- a while or repeat loop inside a loop: the inner loop alone is
    -- planned, the outer one says why not, at the line of the inner
    -- loop's jump back on every front end
    local inner = {
      { "for i = 1, n do\n    local k = 0\n    while k < 10 do\n      s = s + k\n" ..
        "      k = k + 1\n    end\n  end", "7: loop" },
      { "for i = 1, n do\n    local k = 0\n    repeat\n      s = s + k\n" ..
        "      k = k + 1\n    until k >= i\n  end", "8: loop" },
      { "while i < n do\n    local k = 0\n    while k < i do\n      s = s + k\n" ..
        "      k = k + 1\n    end\n    i = i + 1\n  end", "7: while loop" },
      { "for i = 1, n do\n    for j = 1, 3 do\n      local k = 0\n" ..
        "      while k < 10 do s = s + k; k = k + 1 end\n    end\n  end",
        "3: loop not optimized: inner loop at line 4: " },
    }
    for _, cs in ipairs(inner) do
      local text = "return function(i, n)\n  local s = 0\n  " .. cs[1] .. "\n  return i, s\nend"
      local f = assert(load(text))()
      for _, fe in ipairs(FRONTENDS) do
        local rep = cpm.explain(f, { frontend = fe })
        assert.matches(":" .. cs[2] .. "[^\n]*while or repeat loop in loop body %(only " ..
          "numeric for loops are planned inside a loop%)", rep)
        assert.matches("%a+ loop optimized", rep)  -- the inner loop
        local g = cpm.optimize(f, { frontend = fe, iters_limit = 2 })
        for _, x in ipairs({ { 0, 5 }, { 1, 30 }, { 2.0, 12 } }) do
          agree(f, g, { n = 2, x[1], x[2] }, text .. "\n" .. fe)
        end
      end
    end
  end)
end)
