-- Random loop shapes against the original (spec/shapes_spec.lua): whole
-- chunks whose loops take their control values from every kind of source
-- (numerals of each type, strings, parameters, upvalues, globals of a
-- plain or a logging environment, fields of a plain table and of one
-- whose __index logs, calls, varargs), numeric for, while and repeat
-- loops with every comparison either way round, loops in sequence and
-- nested (triangular bounds), invariant branches, break, goto, return and
-- closures in the body, writes to upvalues, globals and fields, up to
-- about 180 locals, called directly or in a coroutine.  The original runs
-- under an instruction budget (a loop that would not end is not
-- compared); then each variant (each front end, at the default
-- iters_limit and at 2) runs a fresh copy of the chunk on the same
-- arguments and must give the same values (math.type, the sign of zero),
-- the same error, the same upvalues and fields, the same log of global
-- and field accesses.
--
--   require("shapegen").run{ seed = s, count = n } -> stats
--   stats: cases, skipped, comps (per variant), computed (per variant),
--   loops, optimized, failures (texts of the differences)
local cpm = require "cpm"
local lcg = require "lcg"
local LUA54 = not rawget(_G, "jit")
local load = LUA54 and load or loadstring
local unpack = table.unpack or unpack
local rnd, pick

-- values -------------------------------------------------------------------
local function num(v)
  if type(v) ~= "number" then return tostring(v) end
  if v ~= v then return "nan" end
  local t = math.type and math.type(v) or "n"
  return t .. ":" .. string.format("%a", v)
end
local function fmt(v)
  if type(v) == "number" then return num(v) end
  if type(v) == "string" then return ("%q"):format(v) end
  if type(v) == "table" then return "table" end
  if type(v) == "function" then return "function" end
  return tostring(v)
end

-- literal text of random invariant values
local INTS = { "0", "1", "2", "3", "-1", "-2", "5", "7", "10", "100", "-7", "37" }
local FLOATS = { "1.0", "0.5", "2.5", "-0.0", "0.0", "3.0", "-1.5", "1e300", "(1/0)", "(-1/0)" }
local STRS = { '"10"', '"0x10"', '"5.5"', '" 3 "', '"x"' }
local BIGI = LUA54 and { "math.maxinteger", "math.mininteger", "(math.maxinteger - 5)", "(math.mininteger + 3)", "(1 << 62)" }
                    or { "(2^52)", "(-2^52)", "(2^53 - 3)", "(2^51 + 1)" }
local function lit()
  local r = rnd(20)
  if r <= 11 then return pick(INTS)
  elseif r <= 15 then return pick(FLOATS)
  elseif r <= 17 then return pick(STRS)
  else return pick(BIGI) end
end
-- runtime random argument values
local function argval()
  local r = rnd(30)
  if r <= 14 then return rnd(400) - 30
  elseif r <= 17 then return rnd(3000)
  elseif r <= 19 then return (rnd(400) - 30) + 0.0
  elseif r <= 20 then return (rnd(40) - 10) / 2
  elseif r <= 21 then return -0.0
  elseif r <= 22 then return tostring(rnd(100))
  elseif r <= 23 then return LUA54 and math.maxinteger - rnd(10) or 2 ^ 52 - rnd(10)
  elseif r <= 24 then return LUA54 and math.mininteger + rnd(10) or -2 ^ 52 + rnd(10)
  elseif r <= 25 then return nil
  elseif r <= 26 then return 1 / 0
  elseif r <= 27 then return 0
  else return rnd(20) - 5 end
end

-- generator ---------------------------------------------------------------
local G
local PLAINENV = false
local function inv(depth)  -- an invariant expression (no loop-written names)
  depth = depth or 0
  local r = rnd(24)
  if r <= 4 then return lit()
  elseif r <= 8 then return pick { "a", "b", "c" }
  elseif r <= 10 then return pick { "U1", "U2", "U3" }
  elseif r <= 12 then return pick { "G1", "G2" }
  elseif r <= 13 then return pick { "T.x", "T.y", "T[1]" }
  elseif r <= 14 then return pick { "P.x", "P.y" }
  elseif r <= 15 then return "id(" .. pick { "a", "b", "U1", "3" } .. ")"
  elseif r <= 16 and G.vararg then return pick { "select('#', ...)", "(...)", "(select(2, ...))" }
  elseif depth < 2 and r <= 21 then
    return "(" .. inv(depth + 1) .. " " .. pick(LUA54 and { "+", "-", "*", "//", "%" } or { "+", "-", "*", "/", "%" }) .. " " .. inv(depth + 1) .. ")"
  else return pick { "a", "b", "1", "2" } end
