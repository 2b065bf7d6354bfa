-- The source front end (`require "cpm.source"`): cpm.optimize on LuaJIT,
-- and on Lua 5.4 with opts.frontend = "source".
--
--   f --locate--> f's Function node in its chunk's text
--     --fingerprint--> the text, compiled again, is f (else fall back)
--     --lower--> the IR of each for loop --cpm.core._plan--> a plan
--     --emit--> f's text with a guard call before each planned loop
--     --load--> g, with f's upvalues and environment
--
-- Whenever something is not as expected, f itself comes back: never a
-- function that could behave differently from f.
local core = require "cpm.core"
local grammar = require "cpm.source.grammar"
local ast = require "cpm.source.ast"
local locate = require "cpm.source.locate"
local lower = require "cpm.source.lower"
local emit = require "cpm.source.emit"
local fingerprint = require "cpm.source.fingerprint"
local scope = require "cpm.source.scope"

local type, error, pairs, ipairs, format, find, sub, match, getinfo, getupvalue,
  setmetatable, getmetatable, pcall, tostring =
  type, error, pairs, ipairs, string.format, string.find, string.sub, string.match,
  debug.getinfo, debug.getupvalue, setmetatable, getmetatable, pcall, tostring
local jit = rawget(_G, "jit")
local table_sort = table.sort
local VM54 = core.vm == "Lua 5.4"

-- LuaJIT 2.1.0-beta3's trace compiler crashed inside compiled parser code
-- (see cpm/source/grammar.lua); this runs once per optimized function.
if jit then jit.off(true, true) end
local _ENV = nil -- luacheck: ignore

local M = {}

-- The functions this front end makes share, as an upvalue, the table of
-- their chunk's guards; 'made' maps each such table to { report, source,
-- text } of the chunk, so that optimizing or explaining them again reports
-- their loops as they are (they are given back unchanged: their guards
-- keep the options they were made with), and so that the other functions
-- of a chunk loaded from text without a name to read it back by (cpm.load
-- of "=name") still find their text.
local made = setmetatable({}, { __mode = "k" })

