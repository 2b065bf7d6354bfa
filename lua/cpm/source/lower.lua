-- Lowering of the source front end: one for loop of a parsed and resolved
-- chunk (cpm/source/ast.lua, scope.lua) becomes the loop IR that
-- cpm.core._plan reads (the table form documented in src/core/plan_lua.c), or
-- the reason why it cannot.
--
-- The reasons and their lines are those the Lua 5.4 bytecode front end
-- gives (src/lua54/find54.c): that front end refuses the first instruction of
-- the body it cannot lower, so this one walks the body in the order in
-- which lparser.c emits code and refuses at the first construct that
-- would have compiled to such an instruction.  Constant folding follows
-- lcode.c through scope.constant, because a folded expression emits no
-- instruction at all (`if true then`, `x = 1 and y`).
local scope = require "cpm.source.scope"
local reasons = require("cpm.core")._reasons  -- src/core/reasons.h
local arith = require("cpm.core")._aops  -- symbol -> IR op (src/core/ir.h)
local maxbody = require("cpm.core")._limits.maxbody  -- IR_MAXBODY (ir.h)
local maxdepth = require("cpm.core")._limits.maxdepth  -- IR_MAXDEPTH (ir.h)

local type, error, pcall, pairs, setmetatable, getmetatable =
  type, error, pcall, pairs, setmetatable, getmetatable
local table_sort = table.sort
local find, string_format = string.find, string.format
local jit = rawget(_G, "jit")
local math_type = math.type

-- LuaJIT 2.1.0-beta3's trace compiler crashed inside compiled parser code
-- (see cpm/source/grammar.lua); this runs once per optimized function.
if jit then jit.off(true, true) end
local _ENV = nil -- luacheck: ignore

local M = {}

local compare = { ["=="] = true, ["~="] = true, ["<"] = true, ["<="] = true,
  [">"] = true, [">="] = true }

-- A refusal travels as an error value of this metatable.
local Refusal = {}

local function refuse(line, why)
  error(setmetatable({ line = line, why = why }, Refusal), 0)
end

---------------------------------------------------------------- state

-- L: the lowering of one loop.
--   ops       the IR ops
--   nslots    slots used so far
--   slot_of   declaration (or "env") -> slot
--   refs      slot -> { name = text to read it, assign = text to write it }
--   outer     slot -> true for variables declared outside the loop body
--   written   slot -> true when the body writes it
--   lineof    position -> line
--   vm54      lowering for Lua 5.4 (integer numerals, _ENV)

local function newslot(L)
  local s = L.nslots
  L.nslots = s + 1
  return s
end

-- A temporary: written once, by the op that computes it.
local function newtemp(L)
  local s = newslot(L)
  L.temp[s] = true
  return s
end

local function emit(L, op)
  local n = #L.ops
  if n >= maxbody then refuse(op.line, reasons.TOO_LARGE) end
  L.ops[n + 1] = op
  if op[1] ~= "if" and type(op[2]) == "number" then L.written[op[2]] = true end
end

-- The slot of variable declaration d (created on first use).
local function varslot(L, d, line)
  local s = L.slot_of[d]
  if s then return s end
  if d.kind == "env" or d.name == "_ENV" then
    -- globals read through it: keep it one slot with the "env" key
    s = L.slot_of.env or newslot(L)
    L.slot_of.env = s
  else
    s = newslot(L)
  end
  L.slot_of[d] = s
  if not L.inner[d] then
    L.outer[s] = true
    L.refs[s] = { name = d.name, assign = d.name }
  end
  if d.kind == "env" or d.name == "_ENV" then
    if L.inner[d] then refuse(line, reasons.ENV_LOCAL) end
    L.refs[s] = { name = "_ENV" }
  end
  return s
end

-- The slot of the environment table through which globals are read.
local function envslot(L)
  local s = L.slot_of.env
  if s then return s end
  s = newslot(L)
  L.slot_of.env = s
  L.outer[s] = true
  L.refs[s] = { name = L.vm54 and "_ENV" or L.getfenv .. "(1)" }
  return s
end

---------------------------------------------------------------- expressions

