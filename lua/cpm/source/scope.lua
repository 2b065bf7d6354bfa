-- The scope pass of the source front end: resolves every name of a parsed
-- chunk to the declaration it refers to, and numbers each function's
-- upvalues the way the VM does, so a live function can be matched with
-- its node (cpm/source/locate.lua) and the lowering knows which variables
-- a loop reads, writes and shares with enclosing functions.
--
-- Both VMs give a function its upvalues in order of first reference while
-- the parser reads the function's text, a reference from a nested
-- function counting at the point it is read.  Lua 5.4 differs from LuaJIT
-- in two ways: a global name is a reference to _ENV (an upvalue of the
-- main chunk, its upvalue 1), and a `<const>` local whose value is a
-- compile-time constant is no variable at all (no upvalue, no register).
local type, pcall, load, loadstring, setfenv, setmetatable, version, jit =
  type, pcall, load, rawget(_G, "loadstring"), rawget(_G, "setfenv"),
  setmetatable, _VERSION, rawget(_G, "jit")
local sub = string.sub
local mathtype, tointeger = math.type, math.tointeger

-- LuaJIT 2.1.0-beta3's trace compiler now and then produced machine code
-- that crashed (SIGSEGV) while the parser spec ran; interpreted, never.
-- Parsing is a one-time cost per optimized function, so it is not compiled.
if rawget(_G, "jit") then jit.off(true, true) end
local _ENV = nil -- luacheck: ignore

local M = {}

-- Lua 5.4 operators that LuaJIT's parser cannot read, for folding <const>
-- initializers as lcode.c does; nil on LuaJIT.
local fold_ops = version == "Lua 5.4" and load([[
  return {
    ["+"] = function(a, b) return a + b end, ["-"] = function(a, b) return a - b end,
    ["*"] = function(a, b) return a * b end, ["/"] = function(a, b) return a / b end,
    ["%"] = function(a, b) return a % b end, ["^"] = function(a, b) return a ^ b end,
    ["//"] = function(a, b) return a // b end, ["&"] = function(a, b) return a & b end,
    ["|"] = function(a, b) return a | b end, ["~"] = function(a, b) return a ~ b end,
    ["<<"] = function(a, b) return a << b end, [">>"] = function(a, b) return a >> b end,
    bnot = function(a) return ~a end, unm = function(a) return -a end,
  }]])() or nil

local bitwise = { ["&"] = true, ["|"] = true, ["~"] = true, ["<<"] = true, [">>"] = true }
local division = { ["/"] = true, ["//"] = true, ["%"] = true }

-- The value the running VM's own compiler gives a literal (a Number or
-- String node), as (true, value), or false when its text is no literal to
-- the VM.  Values never come from the parser's decoding: a lexer slip (a
-- line break read otherwise, an escape) could otherwise put a constant the
-- function does not have into a plan, and the fingerprint compares the
-- compiled functions, not what the lowering derived from the text.  The
-- literal's text alone is compiled, in an empty environment; the result
-- is kept per node (weak keys: the nodes live as long as their tree).
local literals = setmetatable({}, { __mode = "k" })
local function compile_literal(text)
  local f
  if loadstring then
    f = loadstring("return " .. text, "=literal")
    if f then setfenv(f, {}) end
  else
    f = load("return " .. text, "=literal", "t", {})
  end
  if not f then return false end
  local ok, v = pcall(f)
  if not ok then return false end
  return true, v
end
function M.literal(e)
  local r = literals[e]
  if r == nil then
    local text = e.tag == "Number" and e.text or e.raw
    local q = sub(text, 1, 1)
    if e.tag == "String" and q ~= '"' and q ~= "'" and q ~= "[" then
      r = { true, text }  -- the key of t.name: the name itself, never decoded
    else
      r = { compile_literal(text) }
    end
    literals[e] = r
  end
  return r[1], r[2]
end

-- The value of a compile-time constant expression under lcode.c's rules,
-- as (true, value), or false.  Only numbers fold through operators, never
-- into NaN or a zero float; division by zero and bitwise operations on
-- non-integers do not fold; `not` folds anything constant; `a and b` is
-- b when a is a truthy constant, `a or b` is b when a is nil or false.
local constant
local function numeric(e)
  local ok, v = constant(e)
  if ok and (mathtype(v) == "integer" or mathtype(v) == "float") then return true, v end
  return false
