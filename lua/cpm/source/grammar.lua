-- The LPeg grammar of the source front end: Lua 5.1 as LuaJIT 2.1 accepts
-- it (goto, 64-bit and imaginary literals, hex floats, \x \z \u escapes)
-- united with Lua 5.4 (integer division, bitwise operators, <const>/<close>).
-- It turns a chunk into the AST documented in cpm/source/ast.lua, or into
-- its token sequence.  Patterns are built once, when this module loads.
-- Parsing never raises: errors come back as nil plus "chunk:LINE: message".

-- Lua 5.1 builds of LPeg (Debian's lua-lpeg under LuaJIT) register the
-- module with luaL_register, which also sets the global `lpeg`.  cpm
-- runs inside other programs and leaves _G as it found it: when this
-- require made the global, it is removed again, and so is the module's
-- entry in package.loaded, so that a program requiring lpeg later gets
-- exactly what it would have got without cpm (the global included).  A
-- program that loaded lpeg before keeps its global and its module.
local lpeg
do
  local G, loaded = _G, package.loaded
  local had_global, had_module = rawget(G, "lpeg"), loaded.lpeg
  lpeg = require "lpeg"
  if rawget(G, "lpeg") ~= had_global then
    rawset(G, "lpeg", had_global)
    if had_module == nil and loaded.lpeg == lpeg then loaded.lpeg = nil end
  end
end

local P, S, R, V = lpeg.P, lpeg.S, lpeg.R, lpeg.V
local C, Cp, Cc, Ct, Cg, Cmt, Carg = lpeg.C, lpeg.Cp, lpeg.Cc, lpeg.Ct,
  lpeg.Cg, lpeg.Cmt, lpeg.Carg
local match, setmaxstack = lpeg.match, lpeg.setmaxstack
local registry = debug.getregistry
local error, pcall, type, tostring, tonumber =
  error, pcall, type, tostring, tonumber
local find, sub, byte, char, format, gsub =
  string.find, string.sub, string.byte, string.char, string.format, string.gsub
local concat, floor = table.concat, math.floor

-- LuaJIT 2.1.0-beta3's trace compiler now and then produced machine code
-- that crashed (SIGSEGV) while the parser spec ran; interpreted, never.
-- Parsing is a one-time cost per optimized function, so it is not compiled.
if rawget(_G, "jit") then jit.off(true, true) end
local _ENV = nil -- luacheck: ignore (5.4: catch stray globals; 5.1: a plain local)

local M = {}

---------------------------------------------------------------- positions

-- Line starts, so a byte position maps to the line the VM reports.  A line
-- break is \n, \r, \r\n or \n\r, each counted once, as both lexers do.
local function line_starts(src)
  local starts, n, i, len = { 1 }, 1, 1, #src
  while i <= len do
    local a = find(src, "[\r\n]", i)
    if not a then break end
    local c, d = byte(src, a), byte(src, a + 1)
    if (c == 13 and d == 10) or (c == 10 and d == 13) then a = a + 1 end
    n = n + 1
    starts[n] = a + 1
    i = a + 1
  end
  return starts
end

local function line_of(starts, pos)
  local lo, hi = 1, #starts
  while lo < hi do
    local mid = floor((lo + hi + 1) / 2)
    if starts[mid] <= pos then lo = mid else hi = mid - 1 end
  end
  return lo
end
M.line_starts, M.line_of = line_starts, line_of

---------------------------------------------------------------- lexical

local digit, hexdigit = R"09", R("09", "af", "AF")
local alpha = R("az", "AZ") + "_"
local identchar = alpha + digit
local newline = P"\r\n" + "\n\r" + "\n" + "\r"

-- Long brackets: find the matching close bracket by plain search, which
-- is both simpler and faster than a backreference.  Captures the text
-- between the brackets.
local longbracket = Cmt(P"[" * C(P"="^0) * "[", function(s, i, eq)
  local a, b = find(s, "]" .. eq .. "]", i, true)
  if not a then return false end
  return b + 1, sub(s, i, a - 1)
end)

local comment = P"--" * (longbracket / 0 + (1 - S"\r\n")^0)
local space = S" \t\r\n\f\v"
local skip = (space^1 + comment)^0

local keyword
do
  local list = {}
  for w in ("and break do else elseif end false for function goto if in local"
            .. " nil not or repeat return then true until while"):gmatch("%a+") do
    list[#list + 1] = w
  end
  -- each word ends at a non-identifier character ("else" is no prefix
  -- of "elseif": a PEG choice does not come back to try later words)
  keyword = P(false)
  for i = 1, #list do keyword = keyword + P(list[i]) * -identchar end
end
local ident = -keyword * alpha * identchar^0

-- Numerals: the union of both VMs' forms.  A numeral may not run into an
-- identifier character or a dot, so "3..2" and "1e" are errors as in Lua.
local exponent = S"eE" * S"+-"^-1 * digit^1
local decimal = (digit^1 * ("." * digit^0)^-1 + "." * digit^1) * exponent^-1
local hexponent = S"pP" * S"+-"^-1 * digit^1
local hexnum = "0" * S"xX" * (hexdigit^1 * ("." * hexdigit^0)^-1
  + "." * hexdigit^1) * hexponent^-1
local intsuffix = (S"uU"^-1 * S"lL" * S"lL")
local numeral = (("0" * S"xX" * hexdigit^1 + digit^1) * intsuffix
  + (hexnum + decimal) * S"iI"^-1) * -(identchar + ".")

-- Short strings are checked and decoded; a bad escape fails the token.
local escapes = { a = "\a", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t",
  v = "\v", ["\\"] = "\\", ['"'] = '"', ["'"] = "'" }

local function utf8_encode(x)
  if x < 0x80 then return char(x) end
  local bytes, limit = {}, 0x3f
  while x > limit do
    bytes[#bytes + 1] = char(0x80 + x % 64)
    x = floor(x / 64)
    limit = floor(limit / 2)
  end
  -- lead byte: the high bits set for the sequence length
  local lead = 256 - 2 * (limit + 1) + x
  bytes[#bytes + 1] = char(lead)
  local out = {}
  for i = #bytes, 1, -1 do out[#out + 1] = bytes[i] end
  return concat(out)
end

-- Decodes the body of a short string; nil when an escape is invalid.
local function decode_short(body)
  local out, i, n = {}, 1, #body
  while i <= n do
    local a = find(body, "\\", i, true)
    if not a then out[#out + 1] = sub(body, i); break end
    out[#out + 1] = sub(body, i, a - 1)
    local c = sub(body, a + 1, a + 1)
    i = a + 2
    if escapes[c] then
      out[#out + 1] = escapes[c]
    elseif c == "\n" or c == "\r" then
      local d = sub(body, i, i)
      if (d == "\n" or d == "\r") and d ~= c then i = i + 1 end
      out[#out + 1] = "\n"
    elseif c == "x" then
      local h = sub(body, i, i + 1)
      if not find(h, "^%x%x$") then return nil end
      out[#out + 1] = char(tonumber(h, 16))
      i = i + 2
    elseif c == "z" then
      local _, e = find(body, "^[ \t\r\n\f\v]*", i)
      i = e + 1
    elseif find(c, "^%d$") then
      local _, e, d = find(body, "^(%d%d?%d?)", a + 1)
      local v = tonumber(d)
      if v > 255 then return nil end
      out[#out + 1] = char(v)
      i = e + 1
    elseif c == "u" then
      local _, e, h = find(body, "^{(%x+)}", i)
      if not h then return nil end
      local v = tonumber(h, 16)
      if #gsub(h, "^0*", "") > 8 or v >= 2^31 then return nil end
      out[#out + 1] = utf8_encode(v)
      i = e + 1
    else
      return nil
    end
  end
  return concat(out)
end

local function shortstring(q)
  return q * C(((P"\\" * (P"z" * space^0 + newline + 1)) + (1 - S(q .. "\\\r\n")))^0) * q
end
local shortstr = Cmt(C(shortstring('"') + shortstring("'")),
  function(_, i, raw, body)
    local v = decode_short(body)
    if v then return i, raw, v end
    return false
  end)

-- A long string drops one leading line break and reads every line break
-- as "\n", like the Lua lexers (llex.c inclinenumber, lj_lex.c
-- lex_newline): from left to right, a \r or \n followed by the other
-- one of the two is one break, anything else one break per character (so
-- \r\n\r is two breaks, \r\r\n two as well).
local function long_value(body)
  local out, i, n = {}, 1, #body
  local a = find(body, "[\r\n]")
  if a == 1 then
    local c, d = byte(body, 1), byte(body, 2)
    i = (d == 10 or d == 13) and d ~= c and 3 or 2
    a = find(body, "[\r\n]", i)
  end
  while a do
    out[#out + 1] = sub(body, i, a - 1)
    out[#out + 1] = "\n"
    local c, d = byte(body, a), byte(body, a + 1)
    i = (d == 10 or d == 13) and d ~= c and a + 2 or a + 1
    a = find(body, "[\r\n]", i)
  end
  out[#out + 1] = sub(body, i, n)
  return concat(out)
end
local longstr = (C(longbracket)) / function(raw, body) return raw, long_value(body) end

local symbols = { "...", "..", "::", "<<", ">>", "//", "==", "~=", "<=", ">=",
  "+", "-", "*", "/", "%", "^", "#", "&", "~", "|", "<", ">", "=", "(", ")",
  "{", "}", "[", "]", ";", ":", ",", "." }

-- Shebang and byte-order mark: skipped as LuaJIT and luaL_loadfile do.
local header = P"\239\187\191"^-1 * ("#" * (1 - S"\r\n")^0)^-1

---------------------------------------------------------------- tokens

do
  local sym = P(symbols[1])
  for i = 2, #symbols do sym = sym + symbols[i] end
  local function tok(kind, patt)
    return Cp() * C(patt) / function(pos, text) return { kind = kind, text = text, pos = pos } end
  end
  local one = tok("keyword", keyword) + tok("name", ident)
    + tok("number", numeral)
    + tok("string", (shortstr + longstr) / 0)
    + tok("symbol", "[" * -(P"="^0 * "[") + sym)
  local lexer = header * Ct((skip * one)^0) * skip * Cp()
  M.lex_one = skip * one
  -- tokens(src [, chunkname]) -> list of {kind, text, pos} | nil, message
  -- kinds: keyword, name, number, string, symbol.  Whatever lies between
  -- consecutive tokens is whitespace, comments or the first-line header.
  function M.tokens(src, chunkname)
    local ok, list, stop = pcall(match, lexer, src)
    if not ok then return nil, tostring(list) end
    if stop <= #src then
      return nil, M.message(src, chunkname, stop, "unexpected symbol")
    end
    return list
  end
end

---------------------------------------------------------------- errors

-- The chunk name as the VMs print it in messages.
local function chunkid(name, src)
  name = name or src
  local c = sub(name, 1, 1)
  if c == "@" or c == "=" then return sub(name, 2) end
  local line = sub(name, 1, (find(name, "[\r\n]") or 61) - 1)
  if #line < #name then line = sub(line, 1, 60) .. "..." end
  return '[string "' .. line .. '"]'
end

-- "chunk:LINE: why near 'token'" for a failure at byte position pos.
function M.message(src, chunkname, pos, why)
  local nearpos = match(skip * Cp(), src, pos)
  local near
  if nearpos > #src then
    near = "<eof>"
  else
    local t = match(M.lex_one, src, nearpos)
    near = t and t.text or match(C((1 - space)^1), src, nearpos)
    if #near > 40 then near = sub(near, 1, 40) .. "..." end
    near = "'" .. near .. "'"
  end
  local starts = line_starts(src)
  local line = nearpos > #src and #starts or line_of(starts, nearpos)
  return format("%s:%d: %s near %s", chunkid(chunkname, src), line, why, near)
end

---------------------------------------------------------------- grammar

-- Per-parse state (Carg(1)): the line starts and the farthest position
-- where a token was tried, which is where a syntax error is reported.
local function mark(_, i, st)
  if i > st.far then st.far = i end
  return true
end
local marker = Cmt(Carg(1), mark)

-- A token: skip, note the position, match.  "[" is a symbol only when it
-- does not open a long bracket; "-", "." and the like never swallow the
-- longer symbols because skip already took comments and symbols are
-- tried longest first.
local function T(s)
  local p
  if s == "[" then p = P"[" * -(P"="^0 * "[")
  elseif s == "=" or s == "<" or s == ">" or s == "~" or s == "/" or s == ":"
      or s == "." or s == ".." then
    local longer = { ["="] = P"=", ["<"] = S"=<", [">"] = S"=>", ["~"] = P"=",
      ["/"] = P"/", [":"] = P":", ["."] = P".", [".."] = P"." }
    p = P(s) * -longer[s]
  elseif find(s, "^%a") then p = P(s) * -identchar
  else p = P(s) end
  return skip * marker * p
end
local Name = skip * marker * C(ident)

-- Node builders.  A node pattern is skip * Cp * fields * Cp, so pos is the
-- first byte of the node's first token and endpos the last byte of its last.
local function finish(t, tag, p, e, st)
  t.tag, t.pos, t.endpos, t.line = tag, p, e - 1, line_of(st.lines, p)
  return t
end
local function node(tag, patt)
  return skip * Cp() * Ct(patt) * Cp() * Carg(1) / function(p, t, e, st)
    return finish(t, tag, p, e, st)
  end
end
local function list(patt) return Ct(patt) end
local function field(name, patt) return Cg(patt, name) end

-- A syntax error found while building the tree: raised inside the match,
-- caught by parse and reported like a grammar failure.
local function syntax_error(pos, why)
  error({ cpm_syntax = true, pos = pos, why = why or "syntax error" }, 0)
end

-- Operator priorities, left and right, exactly as Lua 5.4's lparser.c.
local priority = {
  ["or"] = { 1, 1 }, ["and"] = { 2, 2 },
  ["<"] = { 3, 3 }, [">"] = { 3, 3 }, ["<="] = { 3, 3 }, [">="] = { 3, 3 },
  ["~="] = { 3, 3 }, ["=="] = { 3, 3 },
  ["|"] = { 4, 4 }, ["~"] = { 5, 5 }, ["&"] = { 6, 6 },
  ["<<"] = { 7, 7 }, [">>"] = { 7, 7 }, [".."] = { 9, 8 },
  ["+"] = { 10, 10 }, ["-"] = { 10, 10 },
  ["*"] = { 11, 11 }, ["/"] = { 11, 11 }, ["//"] = { 11, 11 }, ["%"] = { 11, 11 },
  ["^"] = { 14, 13 },
}
local UNARY = 12

-- Folds the flat list {unop..., operand, binop, unop..., operand, ...}
-- into a tree by precedence climbing, the way lparser.c's subexpr does.
local function climb(items, i, limit, st)
  local it, left = items[i]
  if it.unop then
    local operand
    operand, i = climb(items, i + 1, UNARY, st)
    left = { tag = "Unop", op = it.unop, operand = operand, pos = it.pos,
      endpos = operand.endpos, line = it.line }
  else
    left, i = it, i + 1
  end
  while true do
    local op = items[i]
    if not op then break end
    local pr = priority[op.binop]
    if pr[1] <= limit then break end
    local right
    right, i = climb(items, i + 1, pr[2], st)
    left = { tag = "Binop", op = op.binop, lhs = left, rhs = right,
      pos = left.pos, endpos = right.endpos, line = left.line }
  end
  return left, i
end

-- Suffixes fold left onto the primary expression.
local function suffixed(base, sufs, _st)
  for i = 1, #sufs do
    local s = sufs[i]
    local n
    if s.k == "dot" then
      n = { tag = "Index", obj = base, key = s.key, dot = true }
    elseif s.k == "index" then
      n = { tag = "Index", obj = base, key = s.key }
    elseif s.k == "invoke" then
      n = { tag = "Invoke", obj = base, method = s.name, args = s.args, style = s.style }
    else
      n = { tag = "Call", func = base, args = s.args, style = s.style }
    end
    n.pos, n.endpos, n.line = base.pos, s.e - 1, base.line
    base = n
  end
  return base
end

local function exprstat(p, targets, exprs, e, st)
  if exprs then
    for i = 1, #targets do
      local t = targets[i]
      if t.tag ~= "Id" and t.tag ~= "Index" then syntax_error(t.endpos + 1) end
    end
    return finish({ targets = targets, exprs = exprs }, "Set", p, e, st)
  end
  local t = targets[1]
  if #targets > 1 or (t.tag ~= "Call" and t.tag ~= "Invoke") then
    syntax_error(targets[#targets].endpos + 1)
  end
  return finish({ call = t }, "CallStat", p, e, st)
end

-- Function nodes get the lines debug.getinfo reports: linedefined is the
-- line of `function` in a function statement and of "(" otherwise (both
-- VMs read the line counter after the token that follows), lastlinedefined
-- the line of the closing `end`.
local function funcbody(p, t, e, st)
  finish(t, "Function", p, e, st)
  t.linedefined = t.stat_line or line_of(st.lines, t.lparen)
  t.lastlinedefined = line_of(st.lines, t.endkw)
  t.lparen, t.endkw, t.stat_line = nil, nil, nil
  t.is_vararg = t.is_vararg or false
  t.is_method = false
  return t
end

local function localstat(p, t, e, st)
  for i = 1, #t.names do
    local a = t.names[i].attrib
    if a and a ~= "const" and a ~= "close" then
      syntax_error(t.names[i].endpos + 1, "unknown attribute '" .. a .. "'")
    end
  end
  return finish(t, "Local", p, e, st)
end

local G = {
  "Chunk",
  Chunk = header * skip * Cp() * V"Block" * skip * Cp() * Carg(1) * -1
    / function(p, block, e, st)
      local f = finish({ body = block, params = {}, is_vararg = true,
        is_method = false, main = true }, "Function", p, e, st)
      f.pos, f.endpos = 1, e - 1
      f.linedefined, f.lastlinedefined = 0, 0
      f.lastline = #st.lines
      return f
    end,

  Block = Cmt(node("Block", field("body", list(V"Stat"^0 * V"RetStat"^-1))),
    function(_, i, b) return i, b end),

  Stat = node("Semi", T";")
    + V"If" + V"While" + V"Do" + V"For" + V"Repeat" + V"FuncStat" + V"LocalStat"
    + node("Label", T"::" * field("label", Name) * T"::")
    + node("Break", T"break")
    + node("Goto", T"goto" * field("label", Name))
    + V"ExprStat",

  RetStat = node("Return", T"return" * field("exprs", list(V"ExpList"^-1)) * T";"^-1),

  If = skip * Cp() * T"if" * Ct(V"Clause" * (T"elseif" * V"Clause")^0)
    * (T"else" * V"Block" + Cc(false)) * T"end" * Cp() * Carg(1)
    / function(p, clauses, orelse, e, st)
      local conds, blocks = {}, {}
      for i = 1, #clauses do conds[i], blocks[i] = clauses[i].cond, clauses[i].body end
      return finish({ conds = conds, blocks = blocks, orelse = orelse or nil }, "If", p, e, st)
    end,
  Clause = Ct(field("cond", V"Exp") * T"then" * field("body", V"Block")),

  While = node("While", T"while" * field("cond", V"Exp") * T"do"
    * field("body", V"Block") * T"end"),
  Do = node("Do", T"do" * field("body", V"Block") * T"end"),
  Repeat = node("Repeat", T"repeat" * field("body", V"Block") * T"until"
    * field("cond", V"Exp")),
  For = node("Fornum", T"for" * field("var", V"DeclId") * T"=" * field("start", V"Exp")
      * T"," * field("limit", V"Exp") * (T"," * field("step", V"Exp"))^-1
      * T"do" * field("body", V"Block") * T"end")
    + node("Forin", T"for" * field("names", list(V"DeclId" * (T"," * V"DeclId")^0))
      * T"in" * field("exprs", list(V"ExpList")) * T"do" * field("body", V"Block")
      * T"end"),

  FuncStat = skip * Cp() * T"function" * V"FuncName" * V"FuncBody" * Cp() * Carg(1)
    / function(p, name, method, f, e, st)
      local t = finish({ name = name, method = method or nil, func = f }, "FuncStat", p, e, st)
      f.linedefined = t.line
      if method then f.is_method = true end
      return t
    end,
  FuncName = skip * V"Id" * Ct(V"DotName"^0) * Carg(1) * (T":" * Name + Cc(false))
    / function(base, dots, _st, method)
      for i = 1, #dots do
        local d = dots[i]
        base = { tag = "Index", obj = base, key = d.key, dot = true,
          pos = base.pos, endpos = d.e - 1, line = base.line }
      end
      return base, method
    end,
  DotName = Ct(T"." * field("key", V"NameKey") * field("e", Cp())),

  LocalStat = node("LocalFunction", T"local" * T"function" * field("name", V"DeclId")
      * field("func", V"FuncBody"))
    + skip * Cp() * Ct(T"local" * field("names", list(V"AttName" * (T"," * V"AttName")^0))
      * (T"=" * field("exprs", list(V"ExpList")))^-1) * Cp() * Carg(1) / localstat,
  AttName = skip * Cp() * Ct(field("name", Name)
      * (T"<" * field("attrib", Name) * T">")^-1) * Cp() * Carg(1)
    / function(p, t, e, st) return finish(t, "Id", p, e, st) end,

  ExprStat = skip * Cp() * list(V"SuffixedExp" * (T"," * V"SuffixedExp")^0)
    * (T"=" * list(V"ExpList") + Cc(false)) * Cp() * Carg(1) / exprstat,

  ExpList = V"Exp" * (T"," * V"Exp")^0,

  -- Expressions: a flat operand/operator list folded by climb.
  -- Built at match time (Cmt): LPeg evaluates nested captures recursively
  -- with a fixed depth limit of 200, a few levels per syntactic level;
  -- handing back the finished node restarts that count.
  Exp = Cmt(Ct(V"Unop"^0 * V"SimpleExp" * (V"Binop" * V"Unop"^0 * V"SimpleExp")^0)
    * Carg(1), function(_, i, items, st) return i, (climb(items, 1, 0, st)) end),
  Unop = skip * marker * Cp() * C(P"not" * -identchar + "-" + "#" + "~" * -P"=")
    * Carg(1) / function(p, op, st) return { unop = op, pos = p, line = line_of(st.lines, p) } end,
  Binop = skip * marker * C(P"or" * -identchar + P"and" * -identchar
    + ".." * -P"." + "//" + "<<" + ">>" + "<=" + ">=" + "==" + "~="
    + S"+-*/%^<>&|~")
    / function(op) return { binop = op } end,

  SimpleExp = node("Nil", T"nil") + node("True", T"true") + node("False", T"false")
    + node("Dots", T"...")
    + node("Number", skip * marker * field("text", C(numeral)))
    + V"String"
    + V"Table"
    + skip * Cp() * T"function" * Ct(V"FuncBodyFields") * Cp() * Carg(1) / funcbody
    + V"SuffixedExp",

  String = skip * Cp() * marker * (shortstr + longstr) * Cp() * Carg(1)
    / function(p, raw, v, e, st)
      return finish({ raw = raw, value = v }, "String", p, e, st)
    end,

  FuncBody = skip * Cp() * Ct(V"FuncBodyFields") * Cp() * Carg(1) / funcbody,
  FuncBodyFields = skip * field("lparen", Cp()) * T"("
    * (field("params", list(V"DeclId" * (T"," * V"DeclId")^0))
        * (T"," * T"..." * field("is_vararg", Cc(true)))^-1
      + field("params", list(P(true))) * (T"..." * field("is_vararg", Cc(true)))^-1)
    * T")"
    * field("body", V"Block") * skip * field("endkw", Cp()) * T"end",

  PrimaryExp = V"Id" + node("Paren", T"(" * field("expr", V"Exp") * T")"),
  Id = node("Id", field("name", Name)),
  DeclId = node("Id", field("name", Name)),
  NameKey = skip * Cp() * Name * Cp() * Carg(1) / function(p, n, e, st)
    return finish({ value = n, raw = n }, "String", p, e, st)
  end,

  SuffixedExp = V"PrimaryExp" * Ct(V"Suffix"^0) * Carg(1) / suffixed,
  Suffix = Ct(T"." * field("k", Cc"dot") * field("key", V"NameKey") * field("e", Cp())
    + T"[" * field("k", Cc"index") * field("key", V"Exp") * T"]" * field("e", Cp())
    + T":" * field("k", Cc"invoke") * field("name", Name) * V"CallArgs" * field("e", Cp())
    + field("k", Cc"call") * V"CallArgs" * field("e", Cp())),
  CallArgs = T"(" * field("style", Cc"paren") * field("args", list(V"ExpList"^-1)) * T")"
    + field("style", Cc"table") * field("args", list(V"Table"))
    + field("style", Cc"string") * field("args", list(V"String")),

  Table = node("Table", T"{" * field("fields", list((V"Field" * (V"FieldSep" * V"Field")^0
    * V"FieldSep"^-1)^-1)) * T"}"),
  FieldSep = T"," + T";",
  Field = node("ExpField", T"[" * field("key", V"Exp") * T"]" * T"=" * field("value", V"Exp"))
    + node("NameField", field("name", Name) * T"=" * field("value", V"Exp"))
    + node("ListField", field("value", V"Exp")),
}

local chunk_grammar = P(G)
G[1] = "ExpOnly"
G.ExpOnly = V"Exp" * skip * -1
local exp_grammar = P(G)

-- LPeg's default backtrack stack (400 entries) holds about 20 levels of
-- nested functions; the VMs allow about 100 (LuaJIT) to 200 (Lua 5.4).
-- The limit is per lua_State and shared with every LPeg user, so it is
-- only ever raised, never lowered.
local MAXSTACK = 25000
local function ensure_stack()
  local reg = registry()
  local cur = reg and tonumber(reg["lpeg-maxstack"]) or 400
  if cur < MAXSTACK then setmaxstack(MAXSTACK) end
end

local function run(grammar, src, chunkname)
  if type(src) ~= "string" then return nil, "cpm: source text must be a string" end
  ensure_stack()
  local st = { lines = line_starts(src), far = 1 }
  local ok, res = pcall(match, grammar, src, 1, st)
  if not ok then
    if type(res) == "table" and res.cpm_syntax then
      return nil, M.message(src, chunkname, res.pos, res.why)
    end
    -- LPeg's backtrack stack or the Lua stack ran out: too deeply nested
    return nil, chunkid(chunkname, src) .. ": chunk too complex to parse ("
      .. tostring(res) .. ")"
  end
  if not res then return nil, M.message(src, chunkname, st.far, "syntax error") end
  return res
end

-- parse(src [, chunkname]) -> Function node of the main chunk | nil, message
-- chunkname is as for load ("@file", "=name" or the text itself).
function M.parse(src, chunkname) return run(chunk_grammar, src, chunkname) end

-- parse_exp(src [, chunkname]) -> expression node | nil, message
function M.parse_exp(src, chunkname) return run(exp_grammar, src, chunkname) end

return M