local exp

-- The line of the operator of a binary expression: lcode.c gives an
-- arithmetic instruction the line of its operator.
local function opline(L, e)
  local a = find(L.text, e.op, e.lhs.endpos + 1, true)
  if a and a < e.rhs.pos then return L.lineof(a) end
  return e.line
end

local function constant_operand(_L, e)
  local ok, v = scope.constant(e)
  if not ok then return nil end
  local t = type(v)
  if t == "number" or t == "string" or t == "boolean" or v == nil then
    return { k = v }
  end
  return nil
end

-- Jumps of an if statement: IR "if" ops (forward conditional jumps, see
-- src/core/ir.h) whose skip counts are set once their target is known.
local function jumpop(L, cmp, a, b, jump, line)
  emit(L, { "if", cmp, a, b, skip = 0, jump = jump, line = line })
  return #L.ops
end

-- Points the jumps of list js at the next op to be emitted.
local function patch(L, js)
  for i = 1, #js do
    local j = js[i]
    L.ops[j].skip = #L.ops - j
  end
end

local condjump

local function binop(L, e)
  local op = e.op
  if op == "and" or op == "or" then
    -- lcode.c emits no test when the left side is a constant that decides
    local ok, v = scope.constant(e.lhs)
    if ok and ((op == "and") == (v ~= nil and v ~= false)) then
      return exp(L, e.rhs)
    end
    -- the value of the left side, unless its truth sends on to the right
    -- side's: a jump over the right side, as lcode.c's TEST (a comparison
    -- as the left side is a value-producing comparison: refused)
    local t = newtemp(L)
    L.temp[t] = nil  -- written on two paths
    if e.lhs.tag == "Binop" and compare[e.lhs.op] then
      -- a comparison decides: its boolean is the value, or the right side
      local js = condjump(L, e.lhs, op == "or")
      emit(L, { "move", t, exp(L, e.rhs), line = e.line })
      local over = jumpop(L, "always", nil, nil, true, e.line)
      patch(L, js)
      emit(L, { "move", t, { k = op == "or" }, line = e.line })
      patch(L, { over })
      return t
    end
    emit(L, { "move", t, exp(L, e.lhs), line = e.line })
    local j = jumpop(L, "truthy", t, nil, op == "or", e.line)
    emit(L, { "move", t, exp(L, e.rhs), line = e.line })
    patch(L, { j })
    return t
  end
  local a = exp(L, e.lhs)
  local b = exp(L, e.rhs)
  if compare[op] then refuse(e.line, reasons.COMPARE) end
  if op == ".." then refuse(opline(L, e), reasons.CONCAT) end
  local name = arith[op]
  if not name then refuse(e.line, string_format(reasons.OPERATOR, op)) end
  local t = newtemp(L)
  if op == "-" and not jit and type(b) == "table" and math_type(b.k) == "integer"
      and b.k >= -127 and b.k <= 127 then
    -- lcode.c codes x - c as x + (-c) (ADDI): on numbers the VM adds -c,
    -- and -0.0 + 0 is +0.0 where -0.0 - 0 is -0.0
    emit(L, { "add", t, a, { k = -b.k }, line = opline(L, e) })
    return t
  end
  emit(L, { name, t, a, b, line = opline(L, e) })
  return t
end

-- LuaJIT's bit library (src/core/ir.h, IR_FNS): the least number of
-- arguments of each function (0: one or more, any number of operands).
local bitfns = { tobit = 1, bnot = 1, bswap = 1, lshift = 2, rshift = 2,
  arshift = 2, rol = 2, ror = 2, band = 0, bor = 0, bxor = 0 }

-- The bit function that call expression e names, or nil: as the LuaJIT
-- bytecode front end (src/luajit/findjit.c) takes it, by the field read
-- (bit.bxor) or by the name of the local or upvalue called (bxor, from
-- `local bxor = bit.bxor`); a guess, which the guard checks at entry.
local function bitname(L, e)
  local f = e.func
  if L.vm54 or e.tag ~= "Call" then return nil end
  if f.tag == "Index" then
    local ok, key = scope.constant(f.key)
    if ok and type(key) == "string" and bitfns[key] then return key end
  elseif f.tag == "Id" and f.decl.kind ~= "global" and bitfns[f.name] then
    return f.name
  end
  return nil
