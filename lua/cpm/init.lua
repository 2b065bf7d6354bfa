-- cpm: automatic algorithmic speed-ups for Lua loops.
-- This file is `require "cpm"`: the public API.  The C part is `cpm.core`
-- (its names starting with an underscore are internal).

-- The C module builds against the Lua 5.1 API for LuaJIT, and would load
-- into plain Lua 5.1 too; cpm's front ends are for Lua 5.4 and LuaJIT only.
if _VERSION ~= "Lua 5.4" and not rawget(_G, "jit") then
  error(("cpm: needs Lua 5.4 or LuaJIT 2.1 (this is %s)"):format(_VERSION), 2)
end

local core = require "cpm.core"

-- cpm's own Lua code is not compiled by LuaJIT's trace compiler (nor is
-- cpm.auto's and cpm.source's; they run once per function, not per call).
-- LuaJIT releases before its fix of 2023-08-13 ("Ensure forward progress
-- on trace exit to BC_ITERN", LuaJIT issue #1000; Debian 12 ships one)
-- spin for ever in a compiled pairs() loop that a finalizer runs when the
-- trace exits at the loop's start: no side trace is recorded during a
-- finalizer, so the exit leads back into the same trace.  cpm.optimize's
-- check of its options, cpm.stats and cpm.auto's walks of package.loaded
-- are such loops, and cpm may be called from a finalizer.
if rawget(_G, "jit") then jit.off(true, true) end

-- Every library function cpm calls after it loaded is taken now: the
-- program may remove or replace globals (Lua's own testes set `debug` to
-- nil), and cpm must work the same and run none of its code.
local type, error, pairs, ipairs, tostring, select = type, error, pairs, ipairs, tostring, select
local tonumber, rawget, pcall, require = tonumber, rawget, pcall, require
local load, loadfile, io_open = load, loadfile, io.open
local table_sort, table_concat = table.sort, table.concat
local math_type, math_floor = math.type, math.floor
local getinfo, getupvalue = debug.getinfo, debug.getupvalue
local string_format, string_sub, string_match = string.format, string.sub, string.match

local M = {}

M._VERSION = "0.2.0"

-- the value types, straight from C
for _, name in ipairs { "big", "isbig", "eq", "cmp", "range", "maxbits" } do
  M[name] = core[name]
end
M.vm = core.vm

local LUA54 = core.vm == "Lua 5.4"

-- LuaJIT: the bit library's own functions, for the guard to tell them
-- from replacements (a loop calling bit.bxor is computed only when the
-- function is the library's).  A function is the library's when it is a
-- fast function (jit.util.funcinfo gives its ffid) whose name in
-- jit.vmdef is "bit.<name>"; without jit.vmdef none is recognized and
-- such loops run as written.
if core._bitlib then
  local own, loaded = {}, package.loaded
  -- (jit.util and jit.vmdef are left out of package.loaded if they were
  -- not there: cpm stays invisible to the program)
  local hadu, hadv = loaded["jit.util"], loaded["jit.vmdef"]
  local okb, bit = pcall(require, "bit")
  local oku, util = pcall(require, "jit.util")
  local okv, vmdef = pcall(require, "jit.vmdef")
  loaded["jit.util"], loaded["jit.vmdef"] = hadu, hadv
  if okb and oku and okv and type(bit) == "table" and type(vmdef) == "table"
      and type(vmdef.ffnames) == "table" then
    for _, name in ipairs { "tobit", "bnot", "lshift", "rshift", "arshift",
      "rol", "ror", "band", "bor", "bxor", "bswap" } do
      local f = rawget(bit, name)
      local info = type(f) == "function" and util.funcinfo(f)
      if info and info.ffid and vmdef.ffnames[info.ffid] == "bit." .. name then
        own[name] = f
      end
    end
  end
  core._bitlib(own)
end


local function isinteger(v)
  if math_type then return math_type(v) == "integer" end
  return type(v) == "number" and v == math_floor(v) and v > -2^63 and v < 2^63
end

-- The fields an options table may have: any other is a misspelling.
local OPTION_NAMES = { iters_limit = true, strict = true, frontend = true,
  on_fallback = true }

-- Checks the options table of optimize/explain/load/loadfile (argument
-- number argn, default 2, of fname); returns limit, strict, frontend,
-- on_fallback.
-- Raises at level `level` (default 5: the caller of the public function
-- that called run).
local function options(fname, opts, argn, level)
  argn, level = argn or 2, level or 5
  if opts == nil then return nil, false, nil end
  local function bad(why)
    error(string_format("bad argument #%d to '%s' (%s)", argn, fname, why), level)
  end
  if type(opts) ~= "table" then bad("table expected, got " .. type(opts)) end
  for k in pairs(opts) do
    if not OPTION_NAMES[k] then bad("unknown option '" .. tostring(k) .. "'") end
  end
  local limit, strict, frontend = opts.iters_limit, opts.strict, opts.frontend
  if limit ~= nil and (not isinteger(limit) or limit < 2) then
    bad("iters_limit must be an integer >= 2")
  end
  if strict ~= nil and type(strict) ~= "boolean" then bad("strict must be a boolean") end
  if frontend ~= nil and frontend ~= "bytecode" and frontend ~= "source" then
    bad("frontend must be \"bytecode\" or \"source\"")
  end
  local on_fallback = opts.on_fallback
  if on_fallback ~= nil and type(on_fallback) ~= "function" then
    bad("on_fallback must be a function")
  end
  return limit, strict or false, frontend, on_fallback
end

-- Functions a front end made share, as an upvalue, their chunk's hook
-- table (the source front end's: its table of guards); 'made' maps each
-- such table to the report of the optimization that made it.  Optimizing
-- or explaining such a function again, with any front end, gives it back
-- as it is, with the report of its own loops (its loops' code now
-- contains the guard calls, which no plan would accept).
local made = setmetatable({}, { __mode = "k" })

-- The hook tables of every front end (the guards' table of a chunk, an
-- upvalue of its functions that call a guard), and each optimized function's
-- own: cpm.stats reads the loops' records from the table's field "stats"
-- (GUARD_STATSKEY, src/core/guard.h).
local hooktables = setmetatable({}, { __mode = "k" })
local hooksof = setmetatable({}, { __mode = "k" })

-- g, made by a front end: its hook table (nil when it rewrote nothing) and report
local function remember(g, hooks, rep)
  if hooks then hooktables[hooks], hooksof[g], made[hooks] = true, hooks, rep end
end

local function made_report(f)
  -- no further than the closure's own count: a crafted chunk's closure may
  -- have fewer upvalues than its function, and debug.getupvalue goes by
  -- the function's count (reading past the closure)
  for i = 1, getinfo(f, "u").nups do
    local _, v = getupvalue(f, i)
    local rep = made[v]
    if rep then
      local info, own = getinfo(f, "S"), {}
      for _, e in ipairs(rep) do
        if info.what == "main" or (e.line >= info.linedefined
            and e.line <= info.lastlinedefined) then
          own[#own + 1] = e
        end
      end
      return own, info.short_src
    end
  end
end

-- The source front end, loaded on first use (it needs LPeg), or why not.
local source_frontend, source_missing

-- Runs the front end; returns g, report.  text: what f was loaded from
-- (cpm.load), for the source front end.
local function run(fname, f, opts, text, argn)
  if type(f) ~= "function" then
    error(string_format("bad argument #1 to '%s' (function expected, got %s)",
      fname, f == nil and "no value" or type(f)), 3)
  end
  local limit, strict, frontend, on_fallback = options(fname, opts, argn)
  -- made by a front end (any): it stays as it is, with its own report
  local again, src = made_report(f)
  if again then
    local first  -- as the front ends raise: the first refused in the
    -- source, the outer loop of a nest (reported after its inner ones)
    for _, e in ipairs(again) do
      if strict and not e.optimized and (not first or e.line <= first.line) then
        first = e
      end
    end
    if first then
      error(string_format("cpm: %s:%d: %s", src, first.line, first.reason), 0)
    end
    return f, again
  end
  if frontend ~= "source" then
    if LUA54 then
      local g, rep, hooks = core._optimize54(f, limit, strict, on_fallback)
      remember(g, hooks, rep)
      return g, rep
    end
    -- LuaJIT: its bytecode front end; a dump it does not recognize (the
    -- whole function refused, with a reason) goes to the source front end
    local g, rep, hooks = core._optimizejit(f, limit, strict, on_fallback)
    if not rep.reason or frontend == "bytecode" then
      remember(g, hooks, rep)
      return g, rep
    end
  end
  if not source_frontend and not source_missing then
    local ok, mod = pcall(require, "cpm.source")
    if ok then source_frontend = mod else source_missing = tostring(mod) end
  end
  if not source_frontend then  -- an install without LPeg, say: f keeps working as it is
    if strict then error("cpm: the source front end is not available: " .. source_missing, 3) end
    return f, { reason = "the source front end is not available" }
  end
  local g, rep, hooks = source_frontend.optimize(f, limit, strict, text, on_fallback)
  remember(g, hooks, rep)
  return g, rep
end


--- cpm.optimize(f [, opts]) -> g
function M.optimize(f, opts)
  return (run("optimize", f, opts))
end


--- cpm.stats(g) -> list: what the guards of g's loops did so far, one
--- { line =, computed =, fell_back =, below_limit =, reasons = { [reason] =
--- count } } per planned loop of g's chunk (g and the functions in it),
--- in line order; an empty list for a function cpm did not rewrite.
--- below_limit counts only the short loops the guard saw: the rewritten
--- code runs most of them without calling it (doc/manual.md).
function M.stats(g)
  if type(g) ~= "function" then
    error(string_format("bad argument #1 to 'stats' (function expected, got %s)",
      g == nil and "no value" or type(g)), 2)
  end
  local hooks = hooksof[g]
  if not hooks then
    local info = getinfo(g, "u")
    for i = 1, info and info.nups or 0 do
      local _, v = getupvalue(g, i)
      if hooktables[v] then hooks = v break end
    end
  end
  local list, records = {}, hooks and rawget(hooks, "stats")
  if type(records) ~= "table" then return list end
  for _, r in pairs(records) do
    if type(r) == "table" then
      local reasons = {}
      for why, n in pairs(r.reasons) do reasons[why] = n end
      local computed, fell_back, below_limit = core._guardcounts(r)
      list[#list + 1] = { line = tonumber(string_match(r.where, ":(%d+)$")) or 0,
        computed = computed, fell_back = fell_back,
        below_limit = below_limit, reasons = reasons }
    end
  end
  table_sort(list, function(a, b) return a.line < b.line end)
  return list
end


--- cpm.explain(f [, opts]) -> text: every loop of f, its line, and
--- whether it is optimized (then what computing it needs: the plan's
--- "depends", src/core/plan_depends.c) or why not.
function M.explain(f, opts)
  local _, rep = run("explain", f, opts)
  local info = getinfo(f, "S")
  local src = info and info.short_src or "?"
  if #rep == 0 then
    if rep.reason then
      return string_format("%s:%d: not optimized: %s", src, info.linedefined, rep.reason)
    end
    return "no loops"
  end
  table_sort(rep, function(a, b) return a.line < b.line end)
  local lines = {}
  for i, r in ipairs(rep) do
    local verdict
    if not r.optimized then verdict = "not optimized: " .. tostring(r.reason)
    elseif r.depends then verdict = "optimized: " .. r.depends
    else verdict = "optimized" end
    lines[i] = string_format("%s:%d: %sloop %s", src, r.line,
      r.kind and r.kind .. " " or "", verdict)
  end
  return table_concat(lines, "\n")
end


-- LuaJIT's loader makes each cdata constant of a binary chunk (int64,
-- uint64, complex) with the FFI's type state, which only the chunk's FFI
-- flag has it create first: a crafted chunk without the flag loads, and
-- its constants crash the garbage collector later (a null type state) in
-- a process that never loaded the FFI.  LuaJIT's writer always sets the
-- flag; cpm's reader refuses a dump without it, so cpm.optimize never
-- hands LuaJIT such a dump, and cpm.load loads the FFI (when this LuaJIT
-- has it) before it hands LuaJIT a binary chunk.
local ffi_ready = LUA54
local function ready_for_binary()
  if not ffi_ready then
    ffi_ready = true
    pcall(require, "ffi")
  end
end

--- cpm.load(chunk [, chunkname [, mode [, env [, opts]]]]): like load,
--- with every function of the chunk optimized (opts as for cpm.optimize).
--- With opts given, an env of nil means load's default environment.
--- Raises, for a bad argument, load's own message at the caller's
--- position; returns nil, message where load does.
function M.load(...)
  local chunk, chunkname, mode = ...
  local nrest, env, opts = select("#", ...) - 3, select(4, ...)
  local t = type(chunk)
  if t ~= "string" and t ~= "number" and t ~= "function" then
    error(string_format("bad argument #1 to 'load' (function expected, got %s)",
      select("#", ...) == 0 and "no value" or t), 2)
  end
  for i = 2, 3 do
    local v = i == 2 and chunkname or mode
    if v ~= nil and type(v) ~= "string" and type(v) ~= "number" then
      error(string_format("bad argument #%d to 'load' (string expected, got %s)", i, type(v)), 2)
    end
  end
  if nrest >= 2 then options("load", opts, 5, 4) end
  local text, parts = t == "string" and chunk or nil, nil
  if t == "function" then
    -- load pulls the pieces as it always does (it stops at a syntax error,
    -- an error of the reader, nil or ""); the text is what it read
    local reader, where = chunk, ""  -- load names its caller in this message
    local info = getinfo(2, "Sl")
    if info and info.currentline > 0 then
      where = string_format("%s:%d: ", info.short_src, info.currentline)
    end
    parts = {}
    chunk = function()
      local piece = reader()
      local pt = type(piece)
      if pt == "string" or pt == "number" then
        if string_sub(parts[1] or tostring(piece), 1, 1) == "\27" then ready_for_binary() end
        parts[#parts + 1] = tostring(piece)
      elseif piece ~= nil then
        error(where .. "reader function must return a string", 0)
      end
      return piece
    end
  end
  if text and string_sub(text, 1, 1) == "\27" then ready_for_binary() end
  local f, err
  if nrest == 1 or env ~= nil then
    f, err = load(chunk, chunkname, mode, env)
  else
    f, err = load(chunk, chunkname, mode)
  end
  if not f then return nil, err end
  if parts then text = table_concat(parts) end
  -- (a binary chunk has no text: the front end reads its source by name)
  if text and string_sub(text, 1, 1) == "\27" then text = nil end
  return (run("load", f, opts, text, 5))
end


--- cpm.loadfile([filename [, mode [, env [, opts]]]]): like loadfile,
--- optimized; env and opts as for cpm.load.
function M.loadfile(filename, mode, ...)
  local nrest, env, opts = select("#", ...), ...
  if nrest >= 2 then options("loadfile", opts, 4, 4) end
  if not ffi_ready and type(filename) == "string" then  -- a binary chunk?
    local h = io_open(filename, "rb")
    if h then
      if h:read(1) == "\27" then ready_for_binary() end
      h:close()
    end
  end
  local f, err
  if nrest == 1 or env ~= nil then
    f, err = loadfile(filename, mode, env)
  else
    f, err = loadfile(filename, mode)
  end
  if not f then return nil, err end
  return (run("loadfile", f, opts, nil, 4))
end

return M
