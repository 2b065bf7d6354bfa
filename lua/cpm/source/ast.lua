-- The AST of the source front end, and small helpers over it: visiting
-- children in source order, listing functions, comparing trees, printing
-- a tree back to Lua source.
--
-- Every node is a table with
--   tag     its kind (below)
--   pos     byte position of its first character in the chunk text
--   endpos  byte position of its last character: src:sub(pos, endpos) is
--           exactly the node's text (a Block may be empty: endpos = pos - 1)
--   line    line of pos (1-based; \n, \r, \r\n and \n\r end a line)
--
-- Function   params = {Id...}, is_vararg, is_method (function a:m() adds
--            an implicit self), body = Block, linedefined, lastlinedefined
--            (as debug.getinfo reports them).  The main chunk is a Function
--            with main = true, is_vararg = true, linedefined = 0,
--            lastlinedefined = 0 (Lua 5.4's values) and lastline, the line
--            at the end of the text (what LuaJIT reports as lastlinedefined).
--            In a FuncStat or LocalFunction the Function node covers
--            "(params) body end"; as an expression it starts at `function`.
-- Block      body = {statement...}
-- Statements:
--   Local        names = {Id...} (Id.attrib = "const" | "close" | nil),
--                exprs = {expr...} or nil (`local y`: no values)
--   LocalFunction name = Id, func = Function
--   FuncStat     name = Id or Index chain (a.b.c), method = string | nil,
--                func = Function
--   Set          targets = {Id | Index...}, exprs = {expr...}
--   CallStat     call = Call | Invoke
--   Do           body        While  cond, body      Repeat  body, cond
--   If           conds = {expr...}, blocks = {Block...}, orelse = Block | nil
--   Fornum       var = Id, start, limit, step (nil when absent), body
--   Forin        names = {Id...}, exprs = {expr...}, body
--   Return       exprs = {expr...}
--   Break        Goto  label = string      Label  label = string
--   Semi         an empty statement ";"
-- Expressions:
--   Nil True False Dots
--   Number   text = the numeral as written (no conversion: 1LL, 0x1p4, 2i)
--   String   raw = as written with quotes/brackets, value = decoded bytes
--   Table    fields = {ListField{value} | NameField{name, value}
--                      | ExpField{key, value}...}
--   Binop    op (as written: "+", "..", "and", "//", ...), lhs, rhs
--   Unop     op ("-", "not", "#", "~"), operand
--   Paren    expr: a parenthesized expression, kept because it truncates
--            calls and varargs to one value
--   Id       name; a use of a name (declarations are Id nodes too)
--   Index    obj, key (expr; a String node when written a.name, dot = true)
--   Call     func, args = {expr...}, style = "paren" | "string" | "table"
--   Invoke   obj, method = string, args, style
--
-- cpm/source/scope.lua adds, on Id nodes, decl (the declaration referred
-- to) and upvalue (true when that declaration belongs to an enclosing
-- function); on Function nodes, upvalues (in the VM's numbering).
local type, pairs, ipairs, tostring, format, concat =
  type, pairs, ipairs, tostring, string.format, table.concat

-- LuaJIT 2.1.0-beta3's trace compiler now and then produced machine code
-- that crashed (SIGSEGV) while the parser spec ran; interpreted, never.
-- Parsing is a one-time cost per optimized function, so it is not compiled.
if rawget(_G, "jit") then jit.off(true, true) end
local string_sub = string.sub
local _ENV = nil -- luacheck: ignore

local M = {}

-- Child fields of each tag in source order; a field name in braces is a list.
local children = {
  Function = { "{params", "body" },
  Block = { "{body" },
  Local = { "{names", "{exprs" },
  LocalFunction = { "name", "func" },
  FuncStat = { "name", "func" },
  Set = { "{targets", "{exprs" },
  CallStat = { "call" },
  Do = { "body" },
  While = { "cond", "body" },
  Repeat = { "body", "cond" },
  Fornum = { "var", "start", "limit", "step", "body" },
  Forin = { "{names", "{exprs", "body" },
  Return = { "{exprs" },
  Table = { "{fields" },
  ListField = { "value" },
  NameField = { "value" },
  ExpField = { "key", "value" },
  Binop = { "lhs", "rhs" },
  Unop = { "operand" },
  Paren = { "expr" },
  Index = { "obj", "key" },
  Call = { "func", "{args" },
  Invoke = { "obj", "{args" },
}

-- children(node) -> list of the node's child nodes in source order
function M.children(node)
  local out = {}
  if node.tag == "If" then
    for i = 1, #node.conds do
      out[#out + 1] = node.conds[i]
      out[#out + 1] = node.blocks[i]
    end
    out[#out + 1] = node.orelse
    return out
  end
  local fields = children[node.tag]
  if not fields then return out end
  for _, f in ipairs(fields) do
    if string_sub(f, 1, 1) == "{" then
      local l = node[string_sub(f, 2)]
      if l then for i = 1, #l do out[#out + 1] = l[i] end end
    elseif node[f] then
      out[#out + 1] = node[f]
    end
  end
  return out
end

-- walk(node, pre [, post]): calls pre(n, parent) before and post(n, parent)
-- after the children of every node below and including node, in source
-- order.  pre returning false skips the node's children.
function M.walk(node, pre, post, parent)
  if pre and pre(node, parent) == false then return end
  local kids = M.children(node)
  for i = 1, #kids do M.walk(kids[i], pre, post, node) end
  if post then post(node, parent) end
end

-- functions(root) -> every Function node under root (root included), in
-- source order of their start
function M.functions(root)
  local out = {}
  M.walk(root, function(n) if n.tag == "Function" then out[#out + 1] = n end end)
  return out
end

-- Keys that depend on where a node is, not on what it is, or that later
-- passes add; equal ignores them.
local ignored = { pos = true, endpos = true, line = true, linedefined = true,
  lastlinedefined = true, lastline = true, decl = true, upvalue = true,
  upvalues = true, scope = true, write = true, decls = true }
M.position_keys = ignored

-- equal(a, b) -> true when the trees are the same modulo positions and
-- scope annotations
function M.equal(a, b)
  if type(a) ~= "table" or type(b) ~= "table" then return a == b end
  for k, v in pairs(a) do
    if not ignored[k] and not M.equal(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if not ignored[k] and a[k] == nil then return false end
  end
  return true
end

---------------------------------------------------------------- printing

local out_stat, out_block

local function exp(n)
  local t = n.tag
  if t == "Nil" then return "nil"
  elseif t == "True" then return "true"
  elseif t == "False" then return "false"
  elseif t == "Dots" then return "..."
  elseif t == "Number" then return n.text
  elseif t == "String" then return n.raw
  elseif t == "Id" then return n.name
  elseif t == "Paren" then return "(" .. exp(n.expr) .. ")"
  -- spaces keep "- -x" from becoming a comment and "a.b..c" unambiguous
  elseif t == "Binop" then return exp(n.lhs) .. " " .. n.op .. " " .. exp(n.rhs)
  elseif t == "Unop" then return n.op .. " " .. exp(n.operand)
  elseif t == "Index" then
    if n.dot then return exp(n.obj) .. "." .. n.key.value end
    -- spaces keep a long-string key from reading as "[[" or "]]"
    return exp(n.obj) .. "[ " .. exp(n.key) .. " ]"
  elseif t == "Call" or t == "Invoke" then
    local head = t == "Call" and exp(n.func) or exp(n.obj) .. ":" .. n.method
    if n.style == "paren" then
      local a = {}
      for i = 1, #n.args do a[i] = exp(n.args[i]) end
      return head .. "(" .. concat(a, ", ") .. ")"
    end
    return head .. " " .. exp(n.args[1])
  elseif t == "Table" then
    local f = {}
    for i, fl in ipairs(n.fields) do
      if fl.tag == "ListField" then f[i] = exp(fl.value)
      elseif fl.tag == "NameField" then f[i] = fl.name .. " = " .. exp(fl.value)
      else f[i] = "[ " .. exp(fl.key) .. " ] = " .. exp(fl.value) end
    end
    return "{ " .. concat(f, ", ") .. " }"
  elseif t == "Function" then
    return "function" .. M.funcbody(n, "")
  end
  return "--[[?" .. tostring(t) .. "]]"
end

local function explist(l)
  local a = {}
  for i = 1, #l do a[i] = exp(l[i]) end
  return concat(a, ", ")
end

function M.funcbody(f, ind)
  local p = {}
  for i = 1, #f.params do p[i] = f.params[i].name end
  if f.is_vararg then p[#p + 1] = "..." end
  return "(" .. concat(p, ", ") .. ")\n" .. out_block(f.body, ind .. "  ") .. ind .. "end"
end

function out_stat(s, ind)
  local t = s.tag
  if t == "Local" then
    local a = {}
    for i, id in ipairs(s.names) do
      a[i] = id.name .. (id.attrib and " <" .. id.attrib .. ">" or "")
    end
    local r = "local " .. concat(a, ", ")
    if s.exprs and #s.exprs > 0 then r = r .. " = " .. explist(s.exprs) end
    return r
  elseif t == "LocalFunction" then
    return "local function " .. s.name.name .. M.funcbody(s.func, ind)
  elseif t == "FuncStat" then
    return "function " .. exp(s.name) .. (s.method and ":" .. s.method or "")
      .. M.funcbody(s.func, ind)
  elseif t == "Set" then return explist(s.targets) .. " = " .. explist(s.exprs)
  elseif t == "CallStat" then return exp(s.call)
  elseif t == "Do" then return "do\n" .. out_block(s.body, ind .. "  ") .. ind .. "end"
  elseif t == "While" then
    return "while " .. exp(s.cond) .. " do\n" .. out_block(s.body, ind .. "  ") .. ind .. "end"
  elseif t == "Repeat" then
    return "repeat\n" .. out_block(s.body, ind .. "  ") .. ind .. "until " .. exp(s.cond)
  elseif t == "If" then
    local r = {}
    for i = 1, #s.conds do
      r[#r + 1] = (i == 1 and "if " or ind .. "elseif ") .. exp(s.conds[i]) .. " then\n"
      r[#r + 1] = out_block(s.blocks[i], ind .. "  ")
    end
    if s.orelse then r[#r + 1] = ind .. "else\n" .. out_block(s.orelse, ind .. "  ") end
    return concat(r) .. ind .. "end"
  elseif t == "Fornum" then
    return "for " .. s.var.name .. " = " .. exp(s.start) .. ", " .. exp(s.limit)
      .. (s.step and ", " .. exp(s.step) or "") .. " do\n"
      .. out_block(s.body, ind .. "  ") .. ind .. "end"
  elseif t == "Forin" then
    local a = {}
    for i, id in ipairs(s.names) do a[i] = id.name end
    return "for " .. concat(a, ", ") .. " in " .. explist(s.exprs) .. " do\n"
      .. out_block(s.body, ind .. "  ") .. ind .. "end"
  elseif t == "Return" then
    return #s.exprs > 0 and "return " .. explist(s.exprs) or "return"
  elseif t == "Break" then return "break"
  elseif t == "Goto" then return "goto " .. s.label
  elseif t == "Label" then return "::" .. s.label .. "::"
  elseif t == "Semi" then return ";"
  end
  return "--[[?" .. tostring(t) .. "]]"
end

function out_block(b, ind)
  local r = {}
  for i, s in ipairs(b.body) do r[i] = ind .. out_stat(s, ind) .. "\n" end
  return concat(r)
end

-- tosource(node) -> Lua source text for a chunk (main Function), a Block,
-- a statement or an expression.  Parsing the text gives back an equal tree
-- (modulo positions); layout and comments are not kept.
function M.tosource(n)
  if n.tag == "Function" and n.main then return out_block(n.body, "") end
  if n.tag == "Block" then return out_block(n, "") end
  if M.is_statement(n) then return out_stat(n, "") end
  return exp(n)
end

local statements = { Local = true, LocalFunction = true, FuncStat = true, Set = true,
  CallStat = true, Do = true, While = true, Repeat = true, If = true, Fornum = true,
  Forin = true, Return = true, Break = true, Goto = true, Label = true, Semi = true }
-- is_statement(node) -> true for statement nodes
function M.is_statement(n) return statements[n.tag] == true end

-- dump(node) -> a readable multi-line rendering, for debugging
function M.dump(n, ind)
  ind = ind or ""
  if type(n) ~= "table" then return format("%q", n) end
  local keys = {}
  for k in pairs(n) do
    if k ~= "tag" and k ~= "pos" and k ~= "endpos" and k ~= "line" and k ~= "decl"
        and k ~= "upvalues" then keys[#keys + 1] = k end
  end
  local r = { (n.tag or "") .. (n.pos and format("@%d-%d", n.pos, n.endpos) or "") .. " {" }
  for _, k in ipairs(keys) do
    r[#r + 1] = ind .. "  " .. tostring(k) .. " = " .. M.dump(n[k], ind .. "  ")
  end
  return concat(r, "\n") .. "\n" .. ind .. "}"
end

return M
