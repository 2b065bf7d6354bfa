-- Code generation of the source front end: the text of a new function in
-- which each planned loop is preceded by its guard call and kept, as
-- written, as the fallback; the chunk around it that recreates f's
-- upvalues, compile-time constants and environment; and loading it.
--
-- Every original line stays on its line: the chunk's own prologue is on
-- line 1, newlines pad it to the line where f starts, and a rewritten loop
-- header keeps the line breaks of the header it replaces, the guard call
-- standing on the line of `do` (where Lua 5.4 puts the loop's FORPREP, and
-- so its "'for' initial value must be a number").
local type, ipairs, tostring, format, rep, sub, byte, find, gsub, concat,
  math_type, load, loadstring, getupvalue, upvaluejoin, setfenv, getfenv, pcall =
  type, ipairs, tostring, string.format, string.rep, string.sub, string.byte,
  string.find, string.gsub, table.concat, math.type, load, rawget(_G, "loadstring"),
  debug.getupvalue, debug.upvaluejoin, rawget(_G, "setfenv"), rawget(_G, "getfenv"), pcall
local jit = rawget(_G, "jit")

-- LuaJIT 2.1.0-beta3's trace compiler crashed inside compiled parser code
-- (see cpm/source/grammar.lua); this runs once per optimized function.
if jit then jit.off(true, true) end
local _ENV = nil -- luacheck: ignore

local M = {}

-- A prefix for generated names that occurs nowhere in the chunk's text, so
-- no generated name can capture or shadow one of the user's.
function M.prefix(text)
  local p, n = "cpm_", 0
  while find(text, p, 1, true) do
    n = n + 1
    p = "cpm" .. n .. "_"
  end
  return p
end

-- A Lua literal for a compile-time constant, on one line; nil when there
-- is none.
local function literal(v)
  local t = type(v)
  if v == nil or t == "boolean" then return tostring(v) end
  if t == "string" then
    return '"' .. gsub(v, "[^%w ]", function(c) return format("\\%03d", byte(c)) end) .. '"'
  end
  if t ~= "number" then return nil end
  if math_type and math_type(v) == "integer" then
    if v == -v and v ~= 0 then return "(-9223372036854775807 - 1)" end
    return format("%d", v)
  end
  if v ~= v then return nil end
  if v == 1 / 0 then return "1e9999" end
  if v == -1 / 0 then return "(-1e9999)" end
  return format("%a", v)
end

-- Line breaks between two positions of the text, as newlines.
local function breaks(ctx, a, b)
  return rep("\n", ctx.lineof(b) - ctx.lineof(a))
end

