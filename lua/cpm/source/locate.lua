-- Finds the AST node of a live function: reads the chunk's text from
-- what debug.getinfo says its source is, parses it, and picks the one
-- Function node whose signature -- line range, parameter count,
-- vararg-ness, upvalue names in order -- equals the function's.
local grammar = require "cpm.source.grammar"
local ast = require "cpm.source.ast"
local scope = require "cpm.source.scope"

local type, open, getinfo, getupvalue, concat, format, sub, tostring, setmetatable =
  type, io.open, debug.getinfo, debug.getupvalue, table.concat, string.format,
  string.sub, tostring, setmetatable
local jit = rawget(_G, "jit")

-- LuaJIT 2.1.0-beta3's trace compiler now and then produced machine code
-- that crashed (SIGSEGV) while the parser spec ran; interpreted, never.
-- Parsing is a one-time cost per optimized function, so it is not compiled.
if rawget(_G, "jit") then jit.off(true, true) end
local _ENV = nil -- luacheck: ignore

local M = {}

-- Parsed and resolved chunks by their text, kept until the collector
-- takes them: optimizing the functions of one file one after the other
-- parses it once.  Nothing changes a tree once it is resolved.
local parsed = setmetatable({}, { __mode = "v" })

-- source(f) -> text, chunkname | nil, reason
-- The text of the chunk f was loaded from: the file of "@path", the
-- string itself for a chunk loaded from a string.
function M.source(f)
  if type(f) ~= "function" then return nil, "not a function" end
  local info = getinfo(f, "S")
  if info.what == "C" then return nil, "a C function has no source" end
  local src = info.source
  local c = sub(src, 1, 1)
  if c == "@" then
    local h, err = open(sub(src, 2), "rb")
    if not h then return nil, "cannot read source file: " .. tostring(err) end
    local text = h:read("*a")
    h:close()
    if not text then return nil, "cannot read source file " .. sub(src, 2) end
    return text, src
  elseif c == "=" then
    return nil, "no source text for a chunk named " .. sub(src, 2)
  end
  -- loaded from a string: the source is the text, unless it is bytecode
  if sub(src, 1, 1) == "\27" then return nil, "loaded from bytecode" end
  return src, src
end

-- signature(f) -> {linedefined, lastlinedefined, nparams, isvararg,
-- main, upvalues = {names...}}: what a live function tells about itself
function M.signature(f)
  local info = getinfo(f, "Su")
  local ups = {}
  for i = 1, info.nups do ups[i] = getupvalue(f, i) end
  return { linedefined = info.linedefined, lastlinedefined = info.lastlinedefined,
    nparams = info.nparams, isvararg = info.isvararg, main = info.what == "main",
    upvalues = ups }
end

local function describe(s)
  return format("lines %d-%d, %d parameter(s)%s, upvalues (%s)", s.linedefined,
    s.lastlinedefined, s.nparams, s.isvararg and " and ..." or "", concat(s.upvalues, ", "))
end

-- The node's signature as the running VM would report it.
local function node_signature(fn)
  local ups = {}
  for i = 1, #fn.upvalues do ups[i] = fn.upvalues[i].name end
  local last = fn.lastlinedefined
  if fn.main and jit then last = fn.lastline end
  return { linedefined = fn.linedefined, lastlinedefined = last,
    nparams = #fn.params + (fn.is_method and 1 or 0), isvararg = fn.is_vararg,
    main = fn.main or false, upvalues = ups }
end

local function same(a, b)
  if a.linedefined ~= b.linedefined or a.lastlinedefined ~= b.lastlinedefined
      or a.nparams ~= b.nparams or a.isvararg ~= b.isvararg or a.main ~= b.main
      or #a.upvalues ~= #b.upvalues then
    return false
  end
  for i = 1, #a.upvalues do
    if a.upvalues[i] ~= b.upvalues[i] then return false end
  end
  return true
end

-- find(chunk, f) -> Function node | nil, reason
-- chunk is a parsed and resolved (scope.resolve) main Function node.
function M.find(chunk, f)
  local want = M.signature(f)
  local found, count = nil, 0
  local fns = ast.functions(chunk)
  for i = 1, #fns do
    if same(node_signature(fns[i]), want) then found, count = fns[i], count + 1 end
  end
  if count == 1 then return found end
  if count == 0 then
    return nil, "no function of the source matches " .. describe(want)
      .. " (was the source changed after it was loaded?)"
  end
  return nil, count .. " functions of the source match " .. describe(want)
    .. ": cannot tell which one it is"
end

-- locate(f [, text]) -> Function node, chunk node, source text | nil, reason
-- Reads (unless given its text), parses and resolves f's chunk and finds
-- f in it.
function M.locate(f, text)
  local name
  if text then
    if sub(text, 1, 1) == "\27" then return nil, "cpm: loaded from bytecode" end
    name = getinfo(f, "S").source
  else
    text, name = M.source(f)
    if not text then return nil, "cpm: " .. name end
  end
  local chunk = parsed[text]
  if not chunk then
    local err
    chunk, err = grammar.parse(text, name)
    if not chunk then return nil, "cpm: cannot parse the source: " .. err end
    scope.resolve(chunk)
    parsed[text] = chunk
  end
  local node, why = M.find(chunk, f)
  if not node then return nil, "cpm: " .. why end
  return node, chunk, text
end

return M
