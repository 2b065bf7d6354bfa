-- Spec support: a fuzzer for the source front end.  It writes random,
-- syntactically valid chunks that use every statement and expression form
-- of the grammar (cpm/source/grammar.lua), runs them through cpm.load,
-- cpm.optimize and cpm.explain, and compares everything they do with the
-- chunk as plain `load` gives it: returned values, values written out,
-- globals, errors.  Independent of spec/support/loopgen.lua (which writes
-- loops only): whole chunks, with functions, closures, tables, strings of
-- every form, branches and every kind of loop around the affine loops that
-- cpm computes.
--
--   local chunkgen = require "chunkgen"
--   local stats = chunkgen.run { seed = 1, cases = 100 }  -- raises on a difference
--
-- Every chunk terminates: a while or repeat loop counts its own hidden
-- counter, a for loop inside another loop has constant bounds, and
-- functions only call the functions defined before them.
local cpm = require "cpm"

local LUA54 = _VERSION == "Lua 5.4" and not rawget(_G, "jit")
local loadstring, setfenv = rawget(_G, "loadstring"), rawget(_G, "setfenv")
local unpack = table.unpack or unpack
local mtype = math.type

local M = {}

---------------------------------------------------------------- random

-- A Park-Miller generator: the same chunks on both VMs for one seed.
local function rng(seed)
  local state = seed % 2147483646 + 1
  return function(a, b)
    state = state * 16807 % 2147483647
    if not a then return state / 2147483647 end
    return a + state % (b - a + 1)
  end
end

---------------------------------------------------------------- generator

local Gen = {}
Gen.__index = Gen

local function new(seed)
  return setmetatable({ rand = rng(seed), lua54 = LUA54 }, Gen)
end