-- The replacement text of one planned loop (the loop node covers
-- `for ... end`).  plan = { id, inputs = { text... }, outputs = { text... } }
function M.loop(ctx, loop, plan, dopos)
  local P, text = ctx.prefix, ctx.text
  local G = P .. "G[" .. plan.id .. "]"
  local outs = {}
  for i = 1, #plan.outputs do outs[i] = P .. "o" .. i end
  local okv = P .. "ok" .. (#outs > 0 and ", " .. concat(outs, ", ") or "")
  local ins = #plan.inputs > 0 and ", " .. concat(plan.inputs, ", ") or ""
  local set = #outs > 0 and concat(plan.outputs, ", ") .. " = " .. concat(outs, ", ") or ""
  local body = sub(text, dopos + 2, loop.endpos)  -- after `do`, through `end`
  local r
  if loop.tag == "Fornum" then
    local s, l, st = P .. "s", P .. "l", P .. "t"
    local parts = { "do", breaks(ctx, loop.pos, loop.start.pos),
      " local ", s, ", ", l, ", ", st, " = ",
      sub(text, loop.start.pos, loop.start.endpos),
      breaks(ctx, loop.start.endpos, loop.limit.pos), ", ",
      sub(text, loop.limit.pos, loop.limit.endpos) }
    local last = loop.limit
    if loop.step then
      parts[#parts + 1] = breaks(ctx, loop.limit.endpos, loop.step.pos)
      parts[#parts + 1] = ", " .. sub(text, loop.step.pos, loop.step.endpos)
      last = loop.step
    else
      parts[#parts + 1] = ", 1"
    end
    parts[#parts + 1] = breaks(ctx, last.endpos, dopos)
    parts[#parts + 1] = format(" local %s = %s(%s, %s, %s%s) if %s then %s else for %s = %s, %s%s do",
      okv, G, s, l, st, ins, P .. "ok", set, loop.var.name, s, l,
      loop.step and ", " .. st or "")
    r = concat(parts)
  else
    local f, s, c, x = P .. "f", P .. "s", P .. "c", P .. "x"
    local e1, en = loop.exprs[1], loop.exprs[#loop.exprs]
    local vars = ctx.vm54 and (f .. ", " .. s .. ", " .. c .. ", " .. x) or (f .. ", " .. s .. ", " .. c)
    local call = format("%s(%s, %s, %s%s)", G, f, s, ctx.vm54 and x or c, ins)
    r = concat { "do", breaks(ctx, loop.pos, e1.pos), " local ", vars, " = ",
      sub(text, e1.pos, en.endpos), breaks(ctx, en.endpos, dopos),
      ctx.vm54  -- a to-be-closed value would be closed by the loop: not by the guard
        and format(" local %s if %s == nil then %s = %s end", okv, x, okv, call)
        or format(" local %s = %s", okv, call),
      format(" if %s then %s else for %s in %s do", P .. "ok", set, loop.names[1].name, vars) }
  end
  return r .. body .. " end end"
end

-- The function's text with the replacements { pos, endpos, text } (sorted,
-- disjoint) applied, as a function expression.
function M.func(ctx, node, repl)
  local text = ctx.text
  local out, at = {}, node.pos
  for _, r in ipairs(repl) do
    out[#out + 1] = sub(text, at, r.pos - 1)
    out[#out + 1] = r.text
    at = r.endpos + 1
  end
  out[#out + 1] = sub(text, at, node.main and #text or node.endpos)
  local body = concat(out)
  if node.main then
    -- a first line starting with # is skipped by the VMs' loaders only
    if sub(body, 1, 1) == "#" then body = gsub(body, "^[^\r\n]*", "", 1) end
    if sub(body, 1, 3) == "\239\187\191" then body = sub(body, 4) end
    return "function(...) " .. body .. "\nend"
  end
  if sub(body, 1, 1) ~= "(" then return body end  -- already `function (...)`
  if node.is_method then
    local more = (#node.params > 0 or node.is_vararg) and "self, " or "self"
    return "function(" .. more .. sub(body, 2)
  end
  return "function" .. body
end

-- The chunk around a function text: its prologue declares the generated
-- names (from the chunk's arguments), f's upvalues by name and the Lua
-- 5.4 compile-time constants f reads from enclosing functions; then
-- padding up to the line where f starts.  Returns the text or nil, reason.
function M.chunk(ctx, node, ftext, upnames, consts)
  local P = ctx.prefix
  local pro = { "local ", P, "G, ", P, "F = ... " }
  if #upnames > 0 then
    for i, n in ipairs(upnames) do
      if not find(n, "^[%a_][%w_]*$") then return nil, "upvalue without a name" end
      pro[#pro + 1] = (i == 1 and "local " or ", ") .. n
    end
    pro[#pro + 1] = " "
  end
  for _, c in ipairs(consts) do
    local lit = literal(c.value)
    if not lit then return nil, "a compile-time constant it cannot write" end
    pro[#pro + 1] = format("local %s <const> = %s ", c.name, lit)
  end
  local line = node.main and 1 or node.line
  return concat(pro) .. rep("\n", line - 1) .. "return " .. ftext
end

-- The names of f's upvalues, in order.
function M.upvalue_names(f)
  local names = {}
  for i = 1, 255 do
    local n = getupvalue(f, i)
    if n == nil then break end
    names[i] = n
  end
  return names
end

-- load(chunktext, chunkname, f, guards) -> g | nil, reason
-- Loads the chunk under f's own chunk name, gives g f's upvalues (joined
-- by name: a function's upvalues have distinct names) and environment.
function M.load(ctx, chunktext, chunkname, f, guards)
  local compiled, err = (loadstring or load)(chunktext, chunkname)
  if not compiled then return nil, "generated code does not load: " .. tostring(err) end
  local ok, g = pcall(compiled, guards, getfenv)
  if not ok or type(g) ~= "function" then return nil, "generated code did not run" end
  local index = {}
  for i, n in ipairs(M.upvalue_names(f)) do index[n] = i end
  local own = { [ctx.prefix .. "G"] = true, [ctx.prefix .. "F"] = true }
  for i = 1, 255 do
    local n = getupvalue(g, i)
    if n == nil then break end
    if not own[n] then
      if not index[n] then return nil, "upvalue " .. n .. " of the generated code is not f's" end
      upvaluejoin(g, i, f, index[n])
    end
  end
  if setfenv then setfenv(g, getfenv(f)) end
  return g
end

return M
