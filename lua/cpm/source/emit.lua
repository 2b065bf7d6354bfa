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
local type, ipairs, tostring, tonumber, format, rep, sub, byte, find, gsub, concat,
  math_type, load, loadstring, getupvalue, upvaluejoin, setfenv, getfenv, pcall =
  type, ipairs, tostring, tonumber, string.format, string.rep, string.sub, string.byte,
  string.find, string.gsub, table.concat, math.type, load, rawget(_G, "loadstring"),
  debug.getupvalue, debug.upvaluejoin, rawget(_G, "setfenv"), rawget(_G, "getfenv"), pcall
local getinfo = debug.getinfo
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

-- The guard call of a planned loop as a statement, reached only when the
-- chunk's own upvalues are set: in a copy loaded from string.dump they are
-- nil, except the first, which load sets to the environment, and G and K
-- cannot both be first.  G[id] is false once the site gave up (guard.h).
local function call(P, id, okv, args)
  return format("local %se = %sG[%d] if %se then %s = %se(%s) end", P, P, id, P, okv, P, args)
end

-- Are the chunk's own upvalues set (see call)?  Tested first: T, too,
-- may be nil or the environment.
local function own_set(P)
  return format("%sK and %sG", P, P)
end

-- The condition under which a numeric for over s, l, t (names, or
-- numerals where known[i]: no check) asks its guard: the three are numbers (otherwise the loop raises, or runs on
-- values the guard does not take) and the loop runs about 'limit' times
-- or more, or wraps around.  Only type, math.type and arithmetic on
-- numbers: no metamethod, no error, and no C call on LuaJIT, where type
-- is compiled inline (a short loop stays in its caller's trace).  The
-- count (l - s) / t is in floats, so it cannot wrap; it only chooses
-- between two ways to the same result, so rounding near the limit only
-- costs time: a loop that does not run gives a negative count.  A NaN
-- count asks the guard: Lua 5.4 runs `for i = 1, 0/0, -1` about 2^63
-- times (lvm.c's forlimit clips a NaN limit to math.mininteger when the
-- step is negative), and the guard counts it as the VM does.
local function long(ctx, s, l, t, known, limit)
  local T, checks = ctx.prefix .. "T", {}
  for i, v in ipairs { s, l, t } do
    if not known[i] then
      -- math.type answers nil for what is not a number
      checks[#checks + 1] = ctx.vm54 and format("%s(%s)", T, v)
        or format("%s(%s) == \"number\"", T, v)
    end
  end
  checks[#checks + 1] = format("not ((%s + 0.0 - %s) / %s < %d)", l, s, t, limit - 1)
  return concat(checks, " and ")
end

-- A start and a step written as numbers, the step not zero: the loop asks
-- its guard when it runs 'limit' times or more, i.e. when the limit is at
-- least (step > 0; at most, step < 0) c = start + (limit - 1) step, which
-- a loop `for x = c, l, +-1` tells in one FORPREP: it converts the limit as
-- the original's FORPREP does, raises the same error for a value that is
-- no number and no numeric string (lvm.c forprep checks the limit first
-- but for a zero step, which this leaves out), calls no metamethod and no
-- C function, and runs its body, the guard call, once at most (a NaN
-- limit runs it with a negative step, as the original's 2^63 iterations
-- want).  Returns the loop's header, or nil (c not an exact float below
-- 2^53).
local function countloop(ctx, l, ks, kt, limit)
  local s, t = ks and tonumber(sub(ks, 2, -2)), kt and tonumber(sub(kt, 2, -2))
  if not (s and t) or t == 0 then return nil end
  local c = (s + 0.0) + (limit - 1) * (t + 0.0)  -- (in floats: no wrap)
  if not (c == c and c > -2 ^ 53 and c < 2 ^ 53) then return nil end
  return format("for %sx = %.17g, %s, %d do", ctx.prefix, c, l, t > 0 and 1 or -1)
end

-- The numeral of a start or step written as a plain number (or its
-- negation), parenthesized, or nil: such a control value needs no type
-- check.  (LuaJIT's 1LL and 2i are cdata: not plain; hex floats are left
-- to the check.)
local function numeral(node)
  local neg = ""
  if node and node.tag == "Unop" and node.op == "-" then node, neg = node.operand, "-" end
  if not node or node.tag ~= "Number" then return nil end
  local t = node.text
  if not (find(t, "^%d[%d.]*$") or find(t, "^%d[%d.]*[eE][+-]?%d+$")
          or find(t, "^%.%d+$") or find(t, "^0[xX]%x+$")) then
    return nil
  end
  return "(" .. neg .. t .. ")"
end

-- The text from a to b with the replacements { pos, endpos, text } of
-- 'inner' (sorted, disjoint, inside it) applied.
local function splice(text, a, b, inner)
  local out = {}
  for _, r in ipairs(inner or {}) do
    out[#out + 1] = sub(text, a, r.pos - 1)
    out[#out + 1] = r.text
    a = r.endpos + 1
  end
  out[#out + 1] = sub(text, a, b)
  return concat(out)
end

-- The replacement text of one planned loop (the loop node covers
-- `for ... end`).  plan = { id, limit, inputs = { text... },
-- outputs = { text... } }; limit: the guard's iters_limit; inner: the
-- replacements of planned loops in its body (sorted, disjoint), kept in
-- its fallback.
function M.loop(ctx, loop, plan, dopos, inner)
  local P, text = ctx.prefix, ctx.text
  local outs = {}
  for i = 1, #plan.outputs do outs[i] = P .. "o" .. i end
  local okv = P .. "ok" .. (#outs > 0 and ", " .. concat(outs, ", ") or "")
  local ins = #plan.inputs > 0 and ", " .. concat(plan.inputs, ", ") or ""
  local set = #outs > 0 and concat(plan.outputs, ", ") .. " = " .. concat(outs, ", ") or ""
  local body = splice(text, dopos + 2, loop.endpos, inner)  -- after `do`, through `end`
  local r
  if loop.tag == "Fornum" then
    local s, l, st = P .. "s", P .. "l", P .. "t"
    -- a start or step written as a plain number: used as written in the
    -- check and the loop (no type check; its local is left unread)
    local ks, kt = numeral(loop.start), "(1)"
    if loop.step then kt = numeral(loop.step) end
    -- a limit that is a local variable is read where it is used, as
    -- reading it does nothing else (in the short form below)
    local d, lname = loop.limit.decl, nil
    if loop.limit.tag == "Id" and d and d.kind ~= "global" and d.kind ~= "env" then
      lname = loop.limit.name
    end
    local header = countloop(ctx, lname or l, ks, kt, plan.limit)
    if header then  -- short: one FORPREP, then the loop as written
      -- (the numerals are written where they are used; any other limit
      -- goes into a local, on its line)
      local label = P .. "done" .. plan.id
      local value = ""
      if lname then l = lname
      else value = " local " .. l .. " = " .. sub(text, loop.limit.pos, loop.limit.endpos) end
      return concat { "do", breaks(ctx, loop.pos, loop.limit.pos), value,
        breaks(ctx, loop.limit.endpos, dopos),
        format(" %s if %s then local %se = %sG[%d] if %se then local %s = %se(%s)"
          .. " if %s then %s goto %s end end end break end for %s = %s, %s%s do",
          header, own_set(P), P, P, plan.id, P, okv, P, ks .. ", " .. l .. ", " .. kt .. ins,
          P .. "ok", set, label, loop.var.name, ks, l, loop.step and ", " .. kt or ""),
        body, " ::", label, ":: end" }
    end
    local last = loop.step or loop.limit
    local parts = { "do", breaks(ctx, loop.pos, loop.start.pos),
      " local ", s, ", ", l, ", ", st, " = ",
      sub(text, loop.start.pos, loop.start.endpos),
      breaks(ctx, loop.start.endpos, loop.limit.pos), ", ",
      sub(text, loop.limit.pos, loop.limit.endpos) }
    if loop.step then
      parts[#parts + 1] = breaks(ctx, loop.limit.endpos, loop.step.pos)
      parts[#parts + 1] = ", " .. sub(text, loop.step.pos, loop.step.endpos)
    else
      parts[#parts + 1] = ", 1"
    end
    parts[#parts + 1] = breaks(ctx, last.endpos, dopos)
    parts[#parts + 1] = format(" local %s if %s and %s then %s end if %s then %s else for %s = %s, %s%s do",
      okv, own_set(P), long(ctx, ks or s, l, kt or st, { ks ~= nil, false, kt ~= nil }, plan.limit),
      call(P, plan.id, okv, s .. ", " .. l .. ", " .. st .. ins),
      P .. "ok", set, loop.var.name, ks or s, l, loop.step and ", " .. (kt or st) or "")
    r = concat(parts)
  else
    local f, s, c, x = P .. "f", P .. "s", P .. "c", P .. "x"
    local e1, en = loop.exprs[1], loop.exprs[#loop.exprs]
    local vars = ctx.vm54 and (f .. ", " .. s .. ", " .. c .. ", " .. x) or (f .. ", " .. s .. ", " .. c)
    local guarded = call(P, plan.id, okv, format("%s, %s, %s%s", f, s, ctx.vm54 and x or c, ins))
    r = concat { "do", breaks(ctx, loop.pos, e1.pos), " local ", vars, " = ",
      sub(text, e1.pos, en.endpos), breaks(ctx, en.endpos, dopos),
      ctx.vm54  -- a to-be-closed value would be closed by the loop: not by the guard
        and format(" local %s if %s == nil and %s then %s end", okv, x, own_set(P), guarded)
        or format(" local %s if %s then %s end", okv, own_set(P), guarded),
      format(" if %s then %s else for %s in %s do", P .. "ok", set, loop.names[1].name, vars) }
  end
  return r .. body .. " end end"
end

-- The condition under which a while or repeat loop asks its guard: its
-- counter x, bound b and step s (texts, and the names of the variables
-- they read, their leaves) are numbers and the distance (b - x) / s (for
-- x := x - s, (x - b) / s) is about 'limit' or more.  Like `long`: no
-- metamethod, no error, no C call on LuaJIT; the estimate only chooses
-- between two ways to the same result (a loop that does not run, or runs
-- the other way, gives a negative distance; one that does not end, or a
-- NaN, asks the guard or not, which then runs it as written either way).
-- An operand with no such text (w.always) asks the guard every time.
local function far(ctx, w, limit)
  local T, checks = ctx.prefix .. "T", {}
  if w.x.always or w.b.always or w.s.always then return "true" end
  for _, v in ipairs({ w.x, w.b, w.s }) do
    for _, name in ipairs(v.leaves) do
      checks[#checks + 1] = ctx.vm54 and format("%s(%s)", T, name)
        or format("%s(%s) == \"number\"", T, name)
    end
  end
  local from, to = w.x.text, w.b.text
  if w.negate then from, to = to, from end
  checks[#checks + 1] = format("(%s + 0.0 - %s) / %s >= %d", to, from, w.s.text,
    limit - 1)
  return concat(checks, " and ")
end

-- The text of an invariant expression of a while loop's test or step for
-- `far`, from its node x = { op =, sym =, x [, y] } (src/core/plan_lua.c)
-- and operand(node) -> { text =, leaves = } | nil for its operands: every
-- leaf made a float first, so that `//` and `%` by zero raise nothing
-- (`far` checks that the leaves are numbers); { always = true } for an
-- operator that a float could make raise (the bitwise ones); nil when an
-- operand has no text.
local floatops = { add = true, sub = true, mul = true, div = true, mod = true,
  pow = true, idiv = true, unm = true }

function M.arithmetic(x, operand)
  if not floatops[x.op] then return { always = true, leaves = {} } end
  local parts, leaves = {}, {}
  for i = 1, #x do
    local node = type(x[i]) == "table" and x[i].op
    local o = node and M.arithmetic(x[i], operand) or operand(x[i])
    if not o then return nil end
    if o.always then return o end
    for _, name in ipairs(o.leaves) do leaves[#leaves + 1] = name end
    parts[i] = node and o.text or format("(%s + 0.0)", o.text)
  end
  if #parts == 1 then return { text = format("(%s%s)", x.sym, parts[1]), leaves = leaves } end
  return { text = format("(%s %s %s)", parts[1], x.sym, parts[2]), leaves = leaves }
end

-- The replacement text of a planned while or repeat loop (the node covers
-- `while ... end` or `repeat ... until cond`): its guard call before it,
-- with the counter and two nils as control values (the guard counts),
-- the loop itself kept as written.  plan as for M.loop, plus w = { x, b,
-- s = { text =, name = bool }, negate = bool } (the test's operands);
-- inner as for M.loop.
function M.whileloop(ctx, loop, plan, inner)
  local P = ctx.prefix
  local outs = {}
  for i = 1, #plan.outputs do outs[i] = P .. "o" .. i end
  local okv = P .. "ok" .. (#outs > 0 and ", " .. concat(outs, ", ") or "")
  local ins = #plan.inputs > 0 and ", " .. concat(plan.inputs, ", ") or ""
  local set = #outs > 0 and concat(plan.outputs, ", ") .. " = " .. concat(outs, ", ") or ""
  return format("do local %s if %s and %s then %s end if %s then %s else ",
    okv, own_set(P), far(ctx, plan.w, plan.limit),
    call(P, plan.id, okv, plan.w.x.text .. ", nil, nil" .. ins), P .. "ok", set)
    .. splice(ctx.text, loop.pos, loop.endpos, inner) .. " end end"
end

-- A Lua literal for a number, or nil (for emit users: the while test's
-- constant operands).
M.literal = literal

-- The function's text with the replacements { pos, endpos, text } (sorted,
-- disjoint) applied, as a function expression.
--
-- On Lua 5.4 a function with replacements starts with a statement that
-- never runs, `if false then local u = up1; u = up2 ... end`, naming
-- ctx.upnames (f's upvalues, _ENV included) in f's order: Lua numbers a
-- function's upvalues in the order their names first appear, so g's first
-- upvalues are f's, in order, and the generated ones come after.  A copy
-- of g loaded from string.dump then gets the environment in the same
-- upvalue as a copy of f (load sets the first one), and never in G or K.
function M.func(ctx, node, repl)
  local text = ctx.text
  local out, at = {}, node.pos
  if ctx.vm54 and #repl > 0 and not node.main and ctx.upnames and #ctx.upnames > 0 then
    local u = ctx.prefix .. "u"
    local names = {}
    for i, n in ipairs(ctx.upnames) do names[i] = (i == 1 and "local " or "") .. u .. " = " .. n end
    local pre = { pos = node.body.pos, endpos = node.body.pos - 1,
      text = " if false then " .. concat(names, "; ") .. " end " }
    local all = { pre }
    for _, r in ipairs(repl) do all[#all + 1] = r end
    repl = all
  end
  for _, r in ipairs(repl) do
    out[#out + 1] = sub(text, at, r.pos - 1)
    out[#out + 1] = r.text
    at = r.endpos + 1
  end
  local last = node.endpos
  if node.main then
    -- a main chunk ends at its last token: the `end` of the function that
    -- stands for it goes on that line, where the VMs put the return they
    -- add at the end of a chunk (line 1 when there is no token at all;
    -- the chunk then has no loop and the text after it is whitespace and
    -- comments)
    local stats = node.body.body
    last = #stats > 0 and stats[#stats].endpos or 0
  end
  out[#out + 1] = sub(text, at, last)
  local body = concat(out)
  if node.main then
    -- a first line starting with # is skipped by the VMs' loaders only
    if sub(body, 1, 3) == "\239\187\191" then body = sub(body, 4) end
    if sub(body, 1, 1) == "#" then body = gsub(body, "^[^\r\n]*", "", 1) end
    return "function(...) " .. body .. " end"
  end
  if sub(body, 1, 1) ~= "(" then return body end  -- already `function (...)`
  if node.is_method then
    local more = (#node.params > 0 or node.is_vararg) and "self, " or "self"
    return "function(" .. more .. sub(body, 2)
  end
  return "function" .. body
end

-- The chunk around a function text: its prologue declares the generated
-- names (from the chunk's arguments: the guards G, getfenv F, K = true,
-- and T = math.type on Lua 5.4, type on LuaJIT), f's upvalues by name and the Lua
-- 5.4 compile-time constants f reads from enclosing functions; then
-- padding up to the line where f starts.  Returns the text or nil, reason.
function M.chunk(ctx, node, ftext, upnames, consts)
  local P = ctx.prefix
  local pro = { "local ", P, "G, ", P, "F, ", P, "K, ", P, "T = ... " }
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
  -- the closure's count bounds the loop: see made_report in init.lua
  for i = 1, getinfo(f, "u").nups do
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
  local ok, g = pcall(compiled, guards, getfenv, true, ctx.vm54 and math_type or type)
  if not ok or type(g) ~= "function" then return nil, "generated code did not run" end
  local index = {}
  for i, n in ipairs(M.upvalue_names(f)) do index[n] = i end
  local own = {}
  for _, n in ipairs { "G", "F", "K", "T" } do own[ctx.prefix .. n] = true end
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
