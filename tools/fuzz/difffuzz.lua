-- difffuzz: an independent differential fuzzer for cpm (written apart from
-- spec/support/loopgen.lua, sharing nothing with it).
--
-- It generates whole chunks: a function with parameters, upvalues (locals
-- of the chunk), globals (in a private environment), a table of the chunk,
-- several loops (in sequence and nested) between non-loop statements, loop
-- bodies of affine and non-affine statements, multiple assignment, table
-- fields, bignums (cpm.big), floats, integers near the wrap boundary,
-- -0.0, strings that coerce, tables with arithmetic metamethods, errors
-- raised inside loops and writes to upvalues, globals and table fields.
-- Each chunk runs as loaded (the reference) and through every variant
-- cpm offers on this VM: cpm.optimize with each front end at the default
-- iters_limit and at 2, and cpm.load; each variant gets its own copy of the
-- chunk and the same random arguments, and must give the same values (with
-- math.type and the sign of zero), the same error message and the same
-- side effects.
--
-- Command line:  lua5.4 tools/fuzz/difffuzz.lua [seed [count [keep [first]]]]
--                luajit  tools/fuzz/difffuzz.lua [seed [count [keep [first]]]]
-- (with LUA_PATH and LUA_CPATH reaching lua/ and the build, as `make test`
-- sets them; 'keep' differences are kept for the report, 'first' is the
-- index of the first function, to resume a run).  Prints progress on
-- stderr every DIFFFUZZ_EVERY functions (default 100: functions done,
-- comparisons, differences so far, rate) and each difference as it is
-- found; at the end the counts, each difference with the chunk that shows
-- it, and exits 1 when there was any difference.
--
-- As a library: require("difffuzz").run{ seed = s, count = n } -> stats
-- (spec/difffuzz_spec.lua runs a short one in `make test`).
--
-- What is kept out: bodies that assign the loop variable on LuaJIT (its
-- JIT is nondeterministic on some of them, cpm or not), a zero step on
-- LuaJIT (it loops forever there), and loops that could run long; a
-- size-limit error raised at loop entry by the guard and the one of the
-- bignum operation count as the same outcome (doc/manual.md, "Size
-- limit").  On LuaJIT with the JIT on, a function that shows a difference
-- is run again with the JIT off; differences that go away are counted
-- apart ("of the JIT alone"), not as cpm's.
local cpm = require "cpm"

local LUA54 = math.type ~= nil and not rawget(_G, "jit")
local M = {}

-- The bignum size limit while chunks are made; each chunk then runs under
-- its own, from 128 to 16384 bits, so that growing bodies (x = x * x, or
-- x = 3 * x for a few hundred iterations) meet it.
M.MAXBITS = 16384

---------------------------------------------------------------------------
-- A random generator of our own (Park-Miller, exact in doubles), so that a
-- seed gives the same chunks on both VMs and whatever math.random is.
---------------------------------------------------------------------------
local Rng = {}
Rng.__index = Rng

function M.rng(seed)
  local s = math.floor(seed) % 2147483646 + 1
  return setmetatable({ s = s }, Rng)
end

-- An integer in [lo, hi].
function Rng:int(lo, hi)
  self.s = (self.s * 16807) % 2147483647
  return lo + math.floor((self.s - 1) / 2147483646 * (hi - lo + 1))
end

function Rng:pick(t) return t[self:int(1, #t)] end

function Rng:chance(p) return self:int(1, 1000) <= p * 1000 end

---------------------------------------------------------------------------
-- Values.  A value is described by source text, evaluated in every copy of
-- the chunk's world (so each variant gets its own fresh tables).
---------------------------------------------------------------------------
local INTS54 = { "0", "1", "-1", "2", "3", "7", "-5", "100",
  "math.maxinteger", "math.mininteger", "(math.maxinteger - 2)",
  "4611686018427387904", "-4611686018427387904", "(1 << 40)" }
local INTSJIT = { "0", "1", "-1", "2", "3", "7", "-5", "100",
  "2^53", "-(2^53)", "(2^53 - 2)", "2^62", "2^40" }
local FLOATS = { "0.0", "-0.0", "0.5", "1.5", "-2.0", "3.0", "2^53",
  "9007199254740991.0", "1e300", "-1e15", "(0/0)", "(1/0)", "0.1" }
local BIGS = { "B(0)", "B(1)", "B(-5)", "B(2)", "B('123456789012345678901234567890')",
  "B(-3)", "B('-99999999999999999999')" }
local STRINGS = { "'10'", "'0x10'", "'1e1'", "' 3 '", "'abc'", "'-0'", "'2.5'" }
local OTHERS = { "MT(5)", "MT(-2)", "nil", "true", "false" }

-- 'class' (1 integers, 2 floats, 3 bignums) keeps to one kind of number,
-- most of the time: the loops cpm computes are the ones of one kind.
local function value(r, small, class)
  local x = r:int(1, 100)
  if class and not small and r:chance(0.95) then
    if class == 1 then return r:chance(0.7) and tostring(r:int(-9, 9)) or r:pick(LUA54 and INTS54 or INTSJIT) end
    if class == 2 then return r:chance(0.5) and (r:int(-9, 9) .. ".0") or r:pick(FLOATS) end
    return r:chance(0.5) and ("B(" .. r:int(-9, 9) .. ")") or r:pick(BIGS)
  end
  if small then  -- a bounded loop limit (the original must end soon)
    if x <= 60 then return tostring(r:int(0, 900)) end
    if x <= 70 then return r:pick { "0.5", "120.5", "-0.0", "64.0", "700.25" } end
    if x <= 80 then return tostring(r:int(-20, 70)) end
    if x <= 88 then return r:pick { "'100'", "'0x40'", "' 80 '" } end
    if x <= 94 then return r:pick { "B(200)", "B(3)" } end
    return r:pick { "nil", "MT(5)", "(0/0)", "'abc'" }
  end
  if x <= 35 then return r:pick(LUA54 and INTS54 or INTSJIT) end
  if x <= 55 then return r:pick(FLOATS) end
  if x <= 75 then return r:pick(BIGS) end
  if x <= 87 then return r:pick(STRINGS) end
  return r:pick(OTHERS)
end

---------------------------------------------------------------------------
-- Chunks
---------------------------------------------------------------------------
-- The prelude every chunk starts with: its world (cpm, the bignum
-- constructor, a table with metamethods) comes in as arguments, and it
-- gives back f and accessors of its upvalues and table.
local PRELUDE = [[
local B, MT, U1, U2, T, R = ...
]]
local EPILOGUE = [[
return f, function() return U1, U2, T.x, T.y end,
  function(u1, u2, tx, ty) U1, U2, T.x, T.y = u1, u2, tx, ty end
]]

local CARRIED = { "a", "b", "c", "d", "a", "b", "c" }

local Gen = {}
Gen.__index = Gen

local function newgen(r)
  return setmetatable({ r = r, lines = {}, depth = 0, loops = 0,
    idx = {}, long = 0, pure = 0 }, Gen)
end

function Gen:emit(s)
  self.lines[#self.lines + 1] = string.rep("  ", self.depth + 1) .. s
end

-- A loop-invariant operand: a literal, a parameter, an expression of them.
function Gen:invariant()
  local r = self.r
  local x = r:int(1, 100)
  if x <= 40 then return tostring(r:int(-9, 9)) end
  if x <= 55 then return r:pick { "p2", "p3", "p1" } end
  if x <= 65 then return r:pick { "2.0", "0.5", "-1.0", "-0.0", "3" } end
  if x <= 72 then return r:pick { "(p2 + 1)", "(p3 - p2)", "(2 * p3)" } end
  if x <= 80 then
    return LUA54 and r:pick { "(p2 // 3)", "(p3 % 5)", "(p2 & 7)", "(p3 << 2)", "(p2 ^ 2)", "(p3 / 4)", "(~p2)" }
                  or r:pick { "(p2 % 5)", "(p3 ^ 2)", "(p2 / 4)", "math.floor(p3 / 3)" }
  end
  if x <= 85 then return r:pick { "B(3)", "B(-2)", "B('100000000000000000000')" } end
  if x <= 90 then return r:pick { "'2'", "'0x3'", "' 1 '" } end
  if x <= 94 then return r:pick { "T.x", "T.y", "G1" } end
  return r:pick { "(2^62)", "9007199254740993", "1e308" }
end

-- A variable read: carried locals, upvalues, globals, the loop variables.
function Gen:var()
  local r = self.r
  local vs = { "a", "b", "c", "d", "a", "b", "U1", "U2" }
  for _, i in ipairs(self.idx) do vs[#vs + 1] = i; vs[#vs + 1] = i end
  if r:chance(0.05) then vs[#vs + 1] = "G1" end
  return r:pick(vs)
end

function Gen:target()
  local r = self.r
  local x = r:int(1, 100)
  if x <= 80 then return r:pick(CARRIED) end
  if x <= 90 then return r:pick { "U1", "U2" } end
  if x <= 95 then return r:pick { "G1", "G2" } end
  return r:pick { "T.x", "T.y" }
end

-- An affine right-hand side over the variables.
function Gen:affine(t)
  local r = self.r
  local x = r:int(1, 100)
  local y, z = self:var(), self:var()
  if x <= 25 then return y .. " + " .. z end
  if x <= 40 then return y .. " - " .. z end
  if x <= 55 then return y .. " * " .. self:invariant() end
  if x <= 65 then return self:invariant() .. " * " .. y end
  if x <= 70 then return "-" .. y end
  if x <= 78 then return y end
  if x <= 84 then return self:invariant() end
  if x <= 92 then return t .. " + " .. self:invariant() .. " * " .. (self.idx[1] or y) end
  return "(" .. y .. " + " .. self:invariant() .. ") - " .. z
end

-- A right-hand side the planner must refuse (or that raises).
function Gen:nonaffine(t)
  local r = self.r
  local y = self:var()
  local forms = { t .. " * " .. y, t .. " % 7", t .. " / 2", y .. " * " .. y,
    "math.abs(" .. y .. ")", t .. " .. ''", "#" .. "'" .. string.rep("x", r:int(0, 3)) .. "'",
    "(" .. y .. " > 0) and 1 or 2", "T.x", "select('#', " .. y .. ")" }
  if LUA54 then
    forms[#forms + 1] = t .. " // 3"
    forms[#forms + 1] = t .. " & 0xff"
    forms[#forms + 1] = t .. " ~ " .. y
    forms[#forms + 1] = t .. " >> 1"
  end
  return r:pick(forms)
end

-- One statement of a loop body (or of the code around loops).
function Gen:stmt(inloop)
  local r = self.r
  local x = r:int(1, 100)
  local t = self:target()
  if self.pure > 0 then  -- a body cpm should compute: affine statements only
    x = r:int(1, 63)
    if t:sub(1, 1) == "G" or t:sub(1, 1) == "T" then t = r:pick(CARRIED) end
  end
  if x <= 45 then
    self:emit(t .. " = " .. self:affine(t))
  elseif x <= 58 then  -- multiple assignment
    local u = r:pick(CARRIED)
    if u == t then u = t == "a" and "b" or "a" end
    self:emit(t .. ", " .. u .. " = " .. self:affine(t) .. ", " .. self:affine(u))
  elseif x <= 63 then  -- a local temporary
    local v = "t" .. r:int(1, 9)
    self:emit("local " .. v .. " = " .. self:affine(t))
    self:emit(r:pick(CARRIED) .. " = " .. v .. " - " .. self:var())
  elseif x <= 72 then
    self:emit(t .. " = " .. self:nonaffine(t))
  elseif x <= 77 and inloop and #self.idx > 0 then  -- an error raised in the loop
    self:emit("if " .. self.idx[1] .. " == " .. r:int(0, 300) ..
      " then error('boom' .. tostring(" .. self:var() .. ")) end")
  elseif x <= 82 then  -- a branch
    self:emit("if " .. self:var() .. " == " .. self:invariant() .. " then " ..
      t .. " = " .. self:affine(t) .. " end")
  elseif x <= 85 and inloop and #self.idx > 0 then
    self:emit("if " .. self.idx[1] .. " > " .. r:int(0, 500) .. " then break end")
  elseif x <= 88 and inloop and LUA54 and #self.idx > 0 then
    -- assigning the loop variable (a copy on Lua 5.4; kept off LuaJIT,
    -- whose JIT is nondeterministic on such bodies)
    self:emit(self.idx[1] .. " = " .. self.idx[1] .. " + 1")
  elseif x <= 92 and self.depth < 3 then
    self:loop()
  else
    self:emit(t .. " = " .. self:affine(t))
  end
end

-- A numeric for loop with bounded iteration counts.
function Gen:loop()
  local r = self.r
  self.loops = self.loops + 1
  local i = "i" .. self.loops
  local x = r:int(1, 100)
  local start, limit, step
  local long = self.long > 0
  -- inside a loop of many iterations, only short loops (the original must
  -- end soon: at most a few thousand iterations in all)
  if long then x = 84 end
  if x <= 50 then
    start, limit, step = tostring(r:int(-3, 3)), "p1", nil
  elseif x <= 60 then
    start, limit, step = "p1", tostring(r:int(-5, 5)), "-1"
  elseif x <= 70 then
    start, limit, step = r:pick { "-0.0", "0.5", "1.0", "0" }, r:pick { "p1", "100.5", "200" },
      r:pick { "0.25", "1", "2.0", "0.5" }
  elseif x <= 78 then
    start, limit, step = "1", r:pick { "p1", "300" }, r:pick { "2", "3", "7" }
  elseif x <= 83 then  -- near the integer boundary: a few iterations
    if LUA54 then
      local h = r:pick {
        { "math.maxinteger - 100", "math.maxinteger", r:pick { "1", "3", "7" } },
        { "math.mininteger", "math.mininteger + 90", r:pick { "1", "2" } },
        { "math.mininteger + 5", "math.maxinteger", "math.maxinteger" },
        { "math.maxinteger", "math.mininteger", "math.mininteger" },
        { "math.maxinteger", "math.maxinteger - 70", "-1" } }
      start, limit, step = h[1], h[2], h[3]
    else
      start, limit, step = "2^53 - 100", "2^53 - 1", "1"  -- (2^53 + 1 rounds to 2^53: forever)
    end
  elseif x <= 88 then
    start, limit, step = r:pick { "1", "-0.0", "2.5" }, tostring(r:int(0, 4)), nil
  elseif x <= 92 then
    -- a zero step raises on Lua 5.4 and loops forever on LuaJIT
    start, limit, step = "1", "p1", LUA54 and r:pick { "0", "p2", "0.125" } or "0.125"
    -- Lua 5.4 clips a NaN limit of an integer loop to math.mininteger when
    -- the step is negative: 'for i = 1, 0/0, -9' runs about 10^18 times
    if step == "p2" then limit = "(p1 == p1 and p1 or 0)" end
  else
    start, limit, step = r:pick { "(p3 % 8)", "'3'", "B(1)", "nil" }, "p1", nil
  end
  long = x < 84 or x > 88
  if r:chance(0.12) then  -- a generic for over cpm.range, the same values
    self:emit("for " .. i .. " in R(" .. start .. ", " .. limit .. (step and (", " .. step) or "") .. ") do")
  else
    self:emit("for " .. i .. " = " .. start .. ", " .. limit .. (step and (", " .. step) or "") .. " do")
  end
  self.depth = self.depth + 1
  table.insert(self.idx, 1, i)
  if long then self.long = self.long + 1 end
  local pure = r:chance(0.4)
  if pure then self.pure = self.pure + 1 end
  for _ = 1, r:int(1, 5) do self:stmt(true) end
  if pure then self.pure = self.pure - 1 end
  if long then self.long = self.long - 1 end
  table.remove(self.idx, 1)
  self.depth = self.depth - 1
  self:emit("end")
end

-- A whole chunk: returns its source and the descriptions of 3 argument sets.
function M.chunk(r)
  local g = newgen(r)
  g.lines[1] = PRELUDE
  g.lines[2] = "local function f(p1, p2, p3)"
  local cl = r:chance(0.8) and r:int(LUA54 and 1 or 2, 3) or nil
  g:emit("local a, b, c, d = " .. value(r, false, cl) .. ", " .. value(r, false, cl) .. ", " ..
    value(r, false, cl) .. ", " .. value(r, false, cl))
  if r:chance(0.5) then g:emit("a, b = p2, p3") end
  local nloops = r:int(1, 3)
  for _ = 1, nloops do
    for _ = 1, r:int(0, 2) do g:stmt(false) end
    g:loop()
  end
  g:emit("return a, b, c, d")
  g.lines[#g.lines + 1] = "end"
  g.lines[#g.lines + 1] = EPILOGUE
  local args = {}
  for k = 1, 3 do
    args[k] = { value(r, true), value(r, false, cl), value(r, false, cl),
      u1 = value(r, false, cl), u2 = value(r, false, cl),
      tx = value(r), ty = value(r), g1 = value(r) }
  end
  -- the bignum size limit of the run: small ones make growing bodies meet
  -- it within a few hundred iterations
  args.maxbits = r:pick { 128, 512, 2048, 16384 }
  return table.concat(g.lines, "\n"), args
end

---------------------------------------------------------------------------
-- Running
---------------------------------------------------------------------------
local mt = {}
local function MT(v) return setmetatable({ v = v }, mt) end
local function unwrap(x) if getmetatable(x) == mt then return x.v end return x end
mt.__add = function(x, y) return MT(unwrap(x) + unwrap(y)) end
mt.__sub = function(x, y) return MT(unwrap(x) - unwrap(y)) end
mt.__mul = function(x, y) return MT(unwrap(x) * unwrap(y)) end
mt.__unm = function(x) return MT(-unwrap(x)) end
mt.__eq = function(x, y) return unwrap(x) == unwrap(y) end
mt.__tostring = function(x) return "MT(" .. tostring(x.v) .. ")" end

-- Evaluates a value description in a fresh world.  Each description is
-- compiled once (there are a few dozen, each evaluated thousands of times:
-- compiling it anew for every call was a third of the fuzzer's own time);
-- each call of the compiled function still builds fresh tables.
local valenv = setmetatable({ B = cpm.big, MT = MT }, { __index = _G })
local evaluators = {}
local function eval(desc)
  local f = evaluators[desc]
  if not f then
    f = assert((loadstring or load)("return " .. desc, "=value", "t", valenv))
    if setfenv then setfenv(f, valenv) end
    evaluators[desc] = f
  end
  return (f())
end

-- Loads a copy of the chunk through 'how' ("plain", "load" or "optimize"
-- with 'opts'); returns f, its state (get, set, env), or nil, error.  The
-- chunk is in file 'path' too, so that the source front end can read the
-- text of a function that the VM loaded.
local function instance(src, path, how, opts)
  local env = setmetatable({}, { __index = _G })
  local chunk, err
  if how == "load" then
    chunk, err = cpm.load(src, "@" .. path, "t", env)
  else
    chunk, err = (loadstring or load)(src, "@" .. path, "t", env)
    if chunk and setfenv then setfenv(chunk, env) end
  end
  if not chunk then return nil, err end
  local okc, f, get, set = pcall(chunk, cpm.big, MT, nil, nil, {}, cpm.range)
  if not okc then return nil, f end
  if how == "optimize" then f = cpm.optimize(f, opts) end
  return f, { get = get, set = set, env = env }
end

-- Gives the chunk's upvalues, table and globals argument set a's values.
local function reset(state, a)
  state.set(eval(a.u1), eval(a.u2), eval(a.tx), eval(a.ty))
  rawset(state.env, "G1", eval(a.g1))
  rawset(state.env, "G2", nil)
end

local function numtype(x)
  if math.type then return math.type(x) end
  return "float"
end

-- Are two results the same (value, type, sign of zero, NaN)?
local function same(x, y)
  if cpm.isbig(x) or cpm.isbig(y) then
    return cpm.isbig(x) and cpm.isbig(y) and cpm.eq(x, y)
  end
  if type(x) ~= type(y) then return false end
  if type(x) == "number" then
    if numtype(x) ~= numtype(y) then return false end
    if x ~= x then return y ~= y end
    if x == 0 and y == 0 then return 1 / x == 1 / y end
    return x == y
  end
  if type(x) == "table" then
    if getmetatable(x) == mt and getmetatable(y) == mt then return same(x.v, y.v) end
    return getmetatable(x) == getmetatable(y) and next(x) == nil and next(y) == nil
  end
  return x == y
end

local function show(x)
  if cpm.isbig(x) then return "big(" .. tostring(x) .. ")" end
  if type(x) == "number" then
    if x == 0 and 1 / x < 0 then return "-0.0(" .. numtype(x) .. ")" end
    return tostring(x) .. "(" .. numtype(x) .. ")"
  end
  if type(x) == "table" and getmetatable(x) == mt then return "MT(" .. show(x.v) .. ")" end
  if type(x) == "string" then return string.format("%q", x) end
  return tostring(x)
end

-- The guard's documented size-limit error (raised at loop entry for a body
-- without effects beyond its locals: doc/manual.md, "Size limit") and the
-- bignum operation's own one are the same outcome.
local function normalize(msg)
  if type(msg) == "string" and msg:find("bignum size limit", 1, true) then
    return "<bignum size limit>"
  end
  return msg
end

-- Runs f(args) and collects everything observable, as a list of values.
-- Also returns how many VM instructions the call ran (in hundreds): far
-- fewer than the original's means cpm computed a loop.
-- An original call that runs more than M.BUDGET hundreds of VM
-- instructions is stopped by the hook with the error TOOLONG: the generator
-- means every original to end soon, so one that does not is left out
-- (counted as skipped).  A variant gets four times as much (running a loop
-- as written costs it a few instructions more); one that runs out where
-- its original did not is a difference.
M.BUDGET = 200000
local TOOLONG = "difffuzz: the call ran too long"
local ticks, budget, armed = 0, 0, false
local function tick()
  ticks = ticks + 1
  if armed and ticks > budget then error(TOOLONG, 0) end
end
-- f's results, disarming the hook before they leave the pcall: a hook
-- that fired between pcall's return and debug.sethook() would raise
-- outside it (and stay set)
local function disarmed(...)
  armed = false
  return ...
end
local function disarming(f, ...)
  return disarmed(f(...))
end
local function observe(f, state, a, variant)
  budget = variant and 4 * M.BUDGET or M.BUDGET
  local get, env = state.get, state.env
  reset(state, a)
  local p1, p2, p3 = eval(a[1]), eval(a[2]), eval(a[3])
  ticks = 0
  armed = true
  debug.sethook(tick, "", 100)
  local res = { pcall(disarming, f, p1, p2, p3) }
  armed = false
  debug.sethook()
  local ran = ticks
  local n = 0
  for k in pairs(res) do if k > n then n = k end end
  local obs = { res[1] }
  if res[1] then
    for k = 2, 5 do obs[#obs + 1] = res[k] end
  else
    obs[2] = normalize(res[2])
    for k = 3, 5 do obs[k] = false end
  end
  local u1, u2, tx, ty = get()
  obs[6], obs[7], obs[8], obs[9] = u1, u2, tx, ty
  obs[10], obs[11] = rawget(env, "G1"), rawget(env, "G2")
  return obs, ran
end

local NAMES = { "ok", "r1", "r2", "r3", "r4", "U1", "U2", "T.x", "T.y", "G1", "G2" }

local function compare(o1, o2)
  for k = 1, 11 do
    if not same(o1[k], o2[k]) then
      return NAMES[k] .. ": " .. show(o1[k]) .. " vs " .. show(o2[k])
    end
  end
end

-- The variants cpm offers on this VM.
local function variants()
  local v = {}
  local fes = {}
  if pcall(cpm.optimize, function() end, { frontend = "bytecode" }) then
    fes[#fes + 1] = "bytecode"  -- Lua 5.4's, or LuaJIT's where cpm has it
  end
  if pcall(require, "cpm.source") then fes[#fes + 1] = "source" end
  for _, fe in ipairs(fes) do
    v[#v + 1] = { name = fe .. "/default", how = "optimize", opts = { frontend = fe } }
    v[#v + 1] = { name = fe .. "/limit2", how = "optimize", opts = { frontend = fe, iters_limit = 2 } }
  end
  v[#v + 1] = { name = "cpm.load", how = "load" }
  return v
end
M.variants = variants

-- Is LuaJIT's JIT compiler on?
local function JITON()
  local jit = rawget(_G, "jit")
  return jit ~= nil and jit.status() == true
end

-- Runs 'count' chunks from 'seed'; returns stats { functions, comparisons,
-- differences, optimized, diffs = { {seed, variant, what, src, args} } }.
-- o.progress(st, k), when given, is called after each function (k its
-- index); o.trace(k) before each.
function M.run(o)
  local seed, count = o.seed or 1, o.count or 100
  local old = cpm.maxbits(M.MAXBITS)
  local path = o.path or os.tmpname()
  local vs = variants()
  local st = { functions = 0, comparisons = 0, differences = 0, optimized = 0, computed = 0,
    loops = 0, skipped = 0, jitonly = 0, diffs = {} }
  for k = o.first or 0, (o.first or 0) + count - 1 do
    if o.trace then o.trace(k) end
    local r = M.rng(seed * 1000003 + k)
    local src, args = M.chunk(r)
    cpm.maxbits(args.maxbits)
    local fh = assert(io.open(path, "w"))
    fh:write(src)
    fh:close()
    st.functions = st.functions + 1
    local ndiff, nkept = st.differences, #st.diffs
    local f0, state0 = instance(src, path, "plain")
    if not f0 then error("generated chunk does not load: " .. tostring(state0) .. "\n" .. src) end
    local refs, ran0 = {}, {}
    local toolong = false
    for i, a in ipairs(args) do
      refs[i], ran0[i] = observe(f0, state0, a)
      if refs[i][2] == TOOLONG then toolong = true end
    end
    if toolong then st.skipped = st.skipped + 1 end
    for _, v in ipairs(toolong and {} or vs) do
      local f, state = instance(src, path, v.how, v.opts)
      if f and v.opts and not v.opts.iters_limit then
        -- what the front end made of the loops, for the counts
        local text = cpm.explain(f0, v.opts)
        for line in text:gmatch("[^\n]+") do
          st.loops = st.loops + 1
          if line:find("loop optimized", 1, true) then st.optimized = st.optimized + 1 end
        end
      end
      -- each variant's copy runs the argument sets in turn, as the plain
      -- one did (state a call leaves behind is part of what must agree)
      for i, a in ipairs(args) do
        local what
        if not f then what = "load failed: " .. tostring(state)
        else
          local obs, ran = observe(f, state, a, true)
          if ran * 2 < ran0[i] then st.computed = st.computed + 1 end
          what = compare(refs[i], obs)
        end
        st.comparisons = st.comparisons + 1
        if what then
          st.differences = st.differences + 1
          if #st.diffs < (o.keep or 20) then
            st.diffs[#st.diffs + 1] = { seed = seed, index = k, variant = v.name, maxbits = args.maxbits,
              what = what, src = src, args = a }
          end
        end
      end
    end
    if st.differences > ndiff and JITON() and not o.nojitcheck then
      -- LuaJIT's JIT is itself nondeterministic on some bodies (-0.0
      -- among them), cpm or not: a difference that the same function
      -- does not show with the JIT off is counted apart, not as cpm's
      local jit = rawget(_G, "jit")
      jit.off()
      jit.flush()
      local again = M.run { seed = seed, first = k, count = 1, path = path, nojitcheck = true }
      jit.on()
      cpm.maxbits(args.maxbits)
      if again.differences == 0 then
        st.jitonly = st.jitonly + (st.differences - ndiff)
        st.differences = ndiff
        for i = #st.diffs, nkept + 1, -1 do st.diffs[i] = nil end
      end
    end
    if o.progress then o.progress(st, k) end
  end
  cpm.maxbits(old)
  if not o.path then os.remove(path) end
  return st
end

function M.report(st, out)
  out = out or io.write
  for _, d in ipairs(st.diffs) do
    out(("difference: seed %d, function %d, %s, cpm.maxbits(%d): %s\n" ..
         "args: p1=%s p2=%s p3=%s U1=%s U2=%s T.x=%s T.y=%s G1=%s\n%s\n\n"):format(
      d.seed, d.index, d.variant, d.maxbits, d.what, d.args[1], d.args[2], d.args[3], d.args.u1,
      d.args.u2, d.args.tx, d.args.ty, d.args.g1, d.src))
  end
  out(("%s: %d functions, %d comparisons, %d differences (%d of %d loops optimized;" ..
       " %d calls computed a loop; %d functions skipped: the original ran too long;" ..
       " %d differences of LuaJIT's JIT alone: gone with it off)\n"):format(
    cpm.vm, st.functions, st.comparisons, st.differences, st.optimized, st.loops, st.computed,
    st.skipped or 0, st.jitonly or 0))
end

if arg and arg[0] and arg[0]:find("difffuzz%.lua$") then
  local seed = tonumber(arg[1]) or 1
  local count = tonumber(arg[2]) or 1000
  -- a progress line on stderr every 'every' functions (and each new
  -- difference at once): functions done, comparisons, differences, rate
  local every = tonumber(os.getenv("DIFFFUZZ_EVERY") or "") or 100
  local t0, seen = os.time(), 0
  local function progress(st, k)
    local fresh = st.differences > seen
    if st.functions % every ~= 0 and not fresh then return end
    local dt = os.difftime(os.time(), t0)
    io.stderr:write(("%s seed %d: %d/%d functions (last %d), %d comparisons, %d differences," ..
      " %d skipped, %d of the JIT alone, %.1f functions/s\n")
      :format(cpm.vm, seed, st.functions, count, k, st.comparisons, st.differences, st.skipped, st.jitonly,
        dt > 0 and st.functions / dt or 0))
    if fresh then
      for i = seen + 1, math.min(st.differences, #st.diffs) do
        M.report({ diffs = { st.diffs[i] }, functions = st.functions, comparisons = st.comparisons,
          differences = st.differences, optimized = st.optimized, loops = st.loops, computed = st.computed },
          function(line) io.stderr:write(line) end)
      end
      seen = st.differences
    end
  end
  local st = M.run { seed = seed, count = count, keep = tonumber(arg[3]) or 20,
    first = tonumber(arg[4]), progress = progress }
  M.report(st)
  os.exit(st.differences == 0 and 0 or 1)
end

return M
