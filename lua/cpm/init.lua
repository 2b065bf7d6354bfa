-- cpm: automatic algorithmic speed-ups for Lua loops.
-- This file is `require "cpm"`: the public API.  The C part is `cpm.core`
-- (its names starting with an underscore are internal).
local core = require "cpm.core"

local type, error, pairs, ipairs, tostring = type, error, pairs, ipairs, tostring
local load, loadfile = load, loadfile
local table_sort, table_concat = table.sort, table.concat
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

-- Functions the bytecode front end made share, as an upvalue, their
-- chunk's hook table; 'made54' maps each such table to the report of the
-- optimization that made it.  Optimizing or explaining such a function
-- again gives it back as it is, with the report of its own loops (its
-- loops' code now contains the guard calls, which no plan would accept).
local made54 = setmetatable({}, { __mode = "k" })

local function made54_report(f)
  for i = 1, 255 do
    local n, v = debug.getupvalue(f, i)
    if n == nil then return nil end
    local rep = made54[v]
    if rep then
      local info, own = debug.getinfo(f, "S"), {}
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
local function run(fname, f, opts, text)
  if type(f) ~= "function" then
    error(("bad argument #1 to '%s' (function expected, got %s)"):format(
      fname, f == nil and "no value" or type(f)), 3)
  end
  local limit, strict, frontend = options(fname, opts)
  if LUA54 and frontend ~= "source" then
    local again, src = made54_report(f)
    if again then
      for _, e in ipairs(again) do
        if strict and not e.optimized then
          error(("cpm: %s:%d: %s"):format(src, e.line, e.reason), 0)
        end
      end
      return f, again
    end
    local g, rep, hooks = core._optimize54(f, limit, strict)
    if hooks then made54[hooks] = rep end
    return g, rep
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
--- function of the chunk optimized.
function M.load(chunk, ...)
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
      local reader, i = chunk, 0
      chunk = function()
        i = i + 1
        if parts[i] then return parts[i] end
        if i == #parts + 1 then
          if not pending[1] then error(pending[2], 0) end
          return pending[2]
        end
        return reader()
      end
    else
      chunk = table_concat(parts)
      if chunk:sub(1, 1) ~= "\27" then text = chunk end
    end
  end
  local f, err
  if reader and (...) == nil then
    -- a reader's chunk is named "=(load)" by default, not by its text
    f, err = load(chunk, reader and "=(load)" or nil, select(2, ...))
  else
    f, err = load(chunk, ...)
  end
  if not f then return nil, err end
  return (run("load", f, nil, text))
end


--- cpm.loadfile([filename [, mode [, env]]]): like loadfile, optimized.
function M.loadfile(...)
  local f, err = loadfile(...)
  if not f then return nil, err end
  return M.optimize(f)
end

return M