end
-- a small count-ish invariant
local function bound()
  local r = rnd(10)
  if r <= 6 then return pick { "a", "b", "c", "U1", "G1", "T.x", "P.x", "id(a)" } end
  if r <= 8 then return inv() end
  return lit()
end
local function step()
  local r = rnd(12)
  if r <= 5 then return nil end
  if r <= 8 then return pick { "1", "2", "-1", "-2", "3", "0.5", "-0.5", "1.0" } end
  if r <= 9 and LUA54 then return pick { "0", "math.maxinteger", "math.mininteger" } end
  return pick { "b", "c", "U2", "G2", "T.y", "(c - 1)", "k" }
end

local carried = { "s", "t", "x" }
local function stmt(idx, depth, inner)
  local v = pick(carried)
  local w = pick(carried)
  local r = rnd(40)
  if r <= 8 then return ("%s = %s + %s"):format(v, v, idx)
  elseif r <= 12 then return ("%s = %s + %s"):format(v, v, w)
  elseif r <= 15 then return ("%s = %s - %s"):format(v, w, inv())
  elseif r <= 17 then return ("%s = %s * %s"):format(v, pick { "2", "k", "-1", "3" }, v)
  elseif r <= 18 then return ("%s = -%s"):format(v, w)
  elseif r <= 19 then return ("%s = %s"):format(v, idx)
  elseif r <= 21 then return ("%s = %s + %s"):format(v, v, inv())
  elseif r <= 22 then return ("U3 = U3 + %s"):format(idx)
  elseif r <= 23 then return ("G3 = %s + 1"):format(v)
  elseif r <= 24 then return ("T.z = %s"):format(v)
  elseif r <= 25 then return ("last = %s"):format(idx)
  elseif r <= 26 then return ("if %s > %s then break end"):format(idx, bound())
  elseif r <= 27 then return ("if %s == %s then return %s, %s, 'ret' end"):format(idx, bound(), v, idx)
  elseif r <= 28 and depth < 2 then
    return ("do local cl = function() return %s + %s end; %s = %s + cl() end"):format(idx, v, w, w)
  elseif r <= 32 then
    local cond = pick { "a > 3", "b", "U2 == nil", "c ~= 0", "k < 2", "G1 == 1", "not a", "T.x", "a > b" }
    local e = rnd(2) == 1 and (" else " .. stmt(idx, depth + 1, inner)) or ""
    return ("if %s then %s%s end"):format(cond, stmt(idx, depth + 1, inner), e)
  elseif r <= 36 and depth < 2 and not inner then
    G.inner = G.inner + 1
    local j = "j" .. G.inner
    local lo, hi
    local q = rnd(5)
    if q == 1 then lo, hi = "1", idx
    elseif q == 2 then lo, hi = idx, bound()
    elseif q == 3 then lo, hi = "1", bound()
    elseif q == 4 then lo, hi = bound(), idx
    else lo, hi = idx, idx .. " + 3" end
    local st = rnd(4) == 1 and (", " .. pick { "2", "-1", "k" }) or ""
    local body = { stmt(j, depth + 1, true) }
    if rnd(2) == 1 then body[2] = stmt(j, depth + 1, true) end
    return ("for %s = %s, %s%s do %s end"):format(j, lo, hi, st, table.concat(body, "; "))
  elseif r <= 37 then
    G.gotos = G.gotos + 1
    return ("if %s %% 3 == 0 then goto c%d end; %s = %s + 1; ::c%d::"):format(idx, G.gotos, v, v, G.gotos)
  else return ("%s = %s + %s"):format(v, v, idx) end
end
local function body(idx, n)
  local t = {}
  for i = 1, n do t[i] = stmt(idx, 0) end
  -- goto labels must be at the end of a block for 'continue' semantics
  return table.concat(t, "; ")
end