end

-- Lowers a call of bit function 'name' as findjit.c does: ops over 32-bit
-- values held zero-extended (src/core/guard_gf2.c), the first naming the
-- function and the slot holding it; shift and rotation counts are read at
-- entry as the library reads them (count "bit": tobit(c) % 32, "bit32sub":
-- 32 minus that; src/core/ir.h, ir_Count), constant or not.
local function bitcall(L, e, name)
  local fs = exp(L, e.func)
  local args = {}
  for i = 1, #e.args do args[i] = exp(L, e.args[i]) end
  if type(fs) ~= "number" or #args < 1 then refuse(e.line, reasons.CALL) end
  if #args < bitfns[name] then refuse(e.line, reasons.BIT_ARITY) end
  local line, first = e.line, true
  local function op(code, b, c, count)
    local a = newtemp(L)
    local o = { code, a, b, c, line = line, count = count }
    if first then o.fn, o.fnslot, first = name, fs, false end
    emit(L, o)
    return a
  end
  local MASK, ZERO = { k = 4294967295 }, { k = 0 }
  local x, c = args[1], args[2]
  if name == "tobit" then return op("bor", x, ZERO)
  elseif name == "bnot" then return op("band", op("bnot", x), MASK)
  elseif name == "bswap" then  -- the four bytes, each moved to its place
    local t = op("bor", x, ZERO)
    local r = op("shr", t, { k = 24 })
    r = op("bxor", r, op("shl", op("band", t, { k = 255 }), { k = 24 }))
    r = op("bxor", r, op("shl", op("band", t, { k = 65280 }), { k = 8 }))
    return op("bxor", r, op("shr", op("band", t, { k = 16711680 }), { k = 8 }))
  elseif name == "band" or name == "bor" or name == "bxor" then
    if #args == 1 then return op("bor", x, ZERO) end
    local r = x
    for i = 2, #args do r = op(name, r, args[i]) end
    return r
  elseif name == "lshift" then return op("band", op("shl", x, c, "bit"), MASK)
  elseif name == "rshift" then return op("shr", op("bor", x, ZERO), c, "bit")
  elseif name == "arshift" then
    -- x >> s, then bit 31 copied into the top s bits
    local t = op("bor", x, ZERO)
    local sign = op("shr", t, { k = 31 })
    for j = 0, 4 do sign = op("bxor", sign, op("shl", sign, { k = 2 ^ j })) end
    sign = op("band", op("shl", sign, c, "bit32sub"), MASK)
    return op("bxor", op("shr", t, c, "bit"), sign)
  end
  -- rol: left by s, right by 32 - s; ror the other way
  local t, rol = op("bor", x, ZERO), name == "rol"
  local hi = op("band", op("shl", t, c, rol and "bit" or "bit32sub"), MASK)
  return op("bxor", op("shr", t, c, rol and "bit32sub" or "bit"), hi)
end

-- A call: refused, but for a call of the bit library whose value is used
-- (a call statement discards it: refused as the bytecode front end does).
local function call(L, e, statement)
  if e.tag == "Invoke" then
    exp(L, e.obj)
    refuse(e.line, reasons.CALL)  -- OP_SELF comes before the arguments
  end
  local name = not statement and bitname(L, e)
  if name then return bitcall(L, e, name) end
  exp(L, e.func)
  for i = 1, #e.args do exp(L, e.args[i]) end
  refuse(e.line, reasons.CALL)
end

