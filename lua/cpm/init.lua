-- cpm: automatic algorithmic speed-ups for Lua loops.
-- This file is `require "cpm"`: the public API.  The C part is `cpm.core`
-- (its names starting with an underscore are internal).

-- The C module builds against the Lua 5.1 API for LuaJIT, and would load
-- into plain Lua 5.1 too; cpm's front ends are for Lua 5.4 and LuaJIT only.
if _VERSION ~= "Lua 5.4" and not rawget(_G, "jit") then
  error(("cpm: needs Lua 5.4 or LuaJIT 2.1 (this is %s)"):format(_VERSION), 2)
end

local core = require "cpm.core"

local type, error, pairs, ipairs, tostring, select = type, error, pairs, ipairs, tostring, select
local load, loadfile = load, loadfile
local table_sort, table_concat = table.sort, table.concat
local math_type = math.type

local M = {}

M._VERSION = "0.2.0"

-- the value types, straight from C
for _, name in ipairs { "big", "isbig", "eq", "cmp", "range", "maxbits" } do
  M[name] = core[name]
end
M.vm = core.vm

local LUA54 = core.vm == "Lua 5.4"


local function isinteger(v)
  if math_type then return math_type(v) == "integer" end
  return type(v) == "number" and v == math.floor(v) and v > -2^63 and v < 2^63
end

-- The fields an options table may have: any other is a misspelling.
local OPTION_NAMES = { iters_limit = true, strict = true, frontend = true }

-- Checks the options table of optimize/explain/load/loadfile (argument
-- number argn, default 2, of fname); returns limit, strict, frontend.
-- Raises at level `level` (default 5: the caller of the public function
-- that called run).
local function options(fname, opts, argn, level)
  argn, level = argn or 2, level or 5
  if opts == nil then return nil, false, nil end
  local function bad(why)
    error(("bad argument #%d to '%s' (%s)"):format(argn, fname, why), level)
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
  return limit, strict or false, frontend
end

-- The source front end, loaded on first use (it needs LPeg), or why not.
local source_frontend, source_missing

-- Runs the front end; returns g, report.  text: what f was loaded from
-- (cpm.load), for the source front end.
local function run(fname, f, opts, text, argn)
  if type(f) ~= "function" then
    error(("bad argument #1 to '%s' (function expected, got %s)"):format(
      fname, f == nil and "no value" or type(f)), 3)
  end
  local limit, strict, frontend = options(fname, opts, argn)
  if frontend ~= "source" then
    if LUA54 then return core._optimize54(f, limit, strict) end
    -- LuaJIT: its bytecode front end; a dump it does not recognize (the
    -- whole function refused, with a reason) goes to the source front end
    local g, rep = core._optimizejit(f, limit, strict)
    if not rep.reason or frontend == "bytecode" then return g, rep end
  end
  if not source_frontend and not source_missing then
    local ok, mod = pcall(require, "cpm.source")
    if ok then source_frontend = mod else source_missing = tostring(mod) end
  end
  if not source_frontend then  -- an install without LPeg, say: f keeps working as it is
    if strict then error("cpm: the source front end is not available: " .. source_missing, 3) end
    return f, { reason = "the source front end is not available" }
  end
  return source_frontend.optimize(f, limit, strict, text)
end


--- cpm.optimize(f [, opts]) -> g
function M.optimize(f, opts)
  return (run("optimize", f, opts))
end


--- cpm.explain(f [, opts]) -> text: every loop of f, its line, and
--- whether it is optimized or why not.
function M.explain(f, opts)
  local _, rep = run("explain", f, opts)
  local info = debug.getinfo(f, "S")
  local src = info and info.short_src or "?"
  if #rep == 0 then
    if rep.reason then
      return ("%s:%d: not optimized: %s"):format(src, info.linedefined, rep.reason)
    end
    return "no loops"
  end
  table_sort(rep, function(a, b) return a.line < b.line end)
  local lines = {}
  for i, r in ipairs(rep) do
    lines[i] = ("%s:%d: loop %s"):format(src, r.line,
      r.optimized and "optimized" or ("not optimized: " .. tostring(r.reason)))
  end
  return table_concat(lines, "\n")
end


--- cpm.load(chunk [, chunkname [, mode [, env [, opts]]]]): like load,
--- with every function of the chunk optimized (opts as for cpm.optimize).
--- With opts given, an env of nil means load's default environment.
function M.load(chunk, chunkname, mode, ...)
  local nrest, env, opts = select("#", ...), ...
  if nrest >= 2 then options("load", opts, 5, 4) end
  -- (a binary chunk has no text: the front end reads its source by name)
  local text = type(chunk) == "string" and chunk:sub(1, 1) ~= "\27" and chunk or nil
  local reader = type(chunk) == "function"
  if reader then
    -- read the pieces, for the text; on anything unusual (an error, a
    -- piece that is not a string), load gets the pieces read so far and
    -- then the reader itself, and decides as it always does
    local parts, pending = {}, nil
    while true do
      local r = { pcall(chunk) }
      if r[1] and (r[2] == nil or r[2] == "") then break end
      if not r[1] or type(r[2]) ~= "string" then pending = r break end
      parts[#parts + 1] = r[2]
    end
    if pending then
      local rest, i = chunk, 0
      chunk = function()
        i = i + 1
        if parts[i] then return parts[i] end
        if i == #parts + 1 then
          if not pending[1] then error(pending[2], 0) end
          return pending[2]
        end
        return rest()
      end
    else
      chunk = table_concat(parts)
      if chunk:sub(1, 1) ~= "\27" then text = chunk end
    end
  end
  -- a reader's chunk is named "=(load)" by default, not by its text
  if reader and chunkname == nil then chunkname = "=(load)" end
  local f, err
  if nrest == 1 or env ~= nil then
    f, err = load(chunk, chunkname, mode, env)
  else
    f, err = load(chunk, chunkname, mode)
  end
  if not f then return nil, err end
  return (run("load", f, opts, text, 5))
end


--- cpm.loadfile([filename [, mode [, env [, opts]]]]): like loadfile,
--- optimized; env and opts as for cpm.load.
function M.loadfile(filename, mode, ...)
  local nrest, env, opts = select("#", ...), ...
  if nrest >= 2 then options("loadfile", opts, 4, 4) end
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