local function loop()
  local r = rnd(10)
  local nb = rnd(3)
  if r <= 5 then  -- numeric for
    local st = step()
    return ("for i = %s, %s%s do %s end"):format(pick { "1", "a", bound(), lit(), "0", "-3" },
      bound(), st and (", " .. st) or "", body("i", nb))
  elseif r <= 8 then  -- while
    local op = pick { "<", "<=", ">", ">=", "~=", "==" }
    local rev = rnd(2) == 1
    local B = bound()
    local st = pick { "1", "2", "k", "-1", "b", "0.5", "c" }
    local sgn = pick { "+", "-" }
    local cond = rev and ("%s %s w"):format(B, op) or ("w %s %s"):format(op, B)
    if rnd(5) == 1 then cond = "not (" .. cond .. ")" end
    return ("w = %s; while %s do %s; w = w %s %s end"):format(pick { "0", "a", "1", "b", "c", "0.0" },
      cond, body("w", nb), sgn, st)
  else  -- repeat
    local op = pick { "<", "<=", ">", ">=", "~=", "==" }
    local B = bound()
    local st = pick { "1", "2", "k", "-1", "b" }
    local sgn = pick { "+", "-" }
    local cond = rnd(2) == 1 and ("%s %s w"):format(B, op) or ("w %s %s"):format(op, B)
    return ("w = %s; repeat %s; w = w %s %s until %s"):format(pick { "0", "a", "1", "b" },
      body("w", nb), sgn, st, cond)
  end
end