end
local function folded(v)
  if mathtype(v) == "float" and (v ~= v or v == 0) then return false end
  return true, v
end
function constant(e)
  local t = e.tag
  if t == "Nil" then return true, nil
  elseif t == "True" then return true, true
  elseif t == "False" then return true, false
  elseif t == "String" then
    local ok, v = M.literal(e)
    if ok and type(v) == "string" then return true, v end
    return false
  elseif t == "Number" then
    local ok, v = M.literal(e)
    if ok and type(v) == "number" then return true, v end
    return false
  elseif t == "Paren" then return constant(e.expr)
  elseif t == "Id" then
    local d = e.decl
    if d and d.ctc then return true, d.value end
    return false
  elseif t == "Unop" then
    if e.op == "not" then
      local ok, v = constant(e.operand)
      if ok then return true, not v end
      return false
    end
    if not fold_ops or (e.op ~= "-" and e.op ~= "~") then return false end
    local ok, v = numeric(e.operand)
    if not ok then return false end
    if e.op == "~" then
      v = tointeger(v)
      if not v then return false end
      return folded(fold_ops.bnot(v))
    end
    return folded(fold_ops.unm(v))
  elseif t == "Binop" then
    local op = e.op
    if op == "and" or op == "or" then
      local ok, a = constant(e.lhs)
      if not ok or (op == "and") ~= (a ~= nil and a ~= false) then return false end
      return constant(e.rhs)
    end
    if not fold_ops or not fold_ops[op] then return false end
    local ok1, a = numeric(e.lhs)
    local ok2, b = numeric(e.rhs)
    if not (ok1 and ok2) then return false end
    if bitwise[op] then
      a, b = tointeger(a), tointeger(b)
      if not (a and b) then return false end
    elseif division[op] and b == 0 then
      return false
    end
    local ok, v = pcall(fold_ops[op], a, b)
    if not ok then return false end
    return folded(v)
  end
  return false
end

---------------------------------------------------------------- resolution

-- A function being resolved: its node, the enclosing one, the stack of
-- open blocks (each a list of declarations in order), its upvalues by name.
-- r is the pass's state shared by all functions: vm54, globals.
local function open_function(node, parent, r)
  node.upvalues, node.decls = {}, {}
  return { node = node, parent = parent, blocks = {}, upmap = {}, r = r }
end

