-- cpm: automatic algorithmic speed-ups for Lua loops.
-- This file is `require "cpm"`: the public API.  The C part is `cpm.core`
-- (its names starting with an underscore are internal).
local core = require "cpm.core"

local type, error, pairs, ipairs, tostring = type, error, pairs, ipairs, tostring
local load, loadfile = load, loadfile
local table_sort, table_concat = table.sort, table.concat
local select, unpack_args = select, table.unpack or unpack
local math_type = math.type

local M = {}

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

-- Checks the options table of optimize/explain; returns limit, strict, frontend.
local function options(fname, opts)
  if opts == nil then return nil, false, nil end
  if type(opts) ~= "table" then
    error(("bad argument #2 to '%s' (table expected, got %s)"):format(fname, type(opts)), 4)
  end
  local limit, strict, frontend = opts.iters_limit, opts.strict, opts.frontend
  if limit ~= nil and (not isinteger(limit) or limit < 2) then
    error(("bad argument #2 to '%s' (iters_limit must be an integer >= 2)"):format(fname), 4)
  end
  if strict ~= nil and type(strict) ~= "boolean" then
    error(("bad argument #2 to '%s' (strict must be a boolean)"):format(fname), 4)
  end
  if frontend ~= nil and frontend ~= "bytecode" and frontend ~= "source" then
    error(("bad argument #2 to '%s' (frontend must be \"bytecode\" or \"source\")"):format(fname), 4)
  end
  if frontend == "bytecode" and not LUA54 then
    error(("bad argument #2 to '%s' (the bytecode front end needs Lua 5.4)"):format(fname), 4)
  end
  return limit, strict or false, frontend
end

-- The source front end, loaded on first use (it needs LPeg), or why not.
local source_frontend, source_missing

-- Runs the front end; returns g, report.  text: what f was loaded from
-- (cpm.load), for the source front end.
local function run(fname, f, opts, text)
  if type(f) ~= "function" then
    error(("bad argument #1 to '%s' (function expected, got %s)"):format(
      fname, f == nil and "no value" or type(f)), 3)
  end
  local limit, strict, frontend = options(fname, opts)
  if LUA54 and frontend ~= "source" then
    return core._optimize54(f, limit, strict)
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


--- cpm.load(chunk [, chunkname [, mode [, env]]]): like load, with every
--- function of the chunk optimized.  Raises, for a bad argument, load's
--- own message at the caller's position; returns nil, message where load
--- does.
function M.load(...)
  local chunk, chunkname, mode = ...
  local t = type(chunk)
  if t ~= "string" and t ~= "number" and t ~= "function" then
    error(("bad argument #1 to 'load' (function expected, got %s)"):format(
      select("#", ...) == 0 and "no value" or t), 2)
  end
  for i = 2, 3 do
    local v = i == 2 and chunkname or mode
    if v ~= nil and type(v) ~= "string" and type(v) ~= "number" then
      error(("bad argument #%d to 'load' (string expected, got %s)"):format(i, type(v)), 2)
    end
  end
  local text, args = nil, { ... }
  if t == "string" then
    text = chunk
  elseif t == "function" then
    -- load pulls the pieces as it always does (it stops at a syntax error,
    -- an error of the reader, nil or ""); the text is what it read
    local reader, parts = chunk, {}
    local where = ""  -- load names its caller in this message
    local info = debug.getinfo(2, "Sl")
    if info and info.currentline > 0 then
      where = ("%s:%d: "):format(info.short_src, info.currentline)
    end
    args[1] = function()
      local piece = reader()
      local pt = type(piece)
      if pt == "string" or pt == "number" then
        parts[#parts + 1] = tostring(piece)
      elseif piece ~= nil then
        error(where .. "reader function must return a string", 0)
      end
      return piece
    end
    local f, err = load(unpack_args(args, 1, select("#", ...)))
    if not f then return nil, err end
    text = table_concat(parts)
    return (run("load", f, nil, text:sub(1, 1) ~= "\27" and text or nil))
  end
  local f, err = load(...)
  if not f then return nil, err end
  -- (a binary chunk has no text: the front end reads its source by name)
  if text and text:sub(1, 1) == "\27" then text = nil end
  return (run("load", f, nil, text))
end


--- cpm.loadfile([filename [, mode [, env]]]): like loadfile, optimized.
function M.loadfile(...)
  local f, err = loadfile(...)
  if not f then return nil, err end
  return M.optimize(f)
end

return M