-- Lowers expression e; returns its operand (a slot or { k = value }).
function exp(L, e)
  local t = e.tag
  local k = constant_operand(L, e)
  if k then return k end
  -- (a numeral or a string that is a constant came back above, with the
  -- value the VM gives it)
  if t == "Number" then refuse(e.line, reasons.NUMERAL)
  elseif t == "String" then error("a string literal the VM does not read as one", 0)
  elseif t == "Nil" then return { k = nil }
  elseif t == "True" then return { k = true }
  elseif t == "False" then return { k = false }
  elseif t == "Paren" then return exp(L, e.expr)
  elseif t == "Id" then
    local d = e.decl
    if d.ctc then return { k = d.value } end
    if d.kind == "global" then
      local s = newtemp(L)
      emit(L, { "index", s, envslot(L), { k = e.name }, line = e.line })
      return s
    end
    return varslot(L, d, e.line)
  elseif t == "Index" then
    local obj = exp(L, e.obj)
    local key = exp(L, e.key)
    local s = newtemp(L)
    emit(L, { "index", s, obj, key, line = e.line })
    return s
  elseif t == "Binop" then return binop(L, e)
  elseif t == "Unop" then
    local a = exp(L, e.operand)
    if e.op == "not" then  -- true unless the operand is truthy, then false
      local s = newtemp(L)
      L.temp[s] = nil  -- written on two paths
      local j = jumpop(L, "truthy", a, nil, true, e.line)
      emit(L, { "move", s, { k = true }, line = e.line })
      local over = jumpop(L, "always", nil, nil, true, e.line)
      patch(L, { j })
      emit(L, { "move", s, { k = false }, line = e.line })
      patch(L, { over })
      return s
    end
    if e.op == "#" then refuse(e.line, reasons.LENGTH) end
    local s = newtemp(L)
    emit(L, { e.op == "-" and "unm" or "bnot", s, a, line = e.line })
    return s
  elseif t == "Call" or t == "Invoke" then return call(L, e)
  elseif t == "Table" then refuse(e.line, reasons.TABLE_CONS)
  elseif t == "Function" then refuse(e.line, reasons.FUNCTION)
  elseif t == "Dots" then refuse(e.line, reasons.VARARG)
  end
  refuse(e.line, reasons.EXPRESSION)
end

local function append(a, b)
  for i = 1, #b do a[#a + 1] = b[i] end
  return a
end

local swapped = { [">"] = "<", [">="] = "<=" }
local cmpname = { ["=="] = "eq", ["~="] = "eq", ["<"] = "lt", ["<="] = "le",
  [">"] = "lt", [">="] = "le" }

-- Emits the test of condition e: the jumps returned are taken when the
-- truth of e is 'when', and control falls through otherwise (lcode.c's
-- jump lists: short-circuit and/or, not folded into the jump sense).
function condjump(L, e, when)
  local ok, v = scope.constant(e)
  if ok then
    if (v ~= nil and v ~= false) == when then
      return { jumpop(L, "always", nil, nil, true, e.line) }
    end
    return {}
  end
  if e.tag == "Paren" then return condjump(L, e.expr, when) end
  if e.tag == "Unop" and e.op == "not" then return condjump(L, e.operand, not when) end
  if e.tag == "Binop" and (e.op == "and" or e.op == "or") then
    if (e.op == "and") ~= when then  -- one side decides: either jumps
      return append(condjump(L, e.lhs, when), condjump(L, e.rhs, when))
    end
    local over = condjump(L, e.lhs, not when)  -- decides the other way
    local js = condjump(L, e.rhs, when)
    patch(L, over)
    return js
  end
  if e.tag == "Binop" and compare[e.op] then
    local a = exp(L, e.lhs)
    local b = exp(L, e.rhs)
    if swapped[e.op] then a, b = b, a end
    if e.op == "~=" then when = not when end
    return { jumpop(L, cmpname[e.op], a, b, when, e.line) }
  end
  return { jumpop(L, "truthy", exp(L, e), nil, when, e.line) }
end

---------------------------------------------------------------- statements

local block

local function assign(L, target, value, line)
  local d = target.decl
  if d.kind == "global" then refuse(line, string_format(reasons.GLOBAL_WRITE, d.name)) end
  if d.name == "_ENV" then refuse(line, reasons.ENV_WRITE) end
  local s = varslot(L, d, line)
  if s ~= value then  -- `x = x` compiles to nothing
    emit(L, { "move", s, value, line = line })
  end
end

