-- The shared core through its internal Lua entry points: IR tables are
-- planned (cpm.core._plan) and run by the guard (cpm.core._guard), and
-- compared with the same IR executed as a plain Lua loop.
local cpm = require "cpm"
local core = require "cpm.core"
local ir_run = require "ir_reference"

local LUA54 = not jit
local big = cpm.big

local function plan(ir)
  return core._plan(ir)
end

-- Runs the guard with control values (a, b, c) and entry values `env`
-- (slot -> value); returns ok, outputs by slot.
local function guarded(ir, a, b, c, env, limit)
  local p, info = assert(plan(ir))
  local g = core._guard(p, limit or 2)
  local args = {}
  for i, s in ipairs(info.inputs) do args[i] = env[s] end
  local res = table.pack(g(a, b, c, table.unpack(args, 1, #info.inputs)))
  if not res[1] then return false, res[2] end
  local out = {}
  for i, s in ipairs(info.outputs) do out[s] = res[i + 1] end
  return true, out, info
end

local same = ir_run.same

-- The message of the error f raises (luassert's has_error would strip our
-- "cpm: file:line:" as if it were a position).
local function errmsg(f)
  local ok, err = pcall(f)
  assert(not ok, "expected an error")
  return err
end

describe("the planner", function()
  it("accepts the Fibonacci body and keeps two state rows", function()
    local p, info = plan { nslots = 3, liveout = { 0, 1 },
      ops = { { "add", 2, 0, 1 }, { "move", 0, 1 }, { "move", 1, 2 } } }
    assert.is_truthy(p)
    assert.are.same({ 0, 1 }, info.inputs)
    assert.are.same({ 0, 1 }, info.outputs)
    assert.are.equal(2, info.nlive)
  end)

  it("refuses a polynomial body beyond PLAN_MAXMONOS (24) monomials", function()
    -- x5 = x5 + (x0 + .. + x4)^3: 35 monomials of degree 3
    local ops = { { "add", 6, 0, 1 }, { "add", 6, 6, 2 }, { "add", 6, 6, 3 },
                  { "add", 6, 6, 4 }, { "mul", 7, 6, 6 }, { "mul", 7, 7, 6 },
                  { "add", 5, 5, 7 } }
    for j = 0, 4 do ops[#ops + 1] = { "add", j, j, { k = 1 } } end
    for _, op in ipairs(ops) do op.line = 4 end
    local p, why, line = plan { nslots = 8, liveout = { 5 }, line = 3, ops = ops }
    assert.is_nil(p)
    assert.are.equal("polynomial terms need more than 24 monomials", why)
    assert.are.equal(4, line)
  end)

  local refusals = {
    { "product of loop-carried values whose degree grows with each iteration",
      { { "mul", 0, 0, 1 }, { "add", 1, 1, { k = 1 } } } },
    { "product of loop-carried values whose degree grows with each iteration",
      { { "mul", 0, 0, 0 } } },
    { "product of more than 6 loop-carried values",  -- PLAN_MAXDEGREE
      { { "mul", 2, 1, 1 }, { "mul", 2, 2, 1 }, { "mul", 2, 2, 2 },
        { "mul", 2, 2, 1 }, { "add", 0, 0, 2 }, { "add", 1, 1, { k = 1 } } } },

    { "operator '//' applied to a loop-carried value",
      { { "idiv", 0, 0, { k = 2 } } } },
    { "operator '%' applied to a loop-carried value",
      { { "mod", 0, 0, 1 }, { "add", 1, 1, { k = 1 } } } },
    { "a value of the loop is not reduced modulo the same value as the others (a mix of rings)",
      { { "mod", 2, 0, { k = 7 } }, { "add", 1, 1, 2 }, { "move", 0, 2 } } },
    { "reductions modulo different values",
      { { "mod", 0, 0, { k = 7 } }, { "mod", 1, 1, { k = 8 } } } },
    { "operator '^' applied to a loop-carried value",
      { { "pow", 0, 0, { k = 2 } } } },
    { "operator '/' applied to a loop-carried value",
      { { "div", 0, 0, { k = 2 } } } },
    -- bitwise ops on carried values go to the GF(2) planner (spec/gf2_spec.lua),
    -- which refuses these
    { "mix of arithmetic and bitwise operations on a loop-carried value",
      { { "add", 0, 0, { k = 1 } }, { "band", 0, 0, { k = 2 } } } },
    { "mix of arithmetic and bitwise operations on a loop-carried value",
      { { "unm", 0, 0 }, { "bnot", 0, 0 } } },
    { "shift count that changes in the loop",
      { { "shl", 0, 0, 0 } } },
    { "field read with a loop-carried table", { { "index", 0, 0, { k = "x" } } } },
    { "field read with a loop-carried key", { { "index", 0, 2, 0 } } },
    { "branch condition depends on a loop-carried value",
      { { "if", "lt", 0, { k = 100 }, skip = 1 }, { "add", 0, 0, { k = 1 } } } },
    { "branch condition depends on the loop counter",
      { { "add", 0, 0, { k = 1 } }, { "if", "truthy", 2, skip = 0 } }, 2 },
    { "malformed loop IR", { { "if", "always", skip = 5 } } },
    { "malformed loop IR", { { "loop", 1, { k = 1 }, { k = 3 }, body = 5 } } },
    { "product of two loop-carried values in a nested loop",
      { { "loop", 2, { k = 1 }, { k = 3 }, body = 0 }, { "mul", 0, 0, 0 } } },
    { "malformed loop IR",  -- an inner body past its enclosing one
      { { "loop", 2, { k = 1 }, { k = 3 }, body = 1 },
        { "loop", 1, { k = 1 }, { k = 3 }, body = 1 }, { "add", 0, 0, 1 } } },
    { "loops nested more than 5 deep",
      { { "loop", 2, { k = 1 }, { k = 3 }, body = 4 },
        { "loop", 2, { k = 1 }, { k = 3 }, body = 3 },
        { "loop", 2, { k = 1 }, { k = 3 }, body = 2 },
        { "loop", 2, { k = 1 }, { k = 3 }, body = 1 },
        { "loop", 2, { k = 1 }, { k = 3 }, body = 0 } } },
    { "branch condition depends on a loop-carried value",  -- the inner
      -- loop writes slot 0, or not when it runs zero times
      { { "loop", 2, { k = 1 }, 1, body = 1 }, { "move", 0, { k = 1 } },
        { "if", "truthy", 0, skip = 0 } } },
    { "malformed loop IR",  -- a jump into an inner loop's body
      { { "if", "truthy", 1, skip = 1 },
        { "loop", 2, { k = 1 }, { k = 3 }, body = 1 }, { "add", 0, 0, 1 } } },
    { "malformed loop IR",  -- a jump out of an inner loop's body
      { { "loop", 2, { k = 1 }, { k = 3 }, body = 1 },
        { "if", "truthy", 1, skip = 1 }, { "add", 0, 0, 1 } } },
  }
  for _, case in ipairs(refusals) do
    it("refuses with the reason: " .. case[1], function()
      local ops = case[2]
      for _, op in ipairs(ops) do op.line = 7 end
      local p, why, line = plan { nslots = 3, liveout = { 0, 1 }, line = 5, ops = ops,
        index = case[3] }
      assert.is_nil(p)
      assert.are.equal(case[1], why)
      assert.are.equal(7, line)
    end)
  end

  it("hoists operators of every kind on invariant operands", function()
    -- x = x + (K % 7) * 2 ; K is never written: all of it is hoisted
    local ir = { nslots = 4, liveout = { 0 }, ops = {
      { "mod", 2, 1, { k = 7 } }, { "mul", 3, 2, { k = 2 } }, { "add", 0, 0, 3 } } }
    local ok, out = guarded(ir, 1, 10, 1, { [0] = 5, [1] = 100 })
    assert.is_true(ok)
    assert.are.equal(5 + 10 * ((100 % 7) * 2), out[0])
  end)

  it("drops rows nothing live depends on", function()
    local p, info = plan { nslots = 3, liveout = { 0 },
      ops = { { "add", 0, 0, { k = 1 } }, { "add", 1, 1, 0 }, { "mul", 2, 2, { k = 3 } } } }
    assert.is_truthy(p)
    assert.are.equal(1, info.nlive)
  end)

  it("keeps the loop index as a row only when the body reads it", function()
    local _, with = plan { nslots = 2, index = 1, liveout = { 0 },
      ops = { { "add", 0, 0, 1 } } }
    local _, without = plan { nslots = 2, index = 1, liveout = { 0 },
      ops = { { "add", 0, 0, { k = 1 } } } }
    assert.are.equal(2, with.nlive)
    assert.are.equal(1, without.nlive)
  end)

  it("refuses malformed IR instead of crashing", function()
    local p, why = plan { nslots = 2, ops = { { "add", 5, 0, 1 } } }
    assert.is_nil(p)
    assert.are.equal("malformed loop IR", why)
    assert.has_error(function() plan { nslots = 2, ops = { { "frob", 0, 0 } } } end)
  end)
end)

describe("the guard", function()
  local count_ir = { nslots = 1, liveout = { 0 }, ops = { { "add", 0, 0, { k = 1 } } } }

  local function count_ref(a, b, c)
    local n = 0
    for _ = a, b, c do n = n + 1 end
    return n
  end

  it("counts iterations exactly as the VM does, edge cases included", function()
    local mi, ma = math.mininteger or -2^53, math.maxinteger or 2^53
    local cases = {
      { 1, 10, 1 }, { 10, 1, -1 }, { 1, 0, 1 }, { 0, 1, -1 }, { 1, 100, 7 },
      { 100, 1, -7 }, { -5, 5, 3 }, { 1, 2.5, 1 }, { 1, 10.0, 1 }, { 5, -3.5, -2 },
      { 1.0, 10, 1 }, { 1, 10, 2.0 }, { 2^40, 2^40 + 100, 3 },
    }
    if LUA54 then
      for _, c in ipairs {
        { ma - 100, ma, 1 }, { mi + 100, mi, -1 }, { ma - 1000, ma, 7 },
        { mi, mi + 1000, 13 }, { 0, ma, ma }, { 0, mi, mi }, { ma, mi, mi },
        { 1, 1e300, math.floor(ma / 4) }, { 0, -1e300, math.floor(mi / 3) }, { ma - 50, 1e300, 1 },
      } do cases[#cases + 1] = c end
    end
    for _, c in ipairs(cases) do
      local expected = count_ref(c[1], c[2], c[3])
      local ok, out = guarded(count_ir, c[1], c[2], c[3], { [0] = 0 })
      if expected >= 2 then
        assert.is_true(ok, ("loop %s, %s, %s"):format(c[1], c[2], c[3]))
        assert.are.equal(expected, out[0])
      else
        assert.is_false(ok)
      end
    end
  end)

  if LUA54 then
    it("counts the whole integer range (2^64 iterations) without overflow", function()
      local ok, out = guarded(count_ir, math.mininteger, math.maxinteger, 1, { [0] = 0 })
      assert.is_true(ok)
      assert.are.equal(0, out[0])  -- 2^64 additions of 1 wrap to 0
      ok, out = guarded(count_ir, math.mininteger, math.maxinteger, 1, { [0] = 5 })
      assert.is_true(ok)
      assert.are.equal(5, out[0])
    end)
  end

  it("leaves loops below the iteration limit to the VM, without a reason", function()
    local ok, why = guarded(count_ir, 1, 9, 1, { [0] = 0 }, 10)
    assert.is_false(ok)
    assert.is_nil(why)
    local ok2, out = guarded(count_ir, 1, 10, 1, { [0] = 0 }, 10)
    assert.is_true(ok2)
    assert.are.equal(10, out[0])
  end)

  it("evaluates nothing for a loop of zero iterations", function()
    -- x = x + K // 0 raises when evaluated; a loop that does not run must
    -- not evaluate it, so the guard answers "too short", not "raises"
    local ir = { nslots = 2, liveout = { 0 }, ops = {
      { "idiv", 1, { k = 1 }, { k = 0 } }, { "add", 0, 0, 1 } } }
    local ok, why = guarded(ir, 1, 0, 1, { [0] = 0 })
    assert.is_false(ok)
    assert.is_nil(why)
    ok, why = guarded(ir, 1, 100, 1, { [0] = 0 })
    assert.is_false(ok)
    if LUA54 then
      assert.are.equal("an invariant expression raises an error", why)
    end
  end)

  it("falls back on values that are not numbers", function()
    local ir = { nslots = 2, liveout = { 0 }, ops = { { "add", 0, 0, 1 } } }
    for _, v in ipairs { "10", {}, true } do
      local ok = guarded(ir, 1, 100, 1, { [0] = 1, [1] = v })
      assert.is_false(ok)
    end
    assert.is_false((guarded(ir, 1, 100, 1, { [0] = nil, [1] = 1 })))
  end)

  it("falls back on control values it cannot count", function()
    local ir = { nslots = 1, liveout = { 0 }, ops = { { "add", 0, 0, { k = 1 } } } }
    assert.is_false((guarded(ir, "1", 100, 1, { [0] = 1 })))
    assert.is_false((guarded(ir, 1, 100, 0, { [0] = 1 })))
    assert.is_false((guarded(ir, 0.5, 100, 1, { [0] = 1 })))
    assert.is_false((guarded(ir, 1, 1e300, 1.0, { [0] = 1 })))
  end)

  it("raises in strict mode with the reason and the loop's place", function()
    local ir = { nslots = 2, liveout = { 0 }, ops = { { "add", 0, 0, 1 } } }
    local p = plan(ir)
    local g = core._guard(p, 2, true, "fib.lua:4")
    assert.are.equal("cpm: fib.lua:4: a value of the loop is not a number of a type it can follow",
      errmsg(function() g(1, 100, 1, 1, "x") end))
  end)

  if LUA54 then
    it("wraps around exactly like Lua integers", function()
      local ir = { nslots = 3, liveout = { 0, 1 },
        ops = { { "add", 2, 0, 1 }, { "move", 0, 1 }, { "move", 1, 2 } } }
      local ok, out = guarded(ir, 1, 1000, 1, { [0] = 0, [1] = 1 })
      local a, b = 0, 1
      for _ = 1, 1000 do a, b = b, a + b end
      assert.is_true(ok)
      assert.are.equal(a, out[0])
      assert.are.equal(b, out[1])
    end)

    it("refuses to mix floats with bignums (Lua 5.4 would round)", function()
      local ir = { nslots = 2, liveout = { 0, 1 }, ops = {
        { "add", 0, 0, 1 }, { "add", 1, 1, { k = 1.0 } } } }
      assert.is_false((guarded(ir, 1, 100, 1, { [0] = big(1), [1] = 1.0 })))
    end)
  end

  it("computes bignum results exactly", function()
    local ir = { nslots = 3, liveout = { 0, 1 },
      ops = { { "add", 2, 0, 1 }, { "move", 0, 1 }, { "move", 1, 2 } } }
    local ok, out = guarded(ir, 1, 300, 1, { [0] = big(0), [1] = big(1) })
    local a, b = big(0), big(1)
    for _ = 1, 300 do a, b = b, a + b end
    assert.is_true(ok)
    assert.is_true(cpm.isbig(out[0]))
    assert.is_true(cpm.eq(a, out[0]))
    assert.is_true(cpm.eq(b, out[1]))
  end)

  it("raises at once for a bignum loop that would surely exceed the size limit", function()
    -- x = 2x for 10^15 iterations: as written it would run for ages before
    -- its bignum operation raised; nothing can cancel, so the guard knows
    -- (no slot escapes: the error leaves nothing of the loop behind)
    local ir = { nslots = 1, liveout = { 0 }, escapes = {},
      ops = { { "mul", 0, 0, { k = 2 } } } }
    local p = plan(ir)
    local g = core._guard(p, 2, false, "big.lua:3")
    assert.are.equal("cpm: big.lua:3: the loop's values would exceed the bignum size limit (4294967296 bits, see cpm.maxbits)",
      errmsg(function() g(1, 1e15, 1, big(1)) end))
  end)

  it("lets the loop raise when its body writes a slot that outlives the error", function()
    -- an upvalue (or a captured local) keeps the value of the last
    -- iteration before the bignum operation raised: only the loop as
    -- written leaves it; so does an IR that does not say what escapes
    for _, escapes in ipairs { { 0 }, false } do
      local ir = { nslots = 1, liveout = { 0 }, escapes = escapes or nil,
        ops = { { "mul", 0, 0, { k = 2 } } } }
      local g = core._guard(plan(ir), 2, false, "big.lua:3")
      assert.is_false((g(1, 1e15, 1, big(1))))
    end
  end)

  it("does not take a wrapping integer for an exact one when bounding bignums", function()
    -- a = 3a wraps modulo 2^64 and c = c + a stays small: the loop as
    -- written runs; |3|^n would exceed the limit if a did not wrap
    if not LUA54 then return end
    local old = cpm.maxbits()
    cpm.maxbits(200)
    local ir = { nslots = 2, liveout = { 0, 1 }, escapes = {},
      ops = { { "mul", 0, 0, { k = 3 } }, { "add", 1, 1, 0 } } }
    local ok, g = pcall(core._guard, plan(ir), 2, false, "mix.lua:1")
    local res = table.pack(pcall(g, 1, 400, 1, 1, big(0)))
    cpm.maxbits(old)
    assert.is_true(ok and res[1])
    local a, c = 1, big(0)
    for _ = 1, 400 do a = 3 * a; c = c + a end
    if res[2] then  -- computed: exactly the loop's values
      assert.are.equal(a, res[3])
      assert.is_true(cpm.eq(c, res[4]))
    end
  end)

  it("keeps the -0.0 of a float loop variable's first value", function()
    -- for i = -0.0, 1 do a, b = b, i end: a ends as the first i, -0.0
    local ir = { nslots = 3, index = 2, liveout = { 0, 1 },
      ops = { { "move", 0, 1 }, { "move", 1, 2 } } }
    local ok, out = guarded(ir, -0.0, 1, 1, { [1] = 7 })
    assert.is_true(not ok or 1 / out[0] < 0)
    ok, out = guarded(ir, 0.0, 1, 1, { [1] = 7 })  -- the same loop from +0.0
    assert.is_true(ok)
    assert.is_true(out[0] == 0 and 1 / out[0] > 0)
    assert.are.equal(1.0, out[1])
  end)

  it("computes loops that only exchange values, however long", function()
    local ir = { nslots = 3, liveout = { 0, 1 },
      ops = { { "move", 2, 0 }, { "move", 0, 1 }, { "move", 1, 2 } } }
    local ok, out = guarded(ir, 1, 1e15, 1, { [0] = big(1), [1] = big(2) })
    assert.is_true(ok)
    assert.is_true(cpm.eq(out[0], 1) and cpm.eq(out[1], 2))
    ok, out = guarded(ir, 1, 1e15 + 1, 1, { [0] = 1.0, [1] = 2.0 })
    assert.is_true(ok)
    assert.are.equal(2.0, out[0])
  end)

  it("computes a bignum loop below the size limit and never one above it", function()
    -- x = 2x; y = 3x (a computed value larger than the state): the cheap
    -- norm bound accepts far below the limit, the exact majorant near it;
    -- whatever is computed is exact and within the limit
    local old = cpm.maxbits()
    cpm.maxbits(1000)
    local ir = { nslots = 2, liveout = { 0, 1 },
      ops = { { "mul", 0, 0, { k = 2 } }, { "mul", 1, 0, { k = 3 } } } }
    local verdicts = {}
    for n = 300, 1000, 25 do
      local ok, out = guarded(ir, 1, n, 1, { [0] = big(1), [1] = big(0) })
      verdicts[n] = ok
      if ok then
        assert.is_true(cpm.eq(out[0], big(2) ^ n))
        assert.is_true(cpm.eq(out[1], big(3) * big(2) ^ n))
      end
    end
    cpm.maxbits(old)
    assert.is_true(verdicts[300] and verdicts[900])
    assert.is_false(verdicts[950] or verdicts[1000])
  end)

  it("refuses bignum loops whose values may exceed the size limit", function()
    -- x = -2x may or may not cancel as far as the bound knows: not sure to
    -- exceed, so the guard lets the loop run (and raise, if it must)
    local old = cpm.maxbits()
    cpm.maxbits(1000)
    local ir = { nslots = 1, liveout = { 0 }, ops = { { "mul", 0, 0, { k = -2 } } } }
    local ok, why = guarded(ir, 1, 2000, 1, { [0] = big(1) })
    cpm.maxbits(old)
    assert.is_false(ok)
    assert.is_string(why)
  end)
end)

describe("the core against plain Lua loops (differential)", function()
  local gen = ir_run.generator
  local kinds = LUA54 and { "int", "int", "float", "big", "mixed" } or { "float", "big", "mixed" }
  for _, kind in ipairs(kinds) do
    it("agrees on thousands of random affine bodies over " .. kind .. " values", function()
      local seed = os.time() + #kind
      local rnd = gen.new(seed)
      local runs, optimized = 0, 0
      for case = 1, 1500 do
        local ir, env, a, b, c = rnd:loop(kind)
        local ok_ref, ref = pcall(ir_run.run, ir, a, b, c, env)
        local ok, out, info = guarded(ir, a, b, c, env)
        runs = runs + 1
        if ok then
          optimized = optimized + 1
          assert.is_true(ok_ref, "the guard computed a loop that raises; seed " .. seed .. " case " .. case)
          for _, s in ipairs(info.outputs) do
            local eq, msg = same(ref[s], out[s])
            assert(eq, ("seed %d case %d slot %d: %s\n%s"):format(seed, case, s, msg,
              ir_run.describe(ir, a, b, c, env)))
          end
        end
      end
      -- the generator makes mostly plannable, mostly exact loops: most of
      -- them must actually have been computed by the guard
      assert(optimized > runs / 3, ("only %d of %d optimized"):format(optimized, runs))
      print(("# %s: %d of %d optimized"):format(kind, optimized, runs))
    end)
  end
end)