local function declare(fs, kind, id, scope)
  local d = { kind = kind, name = id and id.name or "self", node = id,
    func = fs.node, scope = scope, attrib = id and id.attrib or nil }
  local blk = fs.blocks[#fs.blocks]
  blk[#blk + 1] = d
  fs.node.decls[#fs.node.decls + 1] = d
  if id then id.decl, id.upvalue = d, false end
  return d
end

local function lookup(fs, name)
  local blocks = fs.blocks
  for b = #blocks, 1, -1 do
    local blk = blocks[b]
    for i = #blk, 1, -1 do
      if blk[i].name == name then return blk[i] end
    end
  end
  local u = fs.upmap[name]
  if u then return u end
  if not fs.parent then return nil end
  local d = lookup(fs.parent, name)
  if d == nil or d.ctc then return d end
  fs.upmap[name] = d
  local ups = fs.node.upvalues
  ups[#ups + 1] = { name = name, decl = d }
  d.captured = true
  return d
end

local function use(fs, id)
  local d = lookup(fs, id.name)
  if d then
    id.decl, id.upvalue = d, d.func ~= fs.node and not d.ctc
    return
  end
  if fs.r.vm54 then lookup(fs, "_ENV") end
  d = fs.r.globals[id.name]
  if not d then
    d = { kind = "global", name = id.name }
    fs.r.globals[id.name] = d
  end
  id.decl, id.upvalue = d, false
end

local exp, block_body, func

local function explist(fs, l)
  if l then for i = 1, #l do exp(fs, l[i]) end end
end

function exp(fs, e)
  local t = e.tag
  if t == "Id" then use(fs, e)
  elseif t == "Index" then exp(fs, e.obj); exp(fs, e.key)
  elseif t == "Call" then exp(fs, e.func); explist(fs, e.args)
  elseif t == "Invoke" then exp(fs, e.obj); explist(fs, e.args)
  elseif t == "Binop" then exp(fs, e.lhs); exp(fs, e.rhs)
  elseif t == "Unop" then exp(fs, e.operand)
  elseif t == "Paren" then exp(fs, e.expr)
  elseif t == "Function" then func(fs, e)
  elseif t == "Table" then
    for i = 1, #e.fields do
      local f = e.fields[i]
      if f.key then exp(fs, f.key) end
      exp(fs, f.value)
    end
  end
end

local function stat(fs, s, scope)
  local t = s.tag
  if t == "Local" then
    explist(fs, s.exprs)
    local n = #s.names
    for i = 1, n do
      local d = declare(fs, "local", s.names[i], scope)
      -- lparser.c's localstat: only the last name can be a compile-time
      -- constant, and only when names and values pair one to one
      if i == n and fs.r.vm54 and d.attrib == "const" and s.exprs and #s.exprs == n then
        local ok, v = constant(s.exprs[n])
        if ok then d.ctc, d.value = true, v end
      end
    end
  elseif t == "LocalFunction" then
    declare(fs, "local", s.name, scope)
    func(fs, s.func)
  elseif t == "FuncStat" then
    exp(fs, s.name)
    func(fs, s.func)
  elseif t == "Set" then
    for i = 1, #s.targets do
      local target = s.targets[i]
      exp(fs, target)
      if target.tag == "Id" then
        target.write = true
        target.decl.assigned = true
      end
    end
    explist(fs, s.exprs)
  elseif t == "CallStat" then exp(fs, s.call)
  elseif t == "Do" then block_body(fs, s.body)
  elseif t == "While" then exp(fs, s.cond); block_body(fs, s.body)
  elseif t == "Repeat" then block_body(fs, s.body, nil, s.cond)
  elseif t == "If" then
    for i = 1, #s.conds do
      exp(fs, s.conds[i])
      block_body(fs, s.blocks[i])
    end
    if s.orelse then block_body(fs, s.orelse) end
  elseif t == "Fornum" then
    exp(fs, s.start); exp(fs, s.limit)
    if s.step then exp(fs, s.step) end
    block_body(fs, s.body, function(sc) declare(fs, "for", s.var, sc) end)
  elseif t == "Forin" then
    explist(fs, s.exprs)
    block_body(fs, s.body, function(sc)
      for i = 1, #s.names do declare(fs, "for", s.names[i], sc) end
    end)
  elseif t == "Return" then explist(fs, s.exprs)
  end
end

-- Resolves a block in a new scope; pre declares loop variables in it,
-- until (a repeat condition) sees the block's locals.
function block_body(fs, b, pre, until_exp)
  fs.blocks[#fs.blocks + 1] = {}
  if pre then pre(b) end
  for i = 1, #b.body do stat(fs, b.body[i], b) end
  if until_exp then exp(fs, until_exp) end
  fs.blocks[#fs.blocks] = nil
end

function func(parent, f)
  local fs = open_function(f, parent, parent.r)
  fs.blocks[1] = {}
  if f.is_method then declare(fs, "self", nil, f) end
  for i = 1, #f.params do declare(fs, "param", f.params[i], f) end
  block_body(fs, f.body)
end

-- resolve(chunk [, vm]) -> chunk, annotated in place:
--   Id.decl      the declaration: {kind = "local" | "param" | "self" | "for"
--                | "global" | "env", name, node (the declaring Id), func
--                (its Function), scope (its Block, or the Function for
--                parameters), attrib, ctc and value (a Lua 5.4 compile-time
--                constant), assigned (some Set writes it), captured (some
--                nested function uses it as an upvalue)}.  Globals share one
--                record per name.
--   Id.upvalue   true when the declaration belongs to an enclosing function
--   Id.write     true on the Ids a Set assigns
--   Function.upvalues  {{name, decl}...} in the VM's order
--   Function.decls     every declaration of the function, in order
-- vm is "lua5.4" or "luajit"; by default the running VM.
function M.resolve(chunk, vm)
  vm = vm or (jit and "luajit" or "lua5.4")
  local fs = open_function(chunk, nil, { vm54 = vm == "lua5.4", globals = {} })
  if fs.r.vm54 then
    local env = { kind = "env", name = "_ENV", func = chunk }
    chunk.upvalues[1] = { name = "_ENV", decl = env }
    fs.upmap._ENV = env
  end
  fs.blocks[1] = {}
  block_body(fs, chunk.body)
  return chunk
end

M.constant = constant
return M