local function stat(L, s)
  local t = s.tag
  if t == "Local" then
    local vals, exprs = {}, s.exprs or {}  -- `local y`: no values at all
    for i = 1, #exprs do vals[i] = exp(L, exprs[i]) end
    for i = 1, #s.names do
      local id = s.names[i]
      L.inner[id.decl] = true
      if id.attrib == "close" then
        refuse(s.line, reasons.TBC)
      end
      if not id.decl.ctc then
        local v = vals[i]
        if v == nil then v = { k = nil } end
        emit(L, { "move", varslot(L, id.decl, s.line), v, line = s.line })
      end
    end
  elseif t == "Set" then
    -- table and key of indexed targets come first, then every value, then
    -- the stores (last target first, as both VMs do)
    for i = 1, #s.targets do
      local tg = s.targets[i]
      if tg.tag == "Index" then exp(L, tg.obj); exp(L, tg.key) end
    end
    local vals = {}
    for i = 1, #s.exprs do vals[i] = exp(L, s.exprs[i]) end
    for i = 1, #s.targets do
      if s.targets[i].tag == "Index" then refuse(s.line, reasons.TABLE_WRITE) end
    end
    if #s.targets == 1 and #s.exprs == 1 then
      assign(L, s.targets[1], vals[1], s.line)
    else
      -- every value is read before any target is written: copy into
      -- temporaries the variables that a target overwrites.  As in Lua's
      -- compiler, only the last value of as many values as targets goes
      -- straight to its target (so `a, b = x, b` leaves b as it is, while
      -- `a, b = a, x` writes a again, from a copy: a is then carried)
      local targets = {}
      for i = 1, #s.targets do
        local d = s.targets[i].decl
        if d.kind ~= "global" then targets[varslot(L, d, s.line)] = (targets[varslot(L, d, s.line)] or 0) + 1 end
      end
      for i = 1, #vals do
        local v = vals[i]
        local own = i == #s.targets and #s.exprs == #s.targets
          and s.targets[i].decl.kind ~= "global"
          and varslot(L, s.targets[i].decl, s.line) == v and targets[v] == 1
        if type(v) == "number" and not L.temp[v] and targets[v] and not own then
          local tmp = newtemp(L)
          emit(L, { "move", tmp, vals[i], line = s.line })
          vals[i] = tmp
        end
      end
      for i = #s.targets, 1, -1 do
        local v = vals[i]
        if v == nil then v = { k = nil } end
        assign(L, s.targets[i], v, s.line)
      end
    end
  elseif t == "CallStat" then call(L, s.call, true)
  elseif t == "Do" then block(L, s.body)
  elseif t == "Semi" or t == "Label" then  -- luacheck: ignore 542 (emits nothing)
  elseif t == "If" then
    -- if c1 then b1 elseif c2 then b2 ... else bn end: each test jumps
    -- over its block when false; each block but the last jumps to the end
    local ends = {}
    for i = 1, #s.conds do
      local first = s.blocks[i].body[1]
      if first and first.tag == "Break" and not L.inwhile then
        -- lparser.c's `if c then break`: the test jumps out of the loop
        condjump(L, s.conds[i], true)
        refuse(L.lineof(s.conds[i].endpos), reasons.JUMP)
      end
      local skip = condjump(L, s.conds[i], false)
      block(L, s.blocks[i])
      if i < #s.conds or s.orelse then
        ends[#ends + 1] = jumpop(L, "always", nil, nil, true, s.line)
      end
      patch(L, skip)
    end
    if s.orelse then block(L, s.orelse) end
    patch(L, ends)
  elseif t == "While" then
    -- the test jumps forward, out of the while loop: an if for the IR; the
    -- jump back is refused, with the line of the body's last token (a
    -- break in its body jumps forward, inside the enclosing body, as the
    -- bytecode front ends see it: refused by the jump back only)
    condjump(L, s.cond, false)
    local inwhile = L.inwhile
    L.inwhile = true
    block(L, s.body)
    L.inwhile = inwhile
    local last = s.body.body[#s.body.body]
    refuse(last and L.lineof(last.endpos) or L.lineof(s.cond.endpos),
      reasons.NEST_WHILE)
  elseif t == "Repeat" then
    local inwhile = L.inwhile
    L.inwhile = true  -- (as for While)
    block(L, s.body)
    L.inwhile = inwhile
    -- `until true` runs the body once: no jump; else the test jumps back
    local ok, v = scope.constant(s.cond)
    if not (ok and v ~= nil and v ~= false) then
      condjump(L, s.cond, false)
      refuse(s.cond.line, reasons.NEST_WHILE)
    end
  elseif t == "Fornum" then
    -- a nested numeric for: its control values, then an IR "loop" op over
    -- the ops of its body (src/core/ir.h, LOOP); FORPREP and FORLOOP, its
    -- bookkeeping, give no op
    local a, b = exp(L, s.start), exp(L, s.limit)
    local c = s.step and exp(L, s.step) or nil
    if L.depth >= maxdepth then
      refuse(s.line, reasons.NEST_DEPTH:format(maxdepth + 1))
    end
    L.inner[s.var.decl] = true
    local op = { "loop", varslot(L, s.var.decl, s.line), a, b, c, body = 0,
      line = s.line }
    emit(L, op)
    local at = #L.ops
    L.depth = L.depth + 1
    local inwhile = L.inwhile
    L.inwhile = false  -- a break leaves this loop: refused
    local ok, err = pcall(block, L, s.body)
    L.inwhile = inwhile
    L.depth = L.depth - 1
    if not ok then
      -- refused inside: the outer loop's refusal, at its line, naming the
      -- inner loop (the one directly in it)
      if L.depth == 0 and getmetatable(err) == Refusal then
        err.why = reasons.NEST_INNER:format(s.line, err.why)
        err.line = L.line
      end
      error(err, 0)
    end
    op.body = #L.ops - at
  elseif t == "Forin" then
    for i = 1, #s.exprs do exp(L, s.exprs[i]) end
    refuse(s.line, reasons.NESTED)
  elseif t == "Return" then
    for i = 1, #s.exprs do exp(L, s.exprs[i]) end
    refuse(s.line, reasons.RETURN)
  elseif t == "Break" and L.inwhile then  -- luacheck: ignore 542
    -- out of an inner while or repeat loop, which is refused anyway
  elseif t == "Break" or t == "Goto" then
    refuse(s.line, reasons.JUMP)
  elseif t == "LocalFunction" or t == "FuncStat" then
    if t == "FuncStat" and s.name.tag == "Index" then exp(L, s.name.obj) end
    refuse(s.func.line, reasons.FUNCTION)
  else
    refuse(s.line, reasons.STATEMENT)
  end
end

function block(L, b)
  for i = 1, #b.body do stat(L, b.body[i]) end
end

---------------------------------------------------------------- loops

-- Is e arithmetic on constants and variables that are no globals (a
-- global is a field read, code the test would run on every pass)?
local function arithmetic(e)
  if constant_operand(nil, e) then return true end
  local t = e.tag
  if t == "Paren" then return arithmetic(e.expr) end
  if t == "Id" then return e.decl.kind ~= "global" and e.decl.name ~= "_ENV" end
  if t == "Unop" then return (e.op == "-" or e.op == "~") and arithmetic(e.operand) end
  return t == "Binop" and arith[e.op] ~= nil and arithmetic(e.lhs) and arithmetic(e.rhs)
end

-- An operand of a while or repeat test: a constant, a variable that is no
-- global, or arithmetic on them (`i < n * 2`: its ops are emitted here,
-- where the test runs them; the planner takes them when they compute an
-- invariant).
local function testoperand(L, e)
  local k = constant_operand(L, e)
  if k then return k end
  if e.tag == "Paren" then return testoperand(L, e.expr) end
  if e.tag == "Unop" and e.op == "-" then  -- a negative numeral (LuaJIT)
    local v = constant_operand(L, e.operand)
    if v and type(v.k) == "number" then return { k = -v.k } end
  end
  if e.tag == "Id" and e.decl.kind ~= "global" and e.decl.name ~= "_ENV" then
    return varslot(L, e.decl, e.line)
  end
  if arithmetic(e) then return exp(L, e) end
  refuse(e.line, reasons.WHILE_COND)
end

-- The exit test (src/core/ir.h, ir_Cond) of a while loop (the loop ends
-- when e is false) or a repeat loop (when e is true): one comparison of
-- two operands, under parentheses and `not`; `>` and `>=` swap their
-- operands (never negated: with NaN, not (a < b) is not b <= a), `~=` is
-- `==` with the other outcome.
local function looptest(L, e, repeat_)
  local exit = repeat_
  while true do
    if e.tag == "Paren" then e = e.expr
    elseif e.tag == "Unop" and e.op == "not" then exit = not exit; e = e.operand
    else break end
  end
  local const, v = scope.constant(e)
  if const then
    -- lparser.c: `while true` and `while false` test nothing (a jump back,
    -- a jump out), `until false` tests a loaded false (a TEST, as for a
    -- variable; `until true` is no loop at all)
    refuse(e.line, (repeat_ and not v) and reasons.WHILE_COND or reasons.WHILE_NOCOND)
  end
  if not (e.tag == "Binop" and compare[e.op]) then refuse(e.line, reasons.WHILE_COND) end
  local a = testoperand(L, e.lhs)
  local b = testoperand(L, e.rhs)
  if swapped[e.op] then a, b = b, a end
  if e.op == "~=" then exit = not exit end
  return { cmpname[e.op], a, b, exit = exit }
end

-- lower(loop, ctx) -> ir, refs | nil, reason, line
-- loop is a Fornum, Forin, While or Repeat node; ctx = { text, lineof,
-- vm54, getfenv }
-- (getfenv: the name under which the generated code reaches getfenv).
-- refs[slot] = { name = text reading the variable, assign = text
-- writing it (variables declared outside the loop only) }.
function M.lower(loop, ctx)
  local L = { ops = {}, nslots = 0, slot_of = {}, refs = {}, outer = {},
    written = {}, inner = {}, temp = {}, text = ctx.text, lineof = ctx.lineof,
    vm54 = ctx.vm54, getfenv = ctx.getfenv, depth = 0 }
  local kinds = { Fornum = "fornum", Forin = "forrange", While = "while", Repeat = "repeat" }
  local ir = { kind = kinds[loop.tag], line = ctx.line or loop.line }
  L.line = ir.line
  local ok, err = pcall(function()
    if loop.tag == "While" then
      ir.cond = looptest(L, loop.cond, false)
      ir.cond.pre = #L.ops  -- the ops computing its operands (ir.h, ir_Cond)
      block(L, loop.body)
      return
    elseif loop.tag == "Repeat" then
      block(L, loop.body)
      ir.cond = looptest(L, loop.cond, true)
      return
    end
    local var
    if loop.tag == "Fornum" then
      var = loop.var
    else
      if #loop.names ~= 1 then
        refuse(ir.line, reasons.FORVARS)
      end
      var = loop.names[1]
    end
    L.inner[var.decl] = true
    ir.index = varslot(L, var.decl, ir.line)
    block(L, loop.body)
  end)
  if not ok then
    if type(err) == "table" and err.why then return nil, err.why, err.line end
    error(err, 0)
  end
  local live = {}
  for s in pairs(L.written) do
    if L.outer[s] then live[#live + 1] = s end
  end
  table_sort(live)
  -- the variables an error leaves visible: upvalues and captured locals
  -- (scope.lua marks them; the whole chunk is resolved before lowering)
  local escapes = {}
  for d, s in pairs(L.slot_of) do
    if d.captured or d.kind == "global" or d.kind == "env" then escapes[#escapes + 1] = s end
  end
  table_sort(escapes)
  ir.nslots, ir.ops, ir.liveout, ir.escapes = L.nslots, L.ops, live, escapes
  -- the variables' names, for the planner's reasons (plan_lua.c)
  ir.names = {}
  for d, s in pairs(L.slot_of) do
    ir.names[s] = d == "env" and "_ENV" or d.name
  end
  return ir, L.refs
end

return M