function Gen:pick(t) return t[self.rand(1, #t)] end
function Gen:chance(p) return self.rand() < p end

-- A fresh name: never one of the user-visible ones.
function Gen:fresh(base)
  self.nnames = (self.nnames or 0) + 1
  return base .. self.nnames
end

-- Scopes: a stack of frames { names = {...}, vararg = bool, loops = n }.
-- The visible variables; with 'assignable', without the control
-- variables of loops (LuaJIT's trace compiler is not deterministic on
-- bodies that assign them, see doc/source-frontend.md).
function Gen:visible(assignable)
  local out = {}
  for _, fr in ipairs(self.scopes) do
    for _, n in ipairs(fr.names) do
      if not (assignable and fr.readonly[n]) then out[#out + 1] = n end
    end
  end
  return out
end
function Gen:declare(name, readonly)
  local fr = self.scopes[#self.scopes]
  fr.names[#fr.names + 1] = name
  if readonly then fr.readonly[name] = true end
end
function Gen:push(kind)
  self.scopes[#self.scopes + 1] = { names = {}, readonly = {}, kind = kind }
end
function Gen:pop() self.scopes[#self.scopes] = nil end

-- A numeral, in one of the forms both VMs read.
function Gen:number()
  local r = self.rand(1, 12)
  if r <= 4 then return tostring(self.rand(0, 9)) end
  if r == 5 then return tostring(self.rand(10, 1000)) end
  if r == 6 then return self:pick { "0.5", "2.0", "1.25", ".5", "3." } end
  if r == 7 then return self:pick { "0x10", "0XfF", "0x7fffffff" } end
  if r == 8 then return self:pick { "1e2", "2.5E-1", "1e300", "0x1p4" } end
  if r == 9 then return self:pick { "9007199254740993", "4611686018427387904" } end
  return tostring(self.rand(1, 3))
end

-- A line break as any of the four forms a lexer must read.
function Gen:newline() return self:pick { "\n", "\r", "\r\n", "\n\r" } end

function Gen:string()
  local r = self.rand(1, 6)
  if r <= 2 then
    local parts = {}
    for _ = 1, self.rand(0, 4) do
      parts[#parts + 1] = self:pick { "a", "k", "x y", "\\n", "\\t", "\\\\", "\\\"", "\\'",
        "\\65", "\\x41", "\\z   ", "\\u{48}", "\\u{3b1}", "\\0", "\\255", "\\\n", "\\\r\n" }
    end
    local q = self:pick { '"', "'" }
    local s = table.concat(parts)
    if q == "'" then s = s:gsub("\\\"", "\\'") end
    return q .. s .. q
  end
  if r == 3 then return self:pick { '"k"', "'x'", '"1"', '"10"', '" 2 "', '"0x10"' } end
  -- a long string: any level, line breaks of every form, first one skipped
  local eq = ("="):rep(self.rand(0, 2))
  local parts = {}
  for _ = 1, self.rand(0, 4) do
    -- ("]" only where it cannot close the bracket with the one after it)
    parts[#parts + 1] = self:chance(0.5) and self:newline()
      or self:pick { "k", "1", "x y", #eq > 0 and "]" or "k" }
  end
  return "[" .. eq .. "[" .. table.concat(parts) .. "]" .. eq .. "]"
end

local BINOPS = { "+", "-", "*", "/", "%", "^", "..", "==", "~=", "<", "<=", ">", ">=",
  "and", "or" }
local BINOPS54 = { "//", "&", "|", "~", "<<", ">>" }

-- An expression; depth bounds its size.
function Gen:exp(depth)
  local vis = self:visible()
  local r = self.rand(1, 100)
  if depth <= 0 or r <= 30 then
    if #vis > 0 and r <= 22 then return self:pick(vis) end
    local a = self.rand(1, 12)
    if a <= 5 then return self:number() end
    if a <= 7 then return self:string() end
    if a == 8 then return self:pick { "nil", "true", "false" } end
    if a == 9 then return self:pick { "G1", "G2", "T.x", "T[1]" } end
    if a == 10 and self.scopes[#self.scopes].vararg then return "..." end
    return tostring(self.rand(0, 5))
  end
  if r <= 55 then
    local ops = BINOPS
    if self.lua54 and self:chance(0.2) then ops = BINOPS54 end
    local op = self:pick(ops)
    -- mostly arithmetic, the kind cpm lowers
    if self:chance(0.5) then op = self:pick { "+", "-", "*", "+", "-" } end
    -- (LuaJIT computes x ^ y one way in a trace, x * x for y = 2, and
    -- another in its interpreter, which differ in the last bit of about 1
    -- in 1200 doubles: the same function gives either, as the trace
    -- compiler goes, optimized or not)
    if op == "^" and not self.lua54 then op = "*" end
    return self:exp(depth - 1) .. " " .. op .. " " .. self:exp(depth - 1)
  end
  if r <= 62 then
    local ops = self.lua54 and { "-", "not ", "#", "~", "-" } or { "-", "not ", "#", "-" }
    return self:pick(ops) .. self:exp(depth - 1)
  end
  if r <= 70 then return "(" .. self:exp(depth - 1) .. ")" end
  if r <= 76 then
    local key = self:pick { ".x", ".y", "[1]", "[2]", "[k]" }
    -- (spaces: `[ [[s]] ]`, not the long bracket `[[[s]]]`)
    if key == "[k]" then key = "[ " .. self:exp(0) .. " ]" end
    return self:pick { "T", "(T)" } .. key
  end
  if r <= 84 then return self:call(depth - 1) end
  if r <= 90 then return self:table(depth - 1) end
  if r <= 94 then return self:funcexp(depth - 1) end
  return self:exp(0) .. " * " .. self:exp(0)
end

function Gen:explist(depth, n)
  local t = {}
  for i = 1, n or self.rand(1, 3) do t[i] = self:exp(depth) end
  return table.concat(t, ", ")
end

function Gen:table(depth)
  local f, seps = {}, { ", ", "; " }
  for _ = 1, self.rand(0, 4) do
    local r = self.rand(1, 3)
    if r == 1 then f[#f + 1] = self:exp(depth)
    elseif r == 2 then f[#f + 1] = self:pick { "x", "y", "z" } .. " = " .. self:exp(depth)
    else f[#f + 1] = "[ " .. self:exp(0) .. " ] = " .. self:exp(depth) end
    f[#f + 1] = self:pick(seps)
  end
  if #f > 0 and self:chance(0.5) then f[#f] = nil end  -- no trailing separator
  return "{" .. table.concat(f) .. "}"
end

-- Calls: the helpers of the environment, earlier functions, methods.
function Gen:call(depth)
  local r = self.rand(1, 8)
  if r == 1 then return "id(" .. self:exp(depth) .. ")" end
  if r == 2 then return "two(" .. self:explist(depth) .. ")" end
  if r == 3 then return "id" .. self:pick { " 'str'", " [[long]]", "{1, 2}" } end
  if r == 4 then return "T:m(" .. self:exp(depth) .. ")" end
  if r == 5 then return "(" .. self:string() .. "):len()" end
  if r == 6 and (self.nfuncs or 0) > 0 then  -- n small: its loops run up to n
    return "F" .. self.rand(1, self.nfuncs) .. "(" .. self.rand(0, 4) .. ", " .. self:exp(depth) .. ")"
  end
  if r == 7 then return "select('#', " .. self:explist(depth) .. ")" end
  return "id(" .. self:exp(depth) .. ")"
end

function Gen:funcexp(depth)
  self.fdepth = (self.fdepth or 0) + 1
  local params, vararg = {}, self:chance(0.3)
  for i = 1, self.rand(0, 2) do params[i] = self:fresh("p") end
  if vararg then params[#params + 1] = "..." end
  local saved = self.loops
  self.loops = 0
  self:push("function")
  self.scopes[#self.scopes].vararg = vararg
  for _, p in ipairs(params) do if p ~= "..." then self:declare(p) end end
  local body = self:block(math.min(depth, 1), 2) .. " return " .. self:exp(depth)
  self:pop()
  self.loops = saved
  self.fdepth = self.fdepth - 1
  return "function(" .. table.concat(params, ", ") .. ") " .. body .. " end"
end

-- An affine statement over the visible variables: the bodies cpm plans.
-- Mostly slow-growing ones (a sum, a difference, a count, a swap), whose
-- values stay exact long enough for the guard to compute them on LuaJIT
-- too (doubles only below 2^53), some that grow fast.
function Gen:affine(loopvar)
  local vis = self:visible(true)
  if #vis == 0 then return "G1 = " .. self:exp(1) end
  local x, y = self:pick(vis), self:pick(vis)
  local r = self.rand(1, 10)
  local ops = { " + ", " - " }
  if r <= 3 then
    return x .. " = " .. x .. self:pick(ops) .. self:pick { loopvar, self:number(), y, "2 * " .. loopvar }
  end
  if r == 4 then return x .. " = " .. self:pick { "-", "" } .. y .. self:pick(ops) .. self:number() end
  if r == 5 and x ~= y then  -- a multiple assignment: values before targets
    return x .. ", " .. y .. " = " .. y .. ", " .. x .. self:pick(ops) .. y
  end
  local terms = { x }
  for _ = 1, self.rand(0, 2) do
    local c = self:pick { "", "2 * ", "3 * ", "-1 * ", "0.5 * " }
    terms[#terms + 1] = c .. (self:chance(0.3) and loopvar or self:pick(vis))
  end
  if self:chance(0.5) then terms[#terms + 1] = self:number() end
  if r == 6 then return "local " .. self:fresh("t") .. " = " .. table.concat(terms, " - ") end
  return x .. " = " .. table.concat(terms, self:pick(ops))
end

-- The bounds of a numeric for: n only outside other loops (so the work of
-- nested loops stays bounded), small constants otherwise.
function Gen:bounds()
  local n = self.scopes[#self.scopes].hasn and self.loops == 0
  local a = self:pick { "1", "0", "2", "-2", "1.0" }
  local b = n and self:pick { "n", "n", "n - 1", "n / 2", "3" } or tostring(self.rand(0, 6))
  if self:chance(0.3) then
    return a .. ", " .. b .. ", " .. self:pick { "1", "2", "-1", "0.5", "3" }
  end
  return a .. ", " .. b
end

function Gen:loopbody(depth, loopvar)
  self.loops = self.loops + 1
  self:push("loop")
  local parts = {}
  local n = self.rand(1, 4)
  for i = 1, n do
    if self:chance(0.6) then parts[i] = self:affine(loopvar)
    else parts[i] = self:stat(depth - 1) end
  end
  if self:chance(0.15) then  -- a continue label at the end of the body
    table.insert(parts, 1, "if " .. self:exp(0) .. " then goto continue end")
    parts[#parts + 1] = "::continue::"
  end
  self:pop()
  self.loops = self.loops - 1
  return table.concat(parts, self:pick { " ", "; ", "\n", "\r\n" })
end

function Gen:stat(depth)
  local r = self.rand(1, 100)
  local vis = self:visible(true)
  if depth <= 0 then r = self.rand(1, 40) end
  if r <= 10 then  -- local, with or without values, with attributes on 5.4
    local names = {}
    for i = 1, self.rand(1, 3) do names[i] = self:fresh("v") end
    local attrib = ""
    if self.lua54 and self:chance(0.15) then attrib = self:pick { " <const>", " <close>" } end
    local text = "local " .. table.concat(names, ", ") .. attrib
    if attrib == " <close>" then text = text .. " = nil"
    elseif attrib ~= "" or self:chance(0.7) then text = text .. " = " .. self:explist(depth) end
    for _, nm in ipairs(names) do self:declare(nm) end
    if attrib ~= "" then  -- not assignable: drop them again from the pool
      local fr = self.scopes[#self.scopes]
      for _ = 1, #names do fr.names[#fr.names] = nil end
    end
    return text
  end
  if r <= 25 then
    if #vis > 0 then return self:pick(vis) .. " = " .. self:exp(depth) end
    return "G2 = " .. self:exp(depth)
  end
  if r <= 30 then  -- multiple assignment, table and global targets included
    local targets = { #vis > 0 and self:pick(vis) or "G1", self:pick { "G1", "T.x", "T[2]", "T[3]" } }
    return table.concat(targets, ", ") .. " = " .. self:explist(depth, self.rand(1, 3))
  end
  if r <= 36 then return "out(" .. self:explist(depth) .. ")" end
  if r <= 40 then  -- (a lone `;` is Lua 5.2+ syntax)
    return self:pick { self.lua54 and ";" or "do end", "do end", "id(1)" }
  end
  if r <= 46 then
    self:push("do")
    local b = self:block(depth - 1, 3)
    self:pop()
    return "do " .. b .. " end"
  end
  if r <= 54 then
    local text = "if " .. self:exp(depth - 1) .. " then " .. self:scoped(depth - 1)
    for _ = 1, self.rand(0, 2) do
      text = text .. " elseif " .. self:exp(depth - 1) .. " then " .. self:scoped(depth - 1)
    end
    if self:chance(0.5) then text = text .. " else " .. self:scoped(depth - 1) end
    return text .. " end"
  end
  if r <= 70 then  -- numeric for
    local i = self:fresh("i")
    local head = "for " .. i .. " = " .. self:bounds() .. " do"
    self:push("for")
    self:declare(i, true)
    local body = self:loopbody(depth, i)
    self:pop()
    return head .. " " .. body .. " end"
  end
  if r <= 76 then  -- generic for
    local k, v = self:fresh("k"), self:fresh("e")
    local iter = self:pick { "ipairs(T)", "ipairs({1, 2, 3})", "range3()" }
    local one = self:chance(0.4)
    self:push("for")
    self:declare(k, true)
    if not one then self:declare(v, true) end
    local body = self:loopbody(depth, k)
    self:pop()
    return "for " .. k .. (one and "" or ", " .. v) .. " in " .. iter .. " do " .. body .. " end"
  end
  if r <= 81 then  -- while, with its own counter
    local w = self:fresh("w")
    local body = self:loopbody(depth, w)
    local brk = self:chance(0.3) and (" if " .. self:exp(0) .. " then break end") or ""
    return "local " .. w .. " = 0 while " .. w .. " < " .. self.rand(0, 5) .. " do "
      .. w .. " = " .. w .. " + 1 " .. body .. brk .. " end"
  end
  if r <= 85 then  -- repeat: the condition sees the body's locals
    local w = self:fresh("w")
    local body = self:loopbody(depth, w)
    return "local " .. w .. " = 0 repeat " .. w .. " = " .. w .. " + 1 " .. body
      .. " until " .. w .. " >= " .. self.rand(1, 4) .. " or " .. self:exp(0)
  end
  if r <= 90 then  -- local function
    local name = self:fresh("lf")
    self:declare(name)
    return "local function " .. name .. self:funcexp(depth - 1):sub(9)
  end
  if r <= 93 then return "T.f = " .. self:funcexp(depth - 1) end
  if r <= 96 and self.loops > 0 then  -- (Lua 5.1: break ends a block)
    return self.lua54 and "break" or "do break end"
  end
  if r <= 98 then return "function T:m(a) return a end" end
  return "out(" .. self:exp(depth) .. ")"
end

function Gen:scoped(depth)
  self:push("block")
  local b = self:block(depth, 2)
  self:pop()
  return b
end

function Gen:block(depth, max)
  local parts = {}
  for i = 1, self.rand(0, max) do parts[i] = self:stat(depth) end
  return table.concat(parts, self:pick { " ", "\n", "; ", "\r\n", "\n\n" })
end

-- A global function F<k>(n, a, ...): a few statements around loops whose
-- bounds may be n.
function Gen:func(k)
  local vararg = self:chance(0.3)
  self.loops = 0
  self:push("function")
  local fr = self.scopes[#self.scopes]
  fr.vararg, fr.hasn = vararg, true
  self:declare("n", true); self:declare("a")  -- n bounds loops: never assigned
  local parts = {}
  for _ = 1, self.rand(0, 2) do parts[#parts + 1] = self:stat(2) end
  local nloops = self.rand(1, 2)
  for _ = 1, nloops do
    local i = self:fresh("i")
    local head = "for " .. i .. " = " .. self:bounds() .. " do"
    self:push("for")
    self:declare(i, true)
    parts[#parts + 1] = head .. " " .. self:loopbody(2, i) .. " end"
    self:pop()
    if self:chance(0.5) then parts[#parts + 1] = self:stat(1) end
  end
  local vis = self:visible()
  local ret = "return " .. self:pick(vis) .. ", " .. self:pick(vis)
  self:pop()
  return "function F" .. k .. "(n, a" .. (vararg and ", ..." or "") .. ")"
    .. self:newline() .. table.concat(parts, self:newline()) .. self:newline() .. ret
    .. self:newline() .. "end"
end

-- A chunk: upvalues, functions F1..Fk over them, top-level statements and
-- loops, and a return or none.
function Gen:chunk()
  self.scopes, self.loops, self.nfuncs, self.nnames = {}, 0, 0, 0
  self:push("main")
  self.scopes[1].vararg = true
  local parts = {}
  if self:chance(0.2) then parts[#parts + 1] = "-- a chunk" end
  for _ = 1, self.rand(1, 3) do
    local u = self:fresh("u")
    parts[#parts + 1] = "local " .. u .. " = " .. self:number()
    self:declare(u)
  end
  for k = 1, self.rand(1, 3) do
    parts[#parts + 1] = self:func(k)
    self.nfuncs = k
  end
  for _ = 1, self.rand(0, 4) do parts[#parts + 1] = self:stat(2) end
  if self:chance(0.6) then parts[#parts + 1] = "return " .. self:explist(1) end
  if self:chance(0.3) then parts[#parts + 1] = "-- the end" end
  self:pop()
  return table.concat(parts, self:newline())
end

---------------------------------------------------------------- running

-- A value as text that is equal for equal values (NaN as one value,
-- -0.0 apart from 0.0, integers apart from floats, tables by content).
local function show(v, depth, seen)
  local t = type(v)
  if t == "number" then
    if v ~= v then return "nan" end
    local kind = mtype and mtype(v) or "number"
    if kind == "integer" then return ("i%d"):format(v) end
    return kind .. ("%a"):format(v)
  elseif t == "string" then return ("%q"):format(v)
  elseif t == "table" then
    if cpm.isbig(v) then return "big" .. tostring(v) end
    seen = seen or {}
    if seen[v] or (depth or 0) > 3 then return "{...}" end
    seen[v] = true
    -- entries sorted as text: keys that are tables or functions show as
    -- their type, and their order in pairs() follows addresses
    local out = {}
    for k, x in pairs(v) do
      out[#out + 1] = show(k, 9, seen) .. "=" .. show(x, (depth or 0) + 1, seen)
    end
    table.sort(out)
    seen[v] = nil
    return "{" .. table.concat(out, ",") .. "}"
  elseif t == "userdata" and cpm.isbig(v) then return "big" .. tostring(v)
  end
  return t  -- functions, booleans as their type only when not boolean
    .. (t == "boolean" and tostring(v) or "")
end

-- A fresh environment: the helpers the chunks call, and a log.
local function environment(log)
  local T = { 1, 2, 3, x = 1, y = 2.5 }
  function T.m(_, a) return a end
  local env
  env = {
    T = T, G1 = 0, G2 = 1,
    out = function(...)
      local n = select("#", ...)
      local t = { ... }
      for i = 1, n do log[#log + 1] = show(t[i]) end
    end,
    id = function(...) return ... end,
    two = function(a, b) return b, a end,
    select = select, ipairs = ipairs,
    range3 = function()
      local i = 0
      return function() i = i + 1 if i <= 3 then return i end end
    end,
  }
  return env
end

local function load_in(text, env)
  if setfenv then
    local f, err = loadstring(text)
    if f then setfenv(f, env) end
    return f, err
  end
  return load(text, text, "t", env)
end

-- Runs f(...) and writes what it did into the record.
local function record(rec, f, ...)
  local r = { pcall(f, ...) }
  local parts = { tostring(r[1]) }
  for i = 2, select("#", unpack(r)) do parts[#parts + 1] = show(r[i]) end
  rec[#rec + 1] = table.concat(parts, " ")
end

-- The calls made of each function F<k>: small n, integers and floats.
local CALLS = { { 0, 1 }, { 1, 2 }, { 3, -1 }, { 7, 0.5 }, { 50, 3 }, { 1000, 2 },
  { 6, 1.5, "x" } }

-- A world: the chunk loaded by 'loader' in a fresh environment, main run,
-- then each F<k> transformed by 'transform' (or as it is) and called.
local function world(text, loader, transform)
  local log, rec = {}, {}
  local env = environment(log)
  local main = loader(text, env)
  if not main then return nil end
  record(rec, main, 5, "arg")
  for k = 1, 3 do
    local f = rawget(env, "F" .. k)
    if type(f) == "function" then
      local g = transform and transform(f) or f
      for _, args in ipairs(CALLS) do record(rec, g, unpack(args)) end
    end
  end
  rec[#rec + 1] = "log " .. table.concat(log, " ")
  rec[#rec + 1] = "G " .. show(env.G1) .. " " .. show(env.G2) .. " " .. show(env.T)
  return rec
end

local function differ(name, text, a, b)
  for i = 1, math.max(#a, #b) do
    if a[i] ~= b[i] then
      return ("%s differs at record %d\n  plain: %s\n  %s: %s\n--- chunk:\n%s"):format(
        name, i, tostring(a[i]), name, tostring(b[i]), text)
    end
  end
end

-- run { seed, cases [, on_case] } -> stats; raises at the first difference.
-- stats: cases, skipped (plain load refused the chunk), comparisons (one
-- per call compared), optimized (loops that explain reports optimized),
-- explained (loops explained).
function M.run(opts)
  local gen = new(opts.seed or 1)
  local stats = { cases = 0, skipped = 0, comparisons = 0, optimized = 0, explained = 0 }
  local source = { frontend = "source" }
  local source2 = { frontend = "source", iters_limit = 2 }
  for case = 1, opts.cases do
    local text = gen:chunk()
    local where = ("seed %d case %d"):format(opts.seed or 1, case)
    local plain = world(text, load_in)
    if not plain then
      stats.skipped = stats.skipped + 1
    else
      stats.cases = stats.cases + 1
      local variants = {
        { "cpm.load", function(t, env)
          local ok, f = pcall(cpm.load, t, nil, "t", env)
          if not ok then error(where .. ": cpm.load raised: " .. tostring(f) .. "\n" .. text, 0) end
          if f and setfenv then setfenv(f, env) end
          return f
        end },
        { "cpm.load, source", function(t, env)
          local ok, f = pcall(cpm.load, t, nil, "t", env, source2)
          if not ok then error(where .. ": cpm.load raised: " .. tostring(f) .. "\n" .. text, 0) end
          if f and setfenv then setfenv(f, env) end
          return f
        end },
        { "source", load_in, function(f) return cpm.optimize(f, source) end },
        { "source, iters_limit = 2", load_in, function(f) return cpm.optimize(f, source2) end },
        { "source main", function(t, env)
          return cpm.optimize(load_in(t, env), source2)
        end },
      }
      variants[#variants + 1] = { "bytecode, iters_limit = 2", load_in,
        function(f) return cpm.optimize(f, { frontend = "bytecode", iters_limit = 2 }) end }
      for _, v in ipairs(variants) do
        local ok, rec = pcall(world, text, v[2], v[3])
        if not ok then error(where .. ": " .. v[1] .. " raised: " .. tostring(rec) .. "\n" .. text, 0) end
        local d = rec and differ(v[1], text, plain, rec)
          or (not rec and v[1] .. ": did not load\n" .. text)
        if d then error(where .. ": " .. d, 0) end
        stats.comparisons = stats.comparisons + #rec
      end
      -- explain never raises and never reports an internal error
      local env = environment({})
      local main = load_in(text, env)
      local fs = { main }
      pcall(main, 5, "arg")
      for k = 1, 3 do fs[#fs + 1] = rawget(env, "F" .. k) end
      for _, f in ipairs(fs) do
        local ok, e = pcall(cpm.explain, f, source)
        if not ok or e:find("internal error") then
          error(("%s: explain: %s\n%s"):format(where, tostring(e), text), 0)
        end
        for line in e:gmatch("[^\n]+") do
          if line:find("loop ") then stats.explained = stats.explained + 1 end
          if line:find("loop optimized") then stats.optimized = stats.optimized + 1 end
        end
      end
    end
    if opts.on_case then opts.on_case(case, stats) end
  end
  return stats
end

M.new = new
return M
