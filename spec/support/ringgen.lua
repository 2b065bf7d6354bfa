-- ringgen: random functions over the numeric rings cpm computes in
-- (wrapping integers, exact floats, cpm.big, modular recurrences,
-- polynomial terms, xor/shift generators) and random arguments at their
-- boundaries, run as loaded and through cpm.optimize with each front end;
-- every difference (value, math.type, sign of zero, NaN, error message) is
-- recorded.  Used by spec/ringfuzz_spec.lua; longer runs:
--   lua5.4|luajit spec/support/ringrun.lua seed count
local cpm = require "cpm"
local files = require "files"

local LUA54 = math.type ~= nil and not rawget(_G, "jit")
local unpack = table.unpack or unpack
local M = {}

-- Park-Miller, exact in doubles: the same cases on both VMs.
local function rng(seed)
  local s = math.floor(seed) % 2147483646 + 1
  local r = {}
  function r.int(lo, hi)
    s = (s * 16807) % 2147483647
    return lo + math.floor((s - 1) / 2147483646 * (hi - lo + 1))
  end
  function r.pick(t) return t[r.int(1, #t)] end
  function r.chance(p) return r.int(1, 1000) <= p * 1000 end
  return r
end
M.rng = rng

---------------------------------------------------------------------------
-- Function text.  Parameters: n (the limit), x, s, t (carried values), a, b,
-- m, k (invariants).  Each family keeps to statements of one ring, with a
-- statement of another family now and then.
---------------------------------------------------------------------------
local MODS54 = { "m", "m", "m", "7", "-7", "1", "-1", "1000003", "math.maxinteger", "math.mininteger",
  "4294967296", "7.0", "2^31", "0", "-(2^62)", "(m + 1)", "(2 * m)" }
local MODSJIT = { "m", "m", "m", "7", "-7", "1", "-1", "1000003", "2^31", "2^52", "7.5", "-(2^40)", "0",
  "(m + 1)" }

local function modstmt(r, v, m)
  local forms = {
    "%s = (a * %s + b) %% %s", "%s = (%s * a) %% %s", "%s = (a * %s - b) %% %s",
    "%s = (b - a * %s) %% %s", "%s = (%s + i) %% %s", "%s = (%s + b) %% %s",
    "%s = (a * %s + i) %% %s", "%s = -%s %% %s", "%s = (%s * 3 + 1) %% %s",
    "%s = %s %% %s", "%s = (%s * 6364136223846793005 + 1442695040888963407) %% %s",
    "%s = (%s - i * k) %% %s", "%s = (2 * %s + x) %% %s" }
  local f = r.pick(forms)
  return (f:format(v, v, m))
end

local function polystmt(r, v)
  local forms = { "%s = %s + i * i", "%s = %s + i * i * i", "%s = %s + a * i * i", "%s = %s + i * i * a",
    "%s = %s - i * i", "%s = %s + (i + k) * i", "%s = %s + i * (i - 1)", "%s = %s + i * i * i * i",
    "%s = %s + k * i", "%s = %s + i * k * i + b", "%s = %s * 2 + i * i", "%s = %s + i * i - x",
    "%s = %s + (i * i) * (i * i) * i", "%s = %s - 3 * i * i * i + 2 * i" }
  return (r.pick(forms):format(v, v))
end

local SHIFTS = { "1", "7", "13", "17", "31", "63", "64", "65", "0", "-1", "-13", "100", "k", "k", "-k",
  "(k + 1)", "2.0", "(k // 2)" }

local function xorstmt(r, v)
  local c = r.pick(SHIFTS)
  local w = v == "x" and "s" or "x"
  local other = { v .. " = " .. v .. " ~ " .. w, v .. " = (" .. v .. " << " .. c .. ") | (" .. v ..
      " >> (64 - " .. c .. "))", v .. " = " .. v .. " & a", v .. " = " .. v .. " | b",
    v .. " = ~" .. v, v .. " = " .. v .. " ~ a", v .. ", " .. w .. " = " .. w .. ", " .. v ..
      " ~ (" .. v .. " >> 3)", v .. " = " .. v .. " ~ (" .. v .. " << " .. c .. ") ~ " .. w,
    v .. " = " .. v .. " >> " .. c, v .. " = " .. v .. " << " .. c }
  return r.pick(other)
end

local function affstmt(r, v)
  local forms = { "%s = %s * k + b", "%s = %s * 2 + i", "%s = a * %s + b", "%s = %s - x", "%s = %s + i",
    "%s = -%s + a", "%s = %s * -1 - i", "%s = %s * 3", "%s = %s + 0.5", "%s = %s * k" }
  return (r.pick(forms):format(v, v))
end

-- Lua's gsub with a table replaces by key: the xor forms above use
-- positional %s, so build them by hand instead.
local function fill(fmt, args)
  local j = 0
  return (fmt:gsub("%%s", function() j = j + 1; return args[j] end))
end

local function xorstmt2(r, v)
  local c = r.pick(SHIFTS)
  local x = r.int(1, 100)
  if x <= 55 then
    local forms = { "%s = %s ~ (%s << %s)", "%s = %s ~ (%s >> %s)", "%s = (%s << %s) ~ %s",
      "%s = %s ~ (%s >> %s) ~ (%s << 3)" }
    local f = r.pick(forms)
    if f == "%s = (%s << %s) ~ %s" then return fill(f, { v, v, c, v }) end
    return fill(f, { v, v, v, c, v })
  end
  return xorstmt(r, v)
end

local HEADS54 = { "for i = 1, n do", "for i = 1, n do", "for i = 1, n do", "for i = n, 1, -1 do",
  "for i = 0, n - 1 do", "for i = 1, n, 3 do", "for i = 1.0, n do", "for i = -n, n, 2 do",
  "for i = math.maxinteger - n, math.maxinteger do", "for i = math.mininteger, math.mininteger + n do",
  "for i = 3037000000, 3037000000 + n do", "for i = 2097151 - n // 2, 2097152 + n // 2 do",
  "for i = 1, n, 1.0 do", "for i = n, -n, -7 do", "for i = 0.5, n do" }
local HEADSJIT = { "for i = 1, n do", "for i = 1, n do", "for i = 1, n do", "for i = n, 1, -1 do",
  "for i = 0, n - 1 do", "for i = 1, n, 3 do", "for i = -n, n, 2 do", "for i = 2^53 - 1 - n, 2^53 - 1 do",
  "for i = 94906265 - n, 94906267 do", "for i = 208063 - n, 208064 + n do", "for i = n, -n, -7 do",
  "for i = 0.5, n do" }

-- A random function: its text (a chunk returning it) and its family.
function M.func(r)
  local fam = r.pick(LUA54 and { "mod", "mod", "poly", "poly", "xor", "xor", "aff", "mix" }
                              or { "mod", "mod", "poly", "poly", "aff", "mix" })
  local lines = { "return function(n, x, s, t, a, b, m, k)" }
  lines[2] = "  " .. r.pick(LUA54 and HEADS54 or HEADSJIT)
  local vars = { "x", "s", "t" }
  local mod = r.pick(LUA54 and MODS54 or MODSJIT)
  for _ = 1, r.int(1, 3) do
    local v = r.pick(vars)
    local f = fam
    if fam == "mix" or r.chance(0.1) then
      f = r.pick(LUA54 and { "mod", "poly", "xor", "aff" } or { "mod", "poly", "aff" })
    end
    local st
    if f == "mod" then st = modstmt(r, v, mod)
    elseif f == "poly" then st = polystmt(r, v)
    elseif f == "xor" then st = xorstmt2(r, v)
    else st = affstmt(r, v) end
    lines[#lines + 1] = "    " .. st
  end
  lines[#lines + 1] = "  end"
  lines[#lines + 1] = "  return x, s, t"
  lines[#lines + 1] = "end"
  return table.concat(lines, "\n") .. "\n", fam
end

---------------------------------------------------------------------------
-- Arguments: descriptions (text) evaluated afresh for each call.
---------------------------------------------------------------------------
local INTS54 = { "0", "1", "-1", "2", "3", "7", "-7", "13", "63", "64", "65", "-64", "1000003",
  "math.maxinteger", "math.mininteger", "(math.maxinteger - 1)", "(math.mininteger + 1)",
  "9007199254740992", "9007199254740993", "2147483648", "4294967301", "3037000499", "3037000500",
  "6364136223846793005", "-4611686018427387904", "88172645463325252", "-3037000500" }
local INTSJIT = { "0", "1", "-1", "2", "3", "7", "-7", "13", "31", "32", "1000003", "2^53", "-(2^53)",
  "(2^53 - 1)", "(2^52 + 1)", "2147483648", "4294967301", "94906265", "94906266", "-94906266",
  "2^31", "(2^53 + 2)", "67108864", "-(2^52)" }
local FLOATS54 = { "0.0", "-0.0", "1.5", "-2.5", "3.0", "2^53", "-(2^53)", "2^63", "-(2^63)", "(0/0)",
  "(1/0)", "(-1/0)", "1e308", "0.1", "7.0", "-7.0", "(2^53 + 2)", "2^31" }
local FLOATSJIT = { "0.5", "-0.0", "1.5", "-2.5", "(0/0)", "(1/0)", "(-1/0)", "1e308", "0.1", "2^63",
  "-(2^64)", "(2^53 + 0.5)" }
local STRINGS = { "'3'", "'0x10'", "'1e2'", "' 7 '", "'abc'", "'-0'", "'2.5'", "'9007199254740993'" }
local BIGS = { "B(3)", "B(-5)", "B(0)", "B(1)", "B(2)^70", "-(B(2)^64)", "B('12345678901234567890123')",
  "B(7)", "B(2)^63", "B(-1)" }

local function value(r, kind)
  local x = r.int(1, 100)
  if kind == "int" or (kind ~= "any" and x <= 70) then
    if r.chance(0.5) then return tostring(r.int(-20, 20)) end
    return r.pick(LUA54 and INTS54 or INTSJIT)
  end
  if x <= 82 then return r.pick(LUA54 and FLOATS54 or FLOATSJIT) end
  if x <= 92 then return r.pick(BIGS) end
  return r.pick(STRINGS)
end

local function limit(r)
  local x = r.int(1, 100)
  if x <= 40 then return tostring(r.int(0, 300)) end
  if x <= 55 then return tostring(r.int(100, 200)) end
  if x <= 80 then return tostring(r.int(1000, 30000)) end
  if x <= 88 then return tostring(r.int(100000, 1000000)) end
  if x <= 93 then return r.pick { "1000.0", "'500'", "500.5", "B(700)", "-0.0", "(0/0)", "'0x100'" } end
  return r.pick { "0", "1", "2", "-1", "-5" }
end

-- an argument set: n, x, s, t, a, b, m, k
function M.args(r, fam)
  local kind = r.chance(0.85) and "ring" or "any"
  local d = { limit(r) }
  for j = 2, 8 do d[j] = value(r, kind) end
  if fam == "xor" and r.chance(0.6) then d[8] = r.pick { "1", "7", "13", "17", "63", "64", "-3", "70", "0" } end
  if (fam == "poly" or fam == "aff") and r.chance(0.5) then d[8] = tostring(r.int(-5, 5)) end
  return d
end

local env = setmetatable({ B = cpm.big }, { __index = _G })
local cache = {}
local function eval(desc)
  local f = cache[desc]
  if not f then
    f = assert((loadstring or load)("return " .. desc, "=value", "t", env))
    if setfenv then setfenv(f, env) end
    cache[desc] = f
  end
  return (f())
end
M.eval = eval

---------------------------------------------------------------------------
-- Comparing
---------------------------------------------------------------------------
local function numtype(x) return math.type and math.type(x) or "float" end

local function fmt(x)
  if cpm.isbig(x) then return "big(" .. tostring(x) .. ")" end
  if type(x) == "number" then
    if numtype(x) == "float" then return ("%s float %a"):format(tostring(x), x) end
    return tostring(x) .. " " .. numtype(x)
  end
  return type(x) .. " " .. tostring(x)
end
M.fmt = fmt

local function same(x, y)
  if cpm.isbig(x) or cpm.isbig(y) then return cpm.isbig(x) and cpm.isbig(y) and cpm.eq(x, y) end
  if type(x) ~= type(y) then return false end
  if type(x) == "number" then
    if numtype(x) ~= numtype(y) then return false end
    if x ~= x then return y ~= y end
    if x == 0 and y == 0 then return 1 / x == 1 / y end
    return x == y
  end
  return x == y
end
M.same = same

-- The original may not run long: an instruction budget stops it.
local BUDGET = 4e7
local function run(f, args)
  local stop, armed = false, true
  -- disarmed inside the pcall: a hook firing between pcall's return and
  -- debug.sethook() would raise outside it
  local function disarmed(...) armed = false return ... end
  debug.sethook(function()
    if armed then stop = true; error("ringgen: budget") end
  end, "", BUDGET)
  local res = { pcall(function() return disarmed(f(unpack(args, 1, 8))) end) }
  armed = false
  debug.sethook()
  return stop, res
end

local function outcome(f, desc)
  local args = {}
  for j = 1, 8 do args[j] = eval(desc[j]) end
  return run(f, args)
end

local function compare(r1, r2)
  if r1[1] ~= r2[1] then return false end
  if not r1[1] then
    -- the guard may raise the size limit at entry instead of the loop's
    -- own operation (doc/manual.md, "Size limit")
    local lim = "would exceed the bignum size limit"
    if type(r1[2]) == "string" and type(r2[2]) == "string" and r1[2]:find(lim, 1, true)
      and r2[2]:find(lim, 1, true) then return true end
    return r1[2] == r2[2]
  end
  if #r1 ~= #r2 then return false end
  for j = 2, #r1 do if not same(r1[j], r2[j]) then return false end end
  return true
end

local function show(res)
  if not res[1] then return "error " .. tostring(res[2]) end
  local t = {}
  for j = 2, #res do t[#t + 1] = fmt(res[j]) end
  return table.concat(t, ", ")
end

-- run{ seed, count, fes = {...}, limits = {...}, log = function(s) } -> stats
function M.run(o)
  local r = rng(o.seed)
  local st = { functions = 0, comparisons = 0, differences = 0, computed = 0, skipped = 0, diffs = {},
    byfe = {}, byfam = {} }
  local fes = o.fes or { "bytecode", "source" }
  local limits = o.limits or { false, 2 }
  -- growing bignums (s = s * k with k = B(2)^70) meet the size limit soon
  local oldbits = cpm.maxbits()
  cpm.maxbits(o.maxbits or 8192)
  for fi = 1, o.count do
    local src, fam = M.func(r)
    local argsets = {}
    for j = 1, o.calls or 4 do argsets[j] = M.args(r, fam) end
    local path = files.tmpfile(src)
    local f = assert(loadfile(path))()
    st.functions = st.functions + 1
    local refs = {}
    for j, d in ipairs(argsets) do
      local stop, res = outcome(f, d)
      refs[j] = not stop and res or false
      if stop then st.skipped = st.skipped + 1 end
    end
    for _, fe in ipairs(fes) do
      for _, lim in ipairs(limits) do
        local opts = { frontend = fe, iters_limit = lim or nil }
        local g = cpm.optimize(f, opts)
        for j, d in ipairs(argsets) do
          if refs[j] then
            local _, res = outcome(g, d)
            st.comparisons = st.comparisons + 1
            st.byfe[fe] = (st.byfe[fe] or 0) + 1
            if not compare(refs[j], res) then
              st.differences = st.differences + 1
              local msg = ("function %d (%s, iters_limit %s), args (%s):\n%s  original:  %s\n  optimized: %s")
                :format(fi, fe, tostring(lim), table.concat(d, ", "), src, show(refs[j]), show(res))
              if #st.diffs < (o.keep or 20) then st.diffs[#st.diffs + 1] = msg end
              if o.log then o.log(msg) end
            end
          end
        end
        for _, e in ipairs(cpm.stats(g)) do
          st.computed = st.computed + e.computed
          st.byfam[fam] = (st.byfam[fam] or 0) + e.computed
        end
      end
    end
    os.remove(path)
    if o.progress then o.progress(fi, st) end
  end
  cpm.maxbits(oldbits)
  return st
end

return M
