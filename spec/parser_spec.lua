-- The source front end's parser: it reads every Lua file we can find the
-- way the VM does (tokens, positions, printing, upvalue numbering), agrees
-- with the VM on operator precedence and on what is a syntax error, and
-- never raises.
local grammar = require "cpm.source.grammar"
local ast = require "cpm.source.ast"
local scope = require "cpm.source.scope"

local loadstring = loadstring or load
local is54 = _VERSION == "Lua 5.4" and not jit

local read = require("files").read

-- Every Lua file of this project and of busted and penlight as Debian
-- installs them for both VMs.
local function corpus()
  local files = {}
  local h = io.popen("find lua spec /usr/share/lua/5.1/busted /usr/share/lua/5.1/pl"
    .. " /usr/share/lua/5.4/busted /usr/share/lua/5.4/pl -name '*.lua' 2>/dev/null | sort")
  for f in h:lines() do files[#files + 1] = f end
  h:close()
  return files
end
local files = corpus()

-- A tokenizer written separately from the grammar, character by character,
-- as the reference for kinds and texts.
local keywords = {}
for w in ("and break do else elseif end false for function goto if in local nil not"
          .. " or repeat return then true until while"):gmatch("%a+") do
  keywords[w] = true
end
local symbols = { "...", "..", "::", "<<", ">>", "//", "==", "~=", "<=", ">=" }
local function long_close(s, i)
  -- i is at "[": returns the index after the closing bracket, or nil
  local eq = s:match("^%[(=*)%[", i)
  if not eq then return nil end
  local _, e = s:find("]" .. eq .. "]", i + #eq + 2, true)
  return e and e + 1
end
local function simple_tokens(s)
  local out, i, n = {}, 1, #s
  if s:sub(1, 1) == "#" then i = (s:find("\n", 1, true) or n + 1) end
  while i <= n do
    local c = s:sub(i, i)
    if c:match("%s") then
      i = i + 1
    elseif s:sub(i, i + 1) == "--" then
      local e = s:sub(i + 2, i + 2) == "[" and long_close(s, i + 2)
      i = e or (s:find("\n", i, true) or n + 1)
    else
      local j, kind
      if c:match("[%a_]") then
        j = s:find("[^%w_]", i) or n + 1
        kind = keywords[s:sub(i, j - 1)] and "keyword" or "name"
      elseif c:match("%d") or (c == "." and s:sub(i + 1, i + 1):match("%d")) then
        j = i
        while j <= n do
          local d = s:sub(j, j)
          if d:match("[eEpP]") and s:sub(j + 1, j + 1):match("[+-]")
              and not s:sub(i, j):match("^0[xX]") or (d:match("[pP]") and s:sub(j + 1, j + 1):match("[+-]")) then
            j = j + 2
          elseif d:match("[%w_.]") then j = j + 1
          else break end
        end
        kind = "number"
      elseif c == '"' or c == "'" then
        j = i + 1
        while s:sub(j, j) ~= c do
          if s:sub(j, j) == "\\" then j = j + 1 end
          j = j + 1
        end
        j, kind = j + 1, "string"
      elseif c == "[" and long_close(s, i) then
        j, kind = long_close(s, i), "string"
      else
        kind, j = "symbol", i + 1
        for _, sym in ipairs(symbols) do
          if s:sub(i, i + #sym - 1) == sym then j = i + #sym; break end
        end
      end
      out[#out + 1] = { kind = kind, text = s:sub(i, j - 1), pos = i }
      i = j
    end
  end
  return out
end

describe("the source parser", function()
  it("finds a corpus of real Lua files to read", function()
    assert.is_true(#files > 150)
  end)

  it("parses every Lua file of the project, busted and penlight", function()
    local bad = {}
    for _, f in ipairs(files) do
      local tree, err = grammar.parse(read(f), "@" .. f)
      if not tree then bad[#bad + 1] = err end
    end
    assert.are.same({}, bad)
  end)

  describe("tokens", function()
    it("reproduce each file exactly, with the skipped text between them", function()
      local bad = {}
      for _, f in ipairs(files) do
        local src = read(f)
        local toks = assert(grammar.tokens(src, "@" .. f))
        local parts, at = {}, 1
        for _, t in ipairs(toks) do
          local gap = src:sub(at, t.pos - 1)
          -- what lies between tokens is only space, comments or the #! line
          local g = gap:gsub("^#[^\n]*", ""):gsub("%-%-%[(=*)%[.-%]%1%]", ""):gsub("%-%-[^\n]*", "")
          if g:match("%S") then bad[#bad + 1] = f .. ": gap " .. gap end
          parts[#parts + 1] = gap
          parts[#parts + 1] = t.text
          at = t.pos + #t.text
        end
        parts[#parts + 1] = src:sub(at)
        if table.concat(parts) ~= src then bad[#bad + 1] = f end
      end
      assert.are.same({}, bad)
    end)

    it("agree with a simple hand-written tokenizer on kinds and texts", function()
      local bad = {}
      for _, f in ipairs(files) do
        local src = read(f)
        local a, b = assert(grammar.tokens(src)), simple_tokens(src)
        local n = math.max(#a, #b)
        for i = 1, n do
          local x, y = a[i] or {}, b[i] or {}
          if x.kind ~= y.kind or x.text ~= y.text or x.pos ~= y.pos then
            bad[#bad + 1] = string.format("%s: token %d: %s %q vs %s %q", f, i,
              tostring(x.kind), tostring(x.text), tostring(y.kind), tostring(y.text))
            break
          end
        end
      end
      assert.are.same({}, bad)
    end)

    it("are classified by kind", function()
      local toks = assert(grammar.tokens("local x = 0x1p4 .. [==[a]==] -- c\n::l:: goto l"))
      local kinds, texts = {}, {}
      for i, t in ipairs(toks) do kinds[i], texts[i] = t.kind, t.text end
      assert.are.same({ "keyword", "name", "symbol", "number", "symbol", "string",
        "symbol", "name", "symbol", "keyword", "name" }, kinds)
      assert.are.same({ "local", "x", "=", "0x1p4", "..", "[==[a]==]", "::", "l", "::",
        "goto", "l" }, texts)
    end)
  end)

  describe("positions", function()
    -- Re-parses a node's own text and compares with the node.
    local function reparse(src, n, parent)
      local text = src:sub(n.pos, n.endpos)
      if parent and parent.dot and n == parent.key then
        return text == n.value -- the name in a.name
      elseif ast.is_statement(n) then
        local t = grammar.parse(text)
        return t and #t.body.body == 1 and ast.equal(t.body.body[1], n)
      elseif n.tag == "Block" then
        local t = grammar.parse(text)
        return t and ast.equal(t.body.body, n.body)
      elseif n.tag == "Function" and not src:sub(n.pos):match("^function") then
        local t = grammar.parse_exp("function" .. text)
        return t and ast.equal(t.body, n.body) and ast.equal(t.params, n.params)
      elseif n.tag == "ListField" or n.tag == "NameField" or n.tag == "ExpField" then
        local t = grammar.parse_exp("{" .. text .. "}")
        return t and ast.equal(t.fields[1], n)
      elseif n.tag == "Id" and n.attrib then
        local t = grammar.parse("local " .. text)
        return t and ast.equal(t.body.body[1].names[1], n)
      end
      local t = grammar.parse_exp(text)
      return t and ast.equal(t, n)
    end

    it("delimit each node's text, which re-parses to an equal node", function()
      local bad, checked = {}, 0
      for k, f in ipairs(files) do
        -- every node of every project file, a sample of the rest
        if f:match("^lua/") or f:match("^spec/") or k % 7 == 0 then
          local src = read(f)
          local tree = assert(grammar.parse(src))
          ast.walk(tree, function(n, parent)
            if n.main then return end
            checked = checked + 1
            if not reparse(src, n, parent) then
              bad[#bad + 1] = string.format("%s:%d: %s %q", f, n.line, n.tag,
                src:sub(n.pos, math.min(n.endpos, n.pos + 60)))
            end
            return #bad < 10
          end)
        end
      end
      assert.are.same({}, bad)
      assert.is_true(checked > 10000)
    end)

    it("give each node the line of its first character", function()
      local src = "local a =\n  1 +\r\n  f(\n\r x)\n"
      local tree = assert(grammar.parse(src))
      local stat = tree.body.body[1]
      local add = stat.exprs[1]
      assert.are.same({ 1, 2, 2, 3, 4 }, { stat.line, add.line, add.lhs.line, add.rhs.line,
        add.rhs.args[1].line })
    end)
  end)

  describe("the printer", function()
    it("prints every file as source that loads and parses to an equal tree", function()
      local bad = {}
      for _, f in ipairs(files) do
        local tree = assert(grammar.parse(read(f)))
        local text = ast.tosource(tree)
        local back, err = grammar.parse(text)
        if not back then bad[#bad + 1] = f .. ": " .. err
        elseif not ast.equal(tree, back) then bad[#bad + 1] = f .. ": trees differ"
        elseif (is54 or not text:find("goto")) and not loadstring(text) then
          bad[#bad + 1] = f .. ": does not load"
        end
      end
      assert.are.same({}, bad)
    end)

    it("keeps parentheses, operators and numerals as written", function()
      local src = "return (f()), - -x, 2^-3, 0x10LL, 1e3, a..b..c, {[ [[k]] ] = 1}\n"
      local tree = assert(grammar.parse(src))
      local r = tree.body.body[1].exprs
      assert.are.equal("Paren", r[1].tag)
      assert.are.equal("Unop", r[2].operand.tag)
      assert.are.equal("0x10LL", r[4].text)
      assert.are.equal("1e3", r[5].text)
      local back = assert(grammar.parse(ast.tosource(tree)))
      assert.is_true(ast.equal(tree, back))
    end)
  end)

  describe("functions", function()
    it("record parameters, vararg and method-ness", function()
      local tree = assert(grammar.parse("function a.b:m(x, y, ...) end\nlocal function g() end"))
      local m = tree.body.body[1].func
      assert.are.same({ "x", "y", true, true },
        { m.params[1].name, m.params[2].name, m.is_vararg, m.is_method })
      local g = tree.body.body[2].func
      assert.are.same({ 0, false, false }, { #g.params, g.is_vararg, g.is_method })
    end)

    -- Every function of every file against what the VM says about it.
    local function sig(l1, l2, np, va, ups)
      return string.format("%d-%d/%d%s[%s]", l1, l2, np, va and "+" or "", table.concat(ups, ","))
    end
    local function vm_signatures(path, src)
      local out = {}
      if jit then
        local ju = require "jit.util"
        local function visit(p)
          local i = ju.funcinfo(p)
          local ups = {}
          for k = 0, i.upvalues - 1 do ups[#ups + 1] = ju.funcuvname(p, k) end
          out[#out + 1] = sig(i.linedefined, i.lastlinedefined, i.params, i.isvararg, ups)
          local k = -1
          while i.children do
            local c = ju.funck(p, k)
            if c == nil then break end
            if type(c) == "proto" then visit(c) end
            k = k - 1
          end
        end
        visit(assert(loadstring(src, "@" .. path)))
      else
        -- Lua 5.4 cannot reach nested prototypes from Lua: ask luac's listing
        local h = io.popen("luac5.4 -l -l -p " .. path .. " 2>/dev/null")
        local cur, list = nil, {}
        for line in h:lines() do
          local l1, l2 = line:match("^%a+ <.-:(%d+),(%d+)>")
          if l1 then
            cur = { l1 = tonumber(l1), l2 = tonumber(l2), ups = {} }
            list[#list + 1] = cur
          elseif cur and not cur.np then
            local n, plus = line:match("^(%d+)(%+?) params?")
            cur.np, cur.va = tonumber(n), plus == "+"
          elseif line:match("^upvalues %(") then cur.inups = true
          elseif line:match("^%a+ %(") then cur.inups = false
          elseif cur and cur.inups then
            local name = line:match("^\t%d+\t(%S+)\t%d+\t%d+$")
            if name then cur.ups[#cur.ups + 1] = name end
          end
        end
        h:close()
        for i, c in ipairs(list) do out[i] = sig(c.l1, c.l2, c.np, c.va, c.ups) end
      end
      table.sort(out)
      return out
    end
    local has_luac = jit or os.execute("luac5.4 -v >/dev/null 2>&1")

    it("have the line range, parameters and upvalues (in order) the VM reports", function()
      if not has_luac then pending("luac5.4 is not installed") return end
      local bad, compared = {}, 0
      for _, f in ipairs(files) do
        local src = read(f)
        local tree = scope.resolve(assert(grammar.parse(src)))
        local mine = {}
        for _, fn in ipairs(ast.functions(tree)) do
          local ups = {}
          for i, u in ipairs(fn.upvalues) do ups[i] = u.name end
          local last = (fn.main and jit) and fn.lastline or fn.lastlinedefined
          mine[#mine + 1] = sig(fn.linedefined, last, #fn.params + (fn.is_method and 1 or 0),
            fn.is_vararg, ups)
        end
        table.sort(mine)
        local vm = vm_signatures(f, src)
        compared = compared + #vm
        if table.concat(vm, " ") ~= table.concat(mine, " ") then bad[#bad + 1] = f end
      end
      assert.are.same({}, bad)
      assert.is_true(compared > 2000, compared .. " functions compared")
    end)
  end)

  describe("operators", function()
    -- Evaluates an expression tree with the VM's own operators, one at a time.
    local ops = {}
    local binops = { "+", "-", "*", "/", "%", "^", "..", "==", "~=", "<", "<=", ">", ">=",
      "and", "or" }
    if is54 then
      for _, o in ipairs({ "//", "&", "|", "~", "<<", ">>" }) do binops[#binops + 1] = o end
    end
    for _, o in ipairs(binops) do
      ops[o] = loadstring("return function(a, b) return a " .. o .. " b end")()
    end
    local unops = { "-", "not" }
    if is54 then unops[#unops + 1] = "~" end
    local un = {}
    for _, o in ipairs(unops) do un[o] = loadstring("return function(a) return " .. o .. " a end")() end
    local function eval(n)
      if n.tag == "Number" then return tonumber(n.text)
      elseif n.tag == "Paren" then return eval(n.expr)
      elseif n.tag == "Unop" then return un[n.op](eval(n.operand))
      elseif n.op == "and" then
        local a = eval(n.lhs)
        if not a then return a end
        return eval(n.rhs)
      elseif n.op == "or" then
        local a = eval(n.lhs)
        if a then return a end
        return eval(n.rhs)
      end
      return ops[n.op](eval(n.lhs), eval(n.rhs))
    end
    local function random_exp(depth)
      if depth <= 0 or math.random() < 0.2 then return tostring(math.random(0, 9)) end
      if math.random() < 0.1 then return "(" .. random_exp(depth - 1) .. ")" end
      local r = math.random()
      if r < 0.15 then return unops[math.random(#unops)] .. " " .. random_exp(depth - 1) end
      return random_exp(depth - 1) .. " " .. binops[math.random(#binops)] .. " " .. random_exp(depth - 1)
    end
    local function same(a, b) return a == b or (a ~= a and b ~= b) end

    it("group exactly as the VM does, on random expressions", function()
      math.randomseed(20240)
      local bad, compared = {}, 0
      for _ = 1, 3000 do
        local text = random_exp(5)
        local tree = assert(grammar.parse_exp(text))
        local ok1, v1 = pcall(loadstring("return " .. text))
        local ok2, v2 = pcall(eval, tree)
        if ok1 ~= ok2 or (ok1 and not same(v1, v2)) then bad[#bad + 1] = text end
        if ok1 and ok2 then compared = compared + 1 end
      end
      assert.are.same({}, bad)
      assert.is_true(compared > 1000)
    end)

    it("bind unary operators tighter than ^ on its left only", function()
      local t = assert(grammar.parse_exp("-x^2"))
      assert.are.same({ "Unop", "Binop" }, { t.tag, t.operand.tag })
      t = assert(grammar.parse_exp("2^-3^2"))
      assert.are.same({ "^", "Unop", "^" }, { t.op, t.rhs.tag, t.rhs.operand.op })
    end)

    it("are right-associative for .. and ^, left for the others", function()
      local t = assert(grammar.parse_exp("a .. b .. c"))
      assert.are.same({ "Id", "Binop" }, { t.lhs.tag, t.rhs.tag })
      t = assert(grammar.parse_exp("a - b - c"))
      assert.are.same({ "Binop", "Id" }, { t.lhs.tag, t.rhs.tag })
      t = assert(grammar.parse_exp("a // b & c << d ~ ~e | f"))
      assert.are.same({ "|", "~", "&", "//" }, { t.op, t.lhs.op, t.lhs.lhs.op, t.lhs.lhs.lhs.op })
    end)
  end)

  describe("syntax", function()
    it("accepts the LuaJIT extensions and the Lua 5.4 syntax", function()
      local src = [==[
#!/usr/bin/env luajit
local a, b <const>, c <close> = 1LL, 0x1ULL, 2i
local h = 0x1p4 + 0x.8P-1 + 1e-3 + .5
local s = '\x41\z
           \u{48}\u{7FFFFFFF}\65\0' .. [=[ ]] ]=]
--[=[ long ]] comment ]=] goto done
x = a // b & c | d ~ ~e << 1 >> 2
::done::]==]
      local tree, err = grammar.parse(src)
      assert.is_nil(err)
      local stats = tree.body.body
      assert.are.same({ "Local", "Local", "Local", "Goto", "Set", "Label" },
        { stats[1].tag, stats[2].tag, stats[3].tag, stats[4].tag, stats[5].tag, stats[6].tag })
      assert.are.same({ nil, "const", "close" },
        { stats[1].names[1].attrib, stats[1].names[2].attrib, stats[1].names[3].attrib })
      -- \u{7FFFFFFF} is the longest UTF-8 form Lua 5.4 writes: 6 bytes
      assert.are.equal("AH\253\191\191\191\191\191A\0", stats[3].exprs[1].lhs.value)
      assert.are.equal(" ]] ", stats[3].exprs[1].rhs.value)
    end)

    it("decodes strings as the VM does", function()
      local texts = { [['a\tb\\c\"d\'e']], [["\x41\66\z
          \u{3b1}\u{10FFFF}"]], "[[\nfirst line\r\nsecond]]", "'\\\n'", "'\\\r\n'",
        "[==[\r\n\nx\n\ry]==]", "[[\n\r\rz\r]]", "[[\r\r]]", "[[]]",
        "[[k\r\n\r]]", "[[\r\n\rk]]", "[[\n\r\nk\r\r\n]]", "'\\\n\r'" }
      for _, t in ipairs(texts) do
        local n = assert(grammar.parse_exp(t))
        assert.are.equal(loadstring("return " .. t)(), n.value)
      end
      -- every sequence of up to five line-break characters, in long
      -- strings and after a backslash, around other text
      local seqs = { "" }
      for _ = 1, 5 do
        for i = #seqs, 1, -1 do
          if #seqs[i] < 5 then
            seqs[#seqs + 1] = seqs[i] .. "\r"
            seqs[#seqs + 1] = seqs[i] .. "\n"
          end
        end
      end
      local n = 0
      for _, a in ipairs(seqs) do
        for _, t in ipairs { "[[" .. a .. "x" .. a .. "]]", "[==[" .. a .. "]==]",
            "'\\" .. a:sub(1, 2) .. "y'", '"x\\' .. a:sub(1, 1) .. '\\' .. a:sub(2, 3) .. '"' } do
          local f = loadstring("return " .. t)
          local node = grammar.parse_exp(t)
          if f then
            n = n + 1
            assert.are.equal(f(), node and node.value, ("%q"):format(t))
          else
            assert.is_nil(node and node.tag == "String" and node.value, ("%q"):format(t))
          end
        end
      end
      assert.is_true(n > 100)
    end)

    it("returns nil and 'chunk:LINE: ... near TOKEN' for syntax errors, on the VM's line", function()
      local broken = {
        "x = = 1", "local function f()\n  return 1\n\nx = 1", "for i = 1 do end",
        "a.b", "f() = 1", "local x <foo> = 1", "return 1,\n\n", "x = 3..2",
        "x = 'abc\ny'", "if x then\nelse\nelseif y then end", "x = [==[ abc ]=]",
        "local t = {1, 2\n 3}", [[x = "\q"]], "x = 1e", "(f)\n.x",
      }
      for _, src in ipairs(broken) do
        local tree, err = grammar.parse(src, "=case")
        assert.is_nil(tree, src)
        assert.is_string(err)
        local line = tonumber(err:match("^case:(%d+): .* near .+$"))
        assert.is_number(line, err)
        local _, vmerr = loadstring(src, "=case")
        if vmerr and not vmerr:find("attrib") then
          assert.are.equal(tonumber(vmerr:match("^case:(%d+):")), line, src .. " / " .. err .. " / " .. vmerr)
        end
      end
    end)

    local soup = { "x", "y", "f", "1", "0.5", "'s'", "=", "==", "+", "-", "*", "..", "(", ")",
      "{", "}", "[", "]", ",", ";", ".", ":", "local", "function", "end", "if", "then",
      "else", "while", "do", "for", "in", "return", "nil", "not", "and", "#", "..." }

    it("never raises and agrees with the VM on random token soups", function()
      math.randomseed(4711)
      local disagree, accepted = {}, 0
      for _ = 1, 4000 do
        local t = {}
        for i = 1, math.random(1, 12) do t[i] = soup[math.random(#soup)] end
        local src = " " .. table.concat(t, " ") -- a leading "#" would be a #! line
        local ok, tree, err = pcall(grammar.parse, src)
        assert.is_true(ok, src .. " raised " .. tostring(tree))
        assert.is_true(tree ~= nil or type(err) == "string")
        local f, vmerr = loadstring(src)
        -- the VMs reject "..." outside a vararg function after parsing;
        -- LuaJIT reads Lua 5.1, where ";" may only follow a statement
        if (tree ~= nil) ~= (f ~= nil) and not (vmerr or ""):find("vararg")
            and not (jit and (vmerr or ""):find("near ';'")) then
          disagree[#disagree + 1] = src
        end
        if tree then accepted = accepted + 1 end
      end
      assert.are.same({}, disagree)
      assert.is_true(accepted > 20)
    end)

    it("never raises on truncations of real files, and agrees with the VM", function()
      math.randomseed(99)
      local disagree, n = {}, 0
      for k, f in ipairs(files) do
        if k % 10 == 0 then
          local src = read(f)
          for _ = 1, 10 do
            local cut = src:sub(1, math.random(0, #src))
            local ok, tree, err = pcall(grammar.parse, cut)
            assert.is_true(ok, f)
            assert.is_true(tree ~= nil or type(err) == "string")
            local fn = loadstring(cut)
            if (tree ~= nil) ~= (fn ~= nil) then disagree[#disagree + 1] = f .. " cut at " .. #cut end
            n = n + 1
          end
        end
      end
      assert.are.same({}, disagree)
      assert.is_true(n > 100)
    end)

    it("reads nesting as deep as the VM itself accepts", function()
      local shapes = {
        function(n) return "x = " .. ("("):rep(n) .. "1" .. (")"):rep(n) end,
        function(n) return "x = " .. ("{"):rep(n) .. "1" .. ("}"):rep(n) end,
        function(n) return ("do "):rep(n) .. (" end"):rep(n) end,
        function(n) return "x = " .. ("function() return "):rep(n) .. "1" .. (" end"):rep(n) end,
        function(n) return "x = " .. ("a + ("):rep(n) .. "1" .. (")"):rep(n) end,
      }
      -- about the VMs' limits (LuaJIT: 98 nested functions); probing the
      -- limit itself overflows Lua 5.4's C stack inside busted
      local n = 90
      for _, shape in ipairs(shapes) do
        assert.is_function(loadstring(shape(n)))
        local tree, err = grammar.parse(shape(n))
        assert.is_nil(err)
        assert.is_table(tree)
      end
    end)

    it("refuses too deep nesting with a message instead of raising", function()
      local ok, tree, err = pcall(grammar.parse, "x = " .. ("("):rep(100000) .. "1" .. (")"):rep(100000))
      assert.is_true(ok)
      assert.is_nil(tree)
      assert.is_string(err)
      ok, tree, err = pcall(grammar.parse, "x = " .. ("- "):rep(100000) .. "1")
      assert.is_true(ok)
      assert.is_true(tree ~= nil or type(err) == "string")
    end)
  end)

  describe("the scope pass", function()
    local function ids(tree)
      local out = {}
      ast.walk(tree, function(n)
        if n.tag == "Id" then out[#out + 1] = n end
      end)
      return out
    end

    it("resolves each name to its declaration: local, parameter, loop variable or global", function()
      local tree = scope.resolve(assert(grammar.parse([[
local a = 1
local function f(p, ...)
  for i = 1, p do a = a + i end
  local a = g
  return a
end]])))
      local kinds = {}
      for _, id in ipairs(ids(tree)) do kinds[#kinds + 1] = id.name .. ":" .. id.decl.kind end
      assert.are.same({ "a:local", "f:local", "p:param", "i:for", "p:param",
        "a:local", "a:local", "i:for", "a:local", "g:global", "a:local" }, kinds)
      local all = ids(tree)
      -- the outer a is written in the loop and read from f: an upvalue of f
      assert.are.equal(all[1].decl, all[6].decl)
      assert.is_true(all[6].write and all[6].upvalue)
      assert.is_true(all[1].decl.assigned and all[1].decl.captured)
      -- the inner a shadows it
      assert.are_not.equal(all[1].decl, all[11].decl)
      assert.are.equal(all[9].decl, all[11].decl)
      assert.is_false(all[11].upvalue)
    end)

    it("lets a repeat condition see the loop body's locals", function()
      local tree = scope.resolve(assert(grammar.parse("repeat local done = true until done")))
      local all = ids(tree)
      assert.are.equal(all[1].decl, all[2].decl)
    end)

    it("declares self in methods and the local function's own name before its body", function()
      local tree = scope.resolve(assert(grammar.parse(
        "local function f() return f end\nfunction t:m() return self end")))
      local all = ids(tree)
      assert.are.equal(all[1].decl, all[2].decl)
      assert.are.equal("self", all[4].decl.kind)
    end)

    it("numbers upvalues in order of first use, nested functions included", function()
      local src = "local a, b, c\nreturn function() local x = c; return function() return a, b end end"
      local tree = scope.resolve(assert(grammar.parse(src)))
      local fns = ast.functions(tree)
      local function names(fn)
        local r = {}
        for i, u in ipairs(fn.upvalues) do r[i] = u.name end
        return r
      end
      local live = loadstring(src)()
      local vm = {}
      for i = 1, 10 do vm[i] = debug.getupvalue(live, i) end
      assert.are.same(vm, names(fns[2]))
      assert.are.same({ "c", "a", "b" }, names(fns[2]))
      assert.are.same({ "a", "b" }, names(fns[3]))
    end)

    it("gives Lua 5.4 chunks _ENV and no upvalue for compile-time constants", function()
      local src = "local k <const> = 2 * 3\nlocal n <const> = {}\nreturn function() return k, n, print end"
      local tree = scope.resolve(assert(grammar.parse(src)), "lua5.4")
      local fns = ast.functions(tree)
      assert.are.same({ "_ENV" }, { fns[1].upvalues[1].name })
      local names = {}
      for i, u in ipairs(fns[2].upvalues) do names[i] = u.name end
      if is54 then
        assert.are.same({ "n", "_ENV" }, names)
        local live = loadstring(src)()
        assert.are.same({ "n", "_ENV" }, { debug.getupvalue(live, 1), (debug.getupvalue(live, 2)) })
      end
      tree = scope.resolve(assert(grammar.parse("return function() return print end")), "luajit")
      assert.are.same({}, ast.functions(tree)[2].upvalues)
    end)
  end)
end)