-- The errors this front end means to raise (with strict) travel as a
-- table of this metatable through the pcall that catches everything else.
local Raised = {}
-- The replacement texts of the planned loops, innermost first: a planned
-- loop inside another (a nest whose outer loop has its own guard) goes
-- into the text of the smallest planned loop around it, in its fallback
-- body; returns the outermost replacements, sorted and disjoint.
local function nest(ctx, repl)
  table_sort(repl, function(a, b) return a.endpos - a.pos < b.endpos - b.pos end)
  for i, r in ipairs(repl) do
    local kids = {}
    for j = 1, i - 1 do
      local c = repl[j]
      if not c.parent and c.pos > r.pos and c.endpos <= r.endpos then
        c.parent = r
        kids[#kids + 1] = c
      end
    end
    table_sort(kids, function(a, b) return a.pos < b.pos end)
    r.text = r.counted and emit.whileloop(ctx, r.loop, r.plan, kids)
      or emit.loop(ctx, r.loop, r.plan, r.dopos, kids)
  end
  local top = {}
  for _, r in ipairs(repl) do
    if not r.parent then top[#top + 1] = r end
  end
  table_sort(top, function(a, b) return a.pos < b.pos end)
  return top
end

local function raise(msg)
  error(setmetatable({ msg = msg }, Raised), 0)
end

-- The report of an already optimized function (its loops only), or nil.
local function made_report(f, info)
  -- no further than the closure's own count (debug.getupvalue goes by the
  -- prototype's, past the closure's array when a crafted chunk's header
  -- gave the closure fewer)
  for i = 1, getinfo(f, "u").nups do
    local n, v = getupvalue(f, i)
    if n == nil then return nil end
    local m = type(v) == "table" and made[v]
    if m then
      local own = {}
      for _, e in ipairs(m.report) do
        if info.what == "main" or (e.line >= info.linedefined
            and e.line <= info.lastlinedefined) then
          own[#own + 1] = e
        end
      end
      return own
    end
  end
end

-- The text of an optimized chunk loaded under 'source', or nil.
local function made_text(source)
  for _, m in pairs(made) do
    if m.source == source and m.text then return m.text end
  end
end

-- The position of the `do` that ends a loop header whose last expression
-- ends at 'after': only spaces and comments can stand between them.
local function find_do(text, after)
  local pos = after + 1
  while true do
    pos = find(text, "[^ \t\r\n\f\v]", pos) or #text + 1
    if sub(text, pos, pos + 1) ~= "--" then break end
    local eq = match(text, "^%[(=*)%[", pos + 2)
    if eq then
      local _, e = find(text, "]" .. eq .. "]", pos, true)
      pos = (e or #text) + 1
    else
      pos = find(text, "[\r\n]", pos) or #text + 1
    end
  end
  if sub(text, pos, pos + 1) == "do" then return pos end
  return nil
end

local function header_end(loop)
  if loop.tag == "Fornum" then return (loop.step or loop.limit).endpos end
  return loop.exprs[#loop.exprs].endpos
end

-- Compile-time constants of enclosing functions that f's text reads
-- (Lua 5.4 <const> locals: no variable, the value is compiled in).
local function outer_constants(node)
  local own, seen, out = {}, {}, {}
  for _, fn in ipairs(ast.functions(node)) do own[fn] = true end
  ast.walk(node, function(n)
    local d = n.tag == "Id" and n.decl
    if d and d.ctc and not own[d.func] and not seen[d.name] then
      seen[d.name] = true
      out[#out + 1] = { name = d.name, value = d.value }
    end
  end)
  return out
end

local function optimize(f, limit, strict, text, on_fallback)
  local report = {}
  local info = getinfo(f, "S")
  if info.what == "C" then return f, report end
  local src = info.short_src
  local again = made_report(f, info)
  if again then  -- made by this front end: it stays as it is
    for _, e in ipairs(again) do
      if strict and not e.optimized then
        raise(format("cpm: %s:%d: %s", src, e.line, e.reason))
      end
    end
    return f, again
  end
  local function giveup(why)
    if strict then raise(format("cpm: %s: %s", src, why)) end
    report.reason = why
    return f, report
  end

  if VM54 and info.what == "main" then
    -- a Lua 5.4 main chunk has _ENV as its upvalue, which no function
    -- text can have: the fingerprint could never match
    return giveup("a main chunk on Lua 5.4 is the bytecode front end's")
  end
  if not text and sub(info.source, 1, 1) == "=" then text = made_text(info.source) end
  local node, chunk
  node, chunk, text = locate.locate(f, text)
  if not node then return giveup((match(chunk, "^cpm: (.*)") or chunk)) end
  local starts = grammar.line_starts(text)
  local ctx = { text = text, vm54 = VM54, prefix = emit.prefix(text),
    lineof = function(pos) return grammar.line_of(starts, pos) end }
  ctx.getfenv = ctx.prefix .. "F"
  local upnames, consts = emit.upvalue_names(f), outer_constants(node)
  ctx.upnames = upnames

  -- the text must be f's: compile it again and compare
  local chunkname = info.source
  local plain, why = emit.chunk(ctx, node, emit.func(ctx, node, {}), upnames, consts)
  if not plain then return giveup(why) end
  local g0, why0 = emit.load(ctx, plain, chunkname, f, {})
  if not g0 then return giveup(why0) end
  local fp, fwhy = fingerprint.of(f, node.main)
  if not fp then return giveup("cannot read the compiled function: " .. fwhy) end
  local fp0, fwhy0 = fingerprint.of(g0, node.main)
  if not fp0 then return giveup("cannot read the compiled function: " .. fwhy0) end
  if fp0 ~= fp then
    return giveup("the source text found is not the function's"
      .. " (was it changed after it was loaded?)")
  end

  local loops = {}
  ast.walk(node, function(n)
    if n.tag == "Fornum" or n.tag == "Forin" or n.tag == "While" then
      loops[#loops + 1] = n
    elseif n.tag == "Repeat" then
      -- `until true` compiles to no loop at all
      local ok, v = scope.constant(n.cond)
      if not (ok and v ~= nil and v ~= false) then loops[#loops + 1] = n end
    end
  end)
  local guards, repl, planned = {}, {}, {}
  for _, loop in ipairs(loops) do
    local counted = loop.tag == "While" or loop.tag == "Repeat"
    local dopos = not counted and find_do(text, header_end(loop))
    -- a while loop on the line of its test, a repeat loop on the line of
    -- `until`'s test, as the bytecode front end (the first instruction of
    -- the loop's code that is not its body); `while true`, which tests
    -- nothing, on the line of its body's first statement
    local const, truth
    if counted then const, truth = scope.constant(loop.cond) end
    local first = loop.body.body[1]
    local line = dopos and ctx.lineof(dopos)
      or (loop.tag == "While" and const and truth and first and ctx.lineof(first.pos))
      or (counted and ctx.lineof(loop.cond.pos)) or loop.line
    local entry = { line = line, optimized = false,
      kind = counted and (loop.tag == "While" and "while" or "repeat") or nil }
    report[#report + 1] = entry
    if not dopos and not counted then
      entry.reason = "loop header not understood"
    else
      ctx.line = line
      local ir, refs, rline = lower.lower(loop, ctx)
      local plan, pinfo
      if ir then
        plan, pinfo, rline = core._plan(ir)
      else
        pinfo = refs
      end
      if not plan then
        entry.reason = pinfo
        entry.line = (rline and rline ~= 0) and rline or line
      else
        local p = { id = #guards + 1, inputs = {}, outputs = {} }
        for i, s in ipairs(pinfo.inputs) do p.inputs[i] = refs[s] and refs[s].name end
        for i, s in ipairs(pinfo.outputs) do p.outputs[i] = refs[s] and refs[s].assign end
        local named = #p.inputs == #pinfo.inputs and #p.outputs == #pinfo.outputs
        if named and pinfo.w then  -- the test's operands, for the pre-check
          -- x: a slot, { k = constant } or { op =, sym =, x [, y] } (an
          -- expression: plan_lua.c, pushwnode); nil when it has no text
          local function operand(x)
            if type(x) == "number" then
              local name = refs[x] and refs[x].name
              return name and { text = name, leaves = { name } }
            end
            if x.op then return emit.arithmetic(x, operand) end
            -- a string, boolean or nil constant (k = nil) has no numeric
            -- text: the guard decides (it runs such a loop as written)
            if type(x.k) ~= "number" then return { always = true, leaves = {} } end
            local lit = emit.literal(x.k)
            return lit and { text = "(" .. lit .. ")", leaves = {} }
          end
          p.w = { x = operand(pinfo.w.counter), b = operand(pinfo.w.bound),
            s = operand(pinfo.w.step), negate = pinfo.w.negate }
          named = p.w.x and p.w.b and p.w.s
        end
        if not named then
          entry.reason = "a loop variable the generated code cannot name"
        else
          guards[p.id], p.limit = core._guard(plan, limit, strict,
            format("%s:%d", src, line), guards, p.id, on_fallback)
          repl[#repl + 1] = { pos = loop.pos, endpos = loop.endpos,
            loop = loop, plan = p, dopos = dopos, counted = counted }
          entry.optimized, entry.iters_limit = true, p.limit
          entry.depends = pinfo.depends
          planned[#planned + 1] = entry
        end
      end
    end
    if strict and not entry.optimized then
      raise(format("cpm: %s:%d: %s", src, entry.line, entry.reason))
    end
  end
  if #repl == 0 then return f, report end
  repl = nest(ctx, repl)

  local text2, why2 = emit.chunk(ctx, node, emit.func(ctx, node, repl), upnames, consts)
  local g, why3
  if text2 then g, why3 = emit.load(ctx, text2, chunkname, f, guards) end
  if not g then
    for _, e in ipairs(planned) do
      e.optimized, e.reason, e.iters_limit = false, why2 or why3, nil
    end
    if strict then giveup(why2 or why3) end
    return f, report
  end
  made[guards] = { report = report, source = chunkname, text = text }
  return g, report, guards
end

-- optimize(f, iters_limit, strict [, text [, on_fallback]])
--   -> g, report [, guards]
-- report: { { line = n, optimized = bool, reason = text }... } for every
-- loop of f and of the functions in it, and report.reason when f's text
-- could not be used at all.  text, when given, is the text f was loaded
-- from (cpm.load).  With strict, raises "cpm: ..." instead of giving a
-- loop up, and the guards raise when they fall back.
-- An error of the front end itself (a bug, or memory running out) never
-- reaches the caller as such: f comes back, as for any other reason, with
-- report.reason "internal error in the source front end: <error>" (with
-- strict, raised as "cpm: <short_src>: internal error ...").
-- guards: g's table of guards, whose field "stats" holds the loops'
-- records (src/core/guard.h); on_fallback: the user's (guard.h).
function M.optimize(f, limit, strict, text, on_fallback)
  local ok, g, report, guards = pcall(optimize, f, limit, strict, text, on_fallback)
  if ok then return g, report, guards end
  if getmetatable(g) == Raised then error(g.msg, 0) end
  local why = "internal error in the source front end: " .. tostring(g)
  if strict then
    local info = getinfo(f, "S")
    error(format("cpm: %s: %s", info and info.short_src or "?", why), 0)
  end
  return f, { reason = why }
end

return M