local function chunk()
  G = { inner = 0, gotos = 0, vararg = rnd(4) == 1 }
  local p = {}
  p[#p + 1] = ("local U1, U2, U3 = %s, %s, %s"):format(pick { "3", "10", "200", "2.0", "-4", '"7"', "0" }, lit(), "0")
  p[#p + 1] = ("local T = { x = %s, y = %s, z = 0, [1] = %s }"):format(pick { "3", "10", "2.0", '"4"' }, pick { "1", "-1", "2" }, lit())
  p[#p + 1] = "local P = setmetatable({}, { __index = function(_, key) LOG(\"P.\" .. key) return PV[key] end })"
  p[#p + 1] = "local function id(v) LOG(\"id\") return v end"
  p[#p + 1] = "local function state() return U1, U2, U3, T.x, T.y, T.z end"
  local nlocals = rnd(6) == 1 and rnd(180) or 0
  p[#p + 1] = "return function(a, b, c" .. (G.vararg and ", ...)" or ")")
  for i = 1, nlocals, 50 do
    local names, vals = {}, {}
    for j = i, math.min(nlocals, i + 49) do names[#names + 1] = "p" .. j; vals[#vals + 1] = tostring(j % 5) end
    p[#p + 1] = "local " .. table.concat(names, ", ") .. " = " .. table.concat(vals, ", ")
  end
  p[#p + 1] = ("local s, t, x, k, w, last = %s, %s, %s, %s, 0, nil"):format(pick { "0", "a", "0.0", "1" }, pick { "0", "1", "b" }, pick { "1", "0", "c" }, pick { "2", "c", "1", "U2" })
  local nl = rnd(3)
  for _ = 1, nl do p[#p + 1] = loop() end
  p[#p + 1] = "return s, t, x, w, last" .. (nlocals > 0 and (", p1, p" .. nlocals) or "") .. ", state()"
  p[#p + 1] = "end, state"
  return table.concat(p, "\n")
end

-- running ---------------------------------------------------------------------
local BUDGET = 3000  -- hook calls of 1000 instructions each
local function mkenv(log, globals, pv)
  local store = {}
  for k, v in pairs(globals) do store[k] = v end
  if PLAINENV then  -- globals in the environment itself (no metamethod)
    local env = setmetatable(store, { __index = _G })
    store.LOG = function(s) log[#log + 1] = s end
    store.PV = pv
    return env, store
  end
  local env = setmetatable({}, {
    __index = function(_, key)
      if key == "LOG" then return function(s) log[#log + 1] = s end end
      if key == "PV" then return pv end
      if _G[key] ~= nil then return _G[key] end
      log[#log + 1] = "r" .. key
      return store[key]
    end,
    __newindex = function(_, key, v) log[#log + 1] = "w" .. key .. "=" .. fmt(v); store[key] = v end })
  return env, store
end

local function instantiate(src, globals, pv)
  local log = {}
  local env, store = mkenv(log, globals, pv)
  local mk, err = load(src, nil, "t", env)
  if not mk then error(err) end
  if setfenv then setfenv(mk, env) end
  local f, state = mk()
  return f, state, log, store
end

local function result(ok, r, state, log, store)
  local parts = { ok and "ok" or "err" }
  for i = 1, r.n do parts[#parts + 1] = fmt(r[i]) end
  parts[#parts + 1] = "|"
  local st = { state() }
  for i = 1, 6 do parts[#parts + 1] = fmt(st[i]) end
  parts[#parts + 1] = "|" .. table.concat(log, ",")
  parts[#parts + 1] = "|" .. fmt(store.G3)
  -- Lua 5.4.4 names a stale line for an integer // or % by zero (the
  -- reference runs under a count hook, which keeps the line current)
  return (table.concat(parts, " "):gsub(':%d+: (attempt to perform \'n%%0\')', ': %1'):gsub(':%d+: (attempt to divide by zero)', ': %1'))
end

local function call(f, mode, hook, args)
  local armed = true
  -- disarmed before the results leave the protected call: a hook firing
  -- between its return and debug.sethook() would raise outside it
  local function disarmed(...) armed = false return ... end
  local function run()
    if hook then
      local n = 0
      debug.sethook(function()
        n = n + 1
        if armed and n > BUDGET then error("budget!", 0) end
      end, "", 1000)
    end
    return disarmed(f(unpack(args, 1, args.n)))
  end
  local function pack(...) return { n = select("#", ...), ... } end
  local r
  if mode == "co" then
    r = pack(coroutine.resume(coroutine.create(run)))
  else
    r = pack(pcall(run))
  end
  if hook then debug.sethook() end
  local ok = r[1]
  local out = { n = r.n - 1 }
  for i = 2, r.n do out[i - 1] = r[i] end
  r = out
  return ok, r
end

local M = {}

function M.run(o)
  rnd, pick = lcg.new(o.seed)
  local stats = { computed = {}, comps = {}, cases = 0, skipped = 0, loops = 0, optimized = 0, failures = {} }
  local variants = { { "bytecode" }, { "source" }, { "bytecode", 2 }, { "source", 2 } }
  if not pcall(require, "cpm.source") then variants = { { "bytecode" }, { "bytecode", 2 } } end
  stats.variants = variants
  for vi = 1, #variants do stats.comps[vi], stats.computed[vi] = 0, 0 end
  for case = 1, o.count do
    local src = chunk()
    while not load(src) do src = chunk() end
    local globals = { G1 = argval(), G2 = argval(), G3 = 0 }
    PLAINENV = rnd(2) == 1
    local pv = { x = argval(), y = argval() }
    for _ = 1, 3 do
      local args = { argval(), argval(), argval(), argval(), argval(), n = 5 }
      local mode = rnd(5) == 1 and "co" or "direct"
      local f, state, log, store = instantiate(src, globals, pv)
      -- (LuaJIT runs compiled traces without calling the count hook: the
      -- reference runs interpreted, so that the budget stops it)
      if not LUA54 then jit.off() jit.flush() end
      local ok, r = call(f, mode, true, args)
      if not LUA54 then jit.on() end
      if not ok and r[1] == "budget!" then
        stats.skipped = stats.skipped + 1
      else
        stats.cases = stats.cases + 1
        local want = result(ok, r, state, log, store)
        for vi, v in ipairs(variants) do
          local f2, state2, log2, store2 = instantiate(src, globals, pv)
          local opts = { frontend = v[1], iters_limit = v[2] }
          local g = cpm.optimize(f2, opts)
          local ok2, r2 = call(g, mode, false, args)
          local got = result(ok2, r2, state2, log2, store2)
          stats.comps[vi] = stats.comps[vi] + 1
          for _, st in ipairs(cpm.stats(g)) do stats.computed[vi] = stats.computed[vi] + st.computed end
          if got ~= want then
            local jitonly = false
            if not LUA54 then  -- rerun with the JIT off
              jit.off()
              local f3, state3, log3, store3 = instantiate(src, globals, pv)
              local g3 = cpm.optimize(f3, opts)
              local ok3, r3 = call(g3, mode, false, args)
              jitonly = result(ok3, r3, state3, log3, store3) == want
              jit.on()
            end
            if not jitonly then
              local a = {}
              for i = 1, args.n do a[i] = fmt(args[i]) end
              stats.failures[#stats.failures + 1] = table.concat({
                ("seed %d case %d, %s with iters_limit %s, %s call"):format(o.seed, case, v[1], tostring(v[2]), mode),
                "args " .. table.concat(a, ", ") .. "; G1 " .. fmt(globals.G1) .. " G2 " .. fmt(globals.G2) ..
                  " (" .. (PLAINENV and "plain" or "logging") .. " environment); PV.x " .. fmt(pv.x) .. " PV.y " .. fmt(pv.y),
                src, "original:  " .. want, "optimized: " .. got, cpm.explain(f2, opts) }, "\n")
              if #stats.failures >= 3 then return stats end
            end
          end
        end
      end
    end
    local f = instantiate(src, globals, pv)
    for _, fe in ipairs { "bytecode", "source" } do
      for line in cpm.explain(f, { frontend = fe }):gmatch("[^\n]+") do
        if line:find("loop") then
          stats.loops = stats.loops + 1
          if line:find("loop optimized") then stats.optimized = stats.optimized + 1 end
        end
      end
    end
  end
  return stats
end

return M
