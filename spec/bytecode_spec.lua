-- The Lua 5.4 chunk reader, writer and editor (src/lua54/bc_*.c), through the
-- internal entry points of cpm.core: round trips, line information,
-- insertion of instructions, constants, and refusal of bad input.
local core = require "cpm.core"

if jit or not core._bc_roundtrip then
  describe("the Lua 5.4 chunk reader", function()
    pending("is Lua 5.4 only: skipped on " .. (jit and "LuaJIT" or _VERSION))
  end)
  return
end

local dump, load, pcall = string.dump, load, pcall

-- a small deterministic random generator, independent of math.random
local function rng(seed)
  local s = seed
  return function(n)
    s = (s * 1103515245 + 12345) % 2147483648
    return s % n + 1
  end
end

local function sortedfiles(cmd)
  local files, p = {}, io.popen(cmd)
  for line in p:lines() do files[#files + 1] = line end
  p:close()
  table.sort(files)
  return files
end

-- Every Lua file of the repository and of Debian's busted and penlight.
local function corpusfiles()
  return sortedfiles("find lua spec /usr/share/lua/5.4/busted " ..
                     "/usr/share/lua/5.4/pl -name '*.lua' 2>/dev/null")
end

local readfile = require("files").read

-- A value as text that tells integers, floats (by their bits) and
-- strings apart.
local function ser(v)
  local t = type(v)
  if t == "number" then
    if math.type(v) == "integer" then return "i" .. v end
    return "f" .. string.format("%q", v) .. ":" ..
           (string.pack("<d", v):gsub(".", function(c)
             return string.format("%02x", c:byte())
           end))
  elseif t == "table" then
    local parts = {}
    for i = 1, #v do parts[i] = ser(v[i]) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return t .. ":" .. tostring(v)
end

-- What calling f(...) gives: its results, or its error message.
local function outcome(f, ...)
  local r = table.pack(pcall(f, ...))
  local parts = {}
  for i = 1, r.n do parts[i] = ser(r[i]) end
  return table.concat(parts, " | ")
end

-- The jump targets "; to N" of a listing, with the proto sizes.
local function jumps_in(listing)
  local res, size = {}, nil
  for line in listing:gmatch("[^\n]+") do
    local n = line:match("^function %S+ <.-> (%d+) instructions")
    if n then size = tonumber(n)
    else
      local pc, target = line:match("^\t(%d+)\t.-; to (%-?%d+)$")
      if pc then res[#res + 1] = { tonumber(pc), tonumber(target), size } end
    end
  end
  return res
end


-- {======================================================
-- Generated functions
-- ======================================================

local OPS = {
  "%s = (%s + %d) %% 1000003",
  "%s = (%s * %d) %% 1000003",
  "%s = %s - %d",
  "%s = (%s // 3) + %d",
  "%s = %s / 4 + %d",
}

-- Source of a chunk returning function(probe, n, ...) -> table of values.
-- Probes: 'probe == k' raises error("probe k") at a known place.
local function gensource(seed, opts)
  local rnd = rng(seed)
  local out, nprobe, nlabel = {}, 0, 0
  local vars = { "v1", "v2", "v3", "v4" }
  local function emit(s) out[#out + 1] = s end
  local function var() return vars[rnd(#vars)] end
  local function gap()
    if rnd(5) == 1 then emit(string.rep("\n", rnd(300))) end
  end
  local body
  local function stmt(depth, inloop)
    gap()
    local k = rnd(depth < 3 and 16 or 8)
    if k <= 3 then
      emit(string.format(OPS[rnd(#OPS)], var(), var(), rnd(50)))
    elseif k == 4 then
      emit("acc[#acc + 1] = " .. var())
    elseif k == 5 then
      nprobe = nprobe + 1
      emit("if probe == " .. nprobe .. " then error('probe " .. nprobe ..
           "') end")
    elseif k == 6 then
      local c = rnd(6)
      if c == 1 then emit("acc[#acc + 1] = 'str" .. rnd(100000) .. "'")
      elseif c == 2 then
        emit("acc[#acc + 1] = '" .. string.rep("long", 10 + rnd(20)) ..
             rnd(1000) .. "'")
      elseif c == 3 then emit("acc[#acc + 1] = " .. rnd(1000) .. ".25")
      elseif c == 4 then emit("acc[#acc + 1] = math.mininteger + " .. rnd(9))
      elseif c == 5 then emit("acc[#acc + 1] = 9007199254740993 + " .. rnd(9))
      else emit("acc[#acc + 1] = 1e300 * " .. rnd(9)) end
    elseif k == 7 and inloop then
      emit("if " .. var() .. " % 7 == 1 then break end")
    elseif k == 8 then
      emit(var() .. " = " .. var() .. " + select('#', ...) + (... or 0)")
    elseif k == 9 then
      local steps = { "1", "2", "-1", "0.5", "3" }
      local st = steps[rnd(#steps)]
      local lo, hi = rnd(3), rnd(4) + 1
      if st == "-1" then lo, hi = hi, lo end
      emit(string.format("for i = %d, %s, %s do", lo,
                         rnd(2) == 1 and tostring(hi) or "n", st))
      emit(var() .. " = " .. var() .. " + i")
      body(depth + 1, true)
      emit("end")
    elseif k == 10 then
      emit("do local w = 0 while w < " .. rnd(4) .. " do w = w + 1")
      emit(var() .. " = " .. var() .. " + w")
      body(depth + 1, true)
      emit("end end")
    elseif k == 11 then
      emit("do local r = 0 repeat r = r + 1")
      body(depth + 1, true)
      emit("until r >= " .. rnd(3) .. " end")
    elseif k == 12 then
      emit("for ix, val in ipairs(arr) do " .. var() .. " = " .. var() ..
           " + ix * val")
      body(depth + 1, true)
      emit("end")
    elseif k == 13 then
      emit("if " .. var() .. " % 3 == 0 then")
      body(depth + 1, inloop)
      emit("elseif " .. var() .. " > " .. rnd(100) .. " then")
      body(depth + 1, inloop)
      emit("else")
      body(depth + 1, inloop)
      emit("end")
    elseif k == 14 then
      nlabel = nlabel + 1
      local l = "skip" .. nlabel
      emit("for j = 1, " .. rnd(3) .. " do")
      emit("if " .. var() .. " % 2 == 0 then goto " .. l .. " end")
      body(depth + 1, true)
      emit("::" .. l .. "::")
      emit("end")
    elseif k == 15 then
      local v, w = var(), var()
      emit("do local fn = function(x, ...)")
      emit("local acc, v1, v2, v3, v4 = {}, x, " .. w .. ", 3, 4")
      body(depth + 1, false)
      emit("return v1 + v2 + select('#', ...) end")
      emit(v .. " = fn(" .. var() .. ", 1, 2) % 1000003 end")
    else
      emit(var() .. " = " .. var() .. " + " .. var())
    end
  end
  function body(depth, inloop)
    for _ = 1, rnd(depth == 0 and 12 or 4) do stmt(depth, inloop) end
  end
  emit("local arr = {3, 1, 4, 1, 5}")
  emit("return function(probe, n, ...)")
  emit("local acc = {}")
  emit("local v1, v2, v3, v4 = 1, 2, 3, 4")
  body(0, false)
  if opts and opts.manyconst then
    for i = 1, opts.manyconst do
      emit("acc[#acc + 1] = 'k" .. i .. "'; acc[#acc + 1] = " .. i .. ".5")
    end
  end
  if opts and opts.long then  -- many instructions with lines far apart
    for i = 1, opts.long do
      emit(string.rep("\n", i % 3 == 0 and 200 or 1))
      emit("v" .. (i % 4 + 1) .. " = (v" .. ((i + 1) % 4 + 1) .. " + " ..
           i .. ") % 1000003")
      if i % 50 == 0 then
        nprobe = nprobe + 1
        emit("if probe == " .. nprobe .. " then error('probe " ..
             nprobe .. "') end")
      end
    end
  end
  emit("acc[#acc + 1] = v1; acc[#acc + 1] = v2")
  emit("acc[#acc + 1] = v3; acc[#acc + 1] = v4")
  emit("return acc")
  emit("end")
  return table.concat(out, "\n"), nprobe
end

-- The generated corpus: { src=, name=, nprobe= } ...
local function corpus()
  local list = {}
  for seed = 1, 40 do
    local src, np = gensource(seed)
    list[#list + 1] = { src = src, name = "gen" .. seed, nprobe = np }
  end
  local src, np = gensource(1001, { manyconst = 300 })
  list[#list + 1] = { src = src, name = "manyconst", nprobe = np }
  src, np = gensource(1002, { long = 400 })
  list[#list + 1] = { src = src, name = "long", nprobe = np }
  return list
end

-- Every outcome of the chunk's function on a few inputs and each probe.
local function behaviour(chunkfn, nprobe)
  local f = chunkfn()
  local res = {}
  for _, n in ipairs { 0, 1, 3 } do
    res[#res + 1] = outcome(f, 0, n, 5, 6)
    res[#res + 1] = outcome(f, 0, n)
  end
  for p = 1, nprobe do res[#res + 1] = outcome(f, p, 2, 1) end
  return res
end

-- The lines the line hook reports while the function runs.
local function linetrace(chunkfn)
  local f, trace = chunkfn(), {}
  debug.sethook(function(_, line) trace[#trace + 1] = line end, "l")
  pcall(f, 0, 3, 1, 2)
  debug.sethook()
  return table.concat(trace, " ")
end

-- }======================================================


describe("the Lua 5.4 chunk reader and writer", function()
  local files = corpusfiles()

  it("finds the Lua files of the repository, busted and penlight", function()
    local n = { lua = 0, spec = 0, busted = 0, pl = 0 }
    for _, f in ipairs(files) do
      for k in pairs(n) do
        if f:find("^" .. k .. "/") or f:find("/5.4/" .. k .. "/") then
          n[k] = n[k] + 1
        end
      end
    end
    assert.is_true(n.lua >= 1 and n.spec >= 2 and n.busted >= 20 and
                   n.pl >= 20)
  end)

  it("round-trips every corpus file byte for byte, stripped or not", function()
    local count = 0
    for _, path in ipairs(files) do
      local f = load(readfile(path), "@" .. path)
      if f then
        for _, strip in ipairs { false, true } do
          local d = dump(f, strip)
          local r = core._bc_roundtrip(d)
          assert.are.equal(#d, #r, path)
          assert.is_true(d == r, path)
          assert.is_function(load(r, path, "b"), path)
        end
        count = count + 1
      end
    end
    assert.is_true(count >= 50)
  end)

  it("decodes jumps of every corpus file to targets inside the function",
     function()
    for _, path in ipairs(files) do
      local f = load(readfile(path), "@" .. path)
      if f then
        for _, j in ipairs(jumps_in(core._bc_list(dump(f)))) do
          assert.is_true(j[2] >= 0 and j[2] <= j[3], path .. " pc " .. j[1])
        end
      end
    end
  end)

  it("names opcodes as the compiler emits them", function()
    local f = load([[
      local s = 0
      for i = 1, ... do s = s + i * 3 end
      for k, v in pairs({}) do s = s .. v end
      return s
    ]])
    local ops = table.concat(core._bc_protos(dump(f))[1].ops, " ")
    assert.matches("^VARARGPREP LOADI", ops)
    assert.matches("FORPREP MULK MMBINK ADD MMBIN FORLOOP", ops, 1, true)
    assert.matches("TFORPREP", ops, 1, true)
    assert.matches("TFORCALL TFORLOOP CLOSE", ops, 1, true)
    assert.matches("CLOSE RETURN RETURN$", ops)
  end)

  it("round-trips generated functions byte for byte and they compute the "
     .. "same results", function()
    for _, g in ipairs(corpus()) do
      local f = assert(load(g.src, "=" .. g.name))
      for _, strip in ipairs { false, true } do
        local d = dump(f, strip)
        local r = core._bc_roundtrip(d)
        assert.is_true(d == r, g.name)
        local f2 = assert(load(r, g.name, "b"))
        assert.are.same(behaviour(load(d, g.name, "b"), g.nprobe),
                        behaviour(f2, g.nprobe))
      end
    end
  end)

  it("keeps more than 255 constants and more than 128 instructions",
     function()
    local list = corpus()
    local many = core._bc_protos(dump(load(list[#list - 1].src)))
    local long = core._bc_protos(dump(load(list[#list].src)))
    assert.is_true(many[2].nk > 600)
    assert.is_true(#long[2].ops > 1000)
  end)
end)


describe("line information", function()
  it("re-encoded from absolute lines gives every instruction its line",
     function()
    for _, path in ipairs(corpusfiles()) do
      local f = load(readfile(path), "@" .. path)
      if f then
        local d = dump(f)
        local r = core._bc_reencode_lines(d)
        local a, b = core._bc_protos(d), core._bc_protos(r)
        assert.are.equal(#a, #b)
        for i = 1, #a do assert.are.same(a[i].lines, b[i].lines, path) end
        local g = assert(load(r, path, "b"))
        assert.are.same(debug.getinfo(f, "L").activelines,
                        debug.getinfo(g, "L").activelines)
      end
    end
  end)

  it("re-encoded keeps error lines and line hooks of generated functions",
     function()
    for _, g in ipairs(corpus()) do
      local f = assert(load(g.src, "=" .. g.name))
      local r = core._bc_reencode_lines(dump(f))
      local f2 = assert(load(r, g.name, "b"))
      assert.are.same(behaviour(f, g.nprobe), behaviour(f2, g.nprobe))
      assert.are.equal(linetrace(f), linetrace(f2))
    end
  end)

  it("puts an absolute line at least every 128 instructions", function()
    local list = corpus()
    local d = dump(load(list[#list].src, "=long"))
    local r = core._bc_reencode_lines(d)
    local lines = core._bc_protos(r)[2].lines
    assert.is_true(#lines > 1000)
    -- errors past the 128th, 256th... instruction report the right line
    local f, raised = assert(load(r, "long", "b"))(), 0
    for p = 1, list[#list].nprobe do
      local ok, msg = pcall(f, p, 1)
      if not ok then
        assert.matches("^long:%d+: probe " .. p .. "$", msg)
        raised = raised + 1
      end
    end
    assert.is_true(raised >= 8)
    assert.are.same(behaviour(load(d), list[#list].nprobe),
                    behaviour(load(r, "long", "b"), list[#list].nprobe))
  end)

  it("says a stripped function has no lines", function()
    local protos = core._bc_protos(dump(function() return 1 end, true))
    assert.is_nil(protos[1].lines)
    assert.are.equal("RETURN0", protos[1].ops[#protos[1].ops])
  end)
end)


describe("inserting instructions", function()
  -- handwritten functions with loops of every kind, gotos, breaks, closures
  local SOURCES = {
    [[return function(probe, n, ...)
      local s, t = 0, {}
      for i = 1, n do
        if i == probe then error("probe in for") end
        s = s + i
        if s > 100 then break end
      end
      for i = n, 1, -1 do s = s * 2 + i end
      for x = 0.5, n, 0.5 do s = s + x end
      local k = 0
      while k < n do
        k = k + 1
        if k % 2 == 0 then goto continue end
        s = s - k
        ::continue::
      end
      repeat k = k - 1; s = s + 1 until k <= 0
      for i, v in ipairs({...}) do s = s + i * v end
      local add = function(a) return a + s + n end
      t[1] = add(1)
      t[2] = s
      if probe == 99 then local y = nil; return y.x end
      return t[1], t[2], select('#', ...)
    end]],
    [[return function(probe, n)
      local a, b = 0, 1
      for i = 1, n do
        for j = 1, i do
          if j == 3 then goto next end
          a, b = b, a + b
          ::next::
        end
        while true do
          if probe == i then error("probe " .. i) end
          break
        end
      end
      local function rec(m) if m <= 0 then return 0 end return m + rec(m - 1) end
      return a, b, rec(n), (function() for q = 1, 3 do a = a + q end return a end)()
    end]],
  }

  local function cases()
    local list = {}
    for i, src in ipairs(SOURCES) do
      list[#list + 1] = { src = src, name = "hand" .. i, nprobe = 4 }
    end
    for seed = 200, 205 do
      local src, np = gensource(seed)
      list[#list + 1] = { src = src, name = "ins" .. seed, nprobe = np }
    end
    return list
  end

  local function results(chunkfn, nprobe)
    local f = chunkfn()
    local res = {}
    for _, n in ipairs { 0, 1, 4 } do res[#res + 1] = outcome(f, 0, n, 2, 3) end
    for p = 1, nprobe do res[#res + 1] = outcome(f, p, 4) end
    res[#res + 1] = outcome(f, 99, 2)
    return res
  end

  local PAIRED = {}
  for op in ([[EQ LT LE EQK EQI LTI LEI GTI GEI TEST TESTSET LFALSESKIP
      LOADKX NEWTABLE SETLIST TFORCALL ADDI ADDK SUBK MULK MODK POWK DIVK
      IDIVK BANDK BORK BXORK SHRI SHLI ADD SUB MUL MOD POW DIV IDIV BAND BOR
      BXOR SHL SHR]]):gmatch("%u+") do PAIRED[op] = true end

  it("keeps functions computing the same results and error lines at every pc",
     function()
    local done, refused = 0, 0
    for _, g in ipairs(cases()) do
      local f = assert(load(g.src, "=" .. g.name))
      local d = dump(f)
      local want = results(f, g.nprobe)
      for _, proto in ipairs(core._bc_protos(d)) do
        for pc = 0, #proto.ops do
          for _, v in ipairs { {"before", "jmp"}, {"after", "move"} } do
            local r, why = core._bc_insert_nops(d, proto.path, pc, 2,
                                                v[1], v[2])
            if r then
              local f2 = assert(load(r, g.name, "b"))
              assert.are.same(want, results(f2, g.nprobe),
                g.name .. " " .. table.concat(proto.path, ".") .. " pc " ..
                pc .. " " .. v[1])
              done = done + 1
            else
              local prev = proto.ops[pc]
              assert.is_true(PAIRED[prev] or (pc == 0 and
                proto.ops[1] == "VARARGPREP"), why)
              refused = refused + 1
            end
          end
        end
      end
    end
    assert.is_true(done > 1000 and refused > 0 and done > 2 * refused)
  end)

  it("gives the new instructions the line they are told", function()
    local d = dump(load(SOURCES[1]))
    local before = core._bc_protos(d)[2]
    local r = core._bc_insert_nops(d, { 1 }, 10, 3)
    local after = core._bc_protos(r)[2]
    assert.are.equal(#before.ops + 3, #after.ops)
    for pc = 0, #after.ops - 1 do
      local old = pc < 10 and pc or (pc < 13 and 10 or pc - 3)
      assert.are.equal(before.lines[old + 1], after.lines[pc + 1])
    end
    assert.are.same({ "JMP", "JMP", "JMP" },
                    { after.ops[11], after.ops[12], after.ops[13] })
  end)

  it("lands jumps aimed at the insertion point before or after the new code",
     function()
    local d = dump(load(SOURCES[1]))
    local listing = core._bc_list(d)
    local function targets_of(s)
      local t = {}
      for _, j in ipairs(jumps_in(s)) do t[#t + 1] = j[2] end
      return t
    end
    -- a pc some jump aims at, in the function at path {1}
    local fnlist = listing:match("function 1 .-\n(.*)$")
    local pc
    for _, j in ipairs(jumps_in("function x <> 1 instructions\n" .. fnlist)) do
      if j[2] > j[1] + 1 then pc = j[2]; break end
    end
    assert.is_number(pc)
    local tb = targets_of(core._bc_list(core._bc_insert_nops(d, {1}, pc, 2,
                                                              "before", "move")))
    local ta = targets_of(core._bc_list(core._bc_insert_nops(d, {1}, pc, 2,
                                                              "after", "move")))
    local t0 = targets_of(listing)
    assert.are.equal(#t0, #tb)
    local sawbefore, sawafter = false, false
    for i = 1, #t0 do
      if t0[i] == pc then
        sawbefore = sawbefore or tb[i] == pc
        sawafter = sawafter or ta[i] == pc + 2
      end
    end
    assert.is_true(sawbefore and sawafter)
  end)

  it("refuses to split a test from its jump", function()
    local d = dump(load("local a = ... if a == 1 then return 2 end return 3"))
    local ops = core._bc_protos(d)[1].ops
    local eq
    for i, op in ipairs(ops) do if op == "EQI" then eq = i - 1 end end
    local r, why = core._bc_insert_nops(d, {}, eq + 1, 1)
    assert.is_nil(r)
    assert.matches("splits", why)
  end)
end)


describe("constants", function()
  local d = dump(function() return 1, 2.5, "x" end)

  it("reuses an equal constant of the same variant", function()
    local r, i = core._bc_addconst(d, {}, 2.5)
    assert.are.equal(d, r)
    local r2, j = core._bc_addconst(d, {}, "x")
    assert.are.equal(d, r2)
    assert.are_not.equal(i, j)
  end)

  it("adds distinct constants for 0.0, -0.0, nan, 1 and 1.0", function()
    local s, idx = d, {}
    for n, v in ipairs { 0.0, -0.0, 0/0, 1, 1.0, ("y"):rep(60), true, false } do
      s, idx[n] = core._bc_addconst(s, {}, v)
    end
    local seen = {}
    for _, i in ipairs(idx) do
      assert.is_nil(seen[i])
      seen[i] = true
    end
    -- adding them again changes nothing
    local again = s
    for _, v in ipairs { 0.0, -0.0, 0/0, 1, 1.0, ("y"):rep(60) } do
      again = core._bc_addconst(again, {}, v)
    end
    assert.are.equal(s, again)
    assert.are.equal(s, core._bc_roundtrip(s))
    local f = assert(load(s, "k", "b"))
    assert.are.same({ 1, 2.5, "x" }, { f() })
  end)
end)


describe("upvalues", function()
  it("adds an upvalue with its name to the main function and its closure",
     function()
    local d = dump(load("local x = ... return x"))
    local r, i = core._bc_addupval(d, {}, 1, 0, 0, "extra")
    assert.are.equal(1, i)  -- after _ENV
    local f = assert(load(r, "u", "b"))
    assert.are.equal("_ENV", debug.getupvalue(f, 1))
    assert.are.equal("extra", debug.getupvalue(f, 2))
    assert.are.equal(7, f(7))
  end)

  it("adds a nameless upvalue to a stripped function", function()
    local d = dump(load("local x = ... return x"), true)
    local r = core._bc_addupval(d, {}, 1, 0, 0, "extra")
    local f = assert(load(r, "u", "b"))
    assert.are.equal("(no name)", debug.getupvalue(f, 2))
    assert.is_nil(debug.getupvalue(f, 3))
    assert.are.equal(7, f(7))
  end)

  it("refuses more than 255 upvalues", function()
    local d = dump(load("return 1"))
    for _ = 1, 254 do d = core._bc_addupval(d, {}, 1, 0, 0) end
    assert.has_error(function() core._bc_addupval(d, {}, 1, 0, 0) end,
                     "cpm: too many upvalues")
  end)
end)


describe("bad input", function()
  local good = dump(function(a) return a + 1 end)
  local HEADER = 31  -- signature .. LUAC_NUM

  local function refused(s)
    local ok, msg = pcall(core._bc_roundtrip, s)
    return not ok and type(msg) == "string" and
           msg:find("^cpm: bad binary format %(") ~= nil
  end

  it("accepts the untouched chunk", function()
    assert.are.equal(good, core._bc_roundtrip(good))
  end)

  it("refuses a header with any byte changed", function()
    for i = 1, HEADER do
      for _, x in ipairs { 0x01, 0x80, 0xff } do
        local b = string.char((good:byte(i) + x) % 256)
        assert.is_true(refused(good:sub(1, i - 1) .. b .. good:sub(i + 1)),
                       "byte " .. i)
      end
    end
  end)

  it("refuses Lua 5.5's version byte and other formats", function()
    assert.is_true(refused(good:sub(1, 4) .. "\x55" .. good:sub(6)))
    assert.is_true(refused(good:sub(1, 5) .. "\1" .. good:sub(7)))
  end)

  it("refuses a chunk cut at any length, or with bytes after it", function()
    for n = 0, #good - 1 do
      assert.is_true(refused(good:sub(1, n)), "length " .. n)
    end
    assert.is_true(refused(good .. "\0"))
  end)

  it("refuses random garbage", function()
    local rnd = rng(7)
    for _ = 1, 2000 do
      local t = {}
      for i = 1, rnd(80) do t[i] = string.char(rnd(256) - 1) end
      local s = table.concat(t)
      if rnd(2) == 1 then s = good:sub(1, HEADER + 1) .. s end
      assert.is_true(refused(s))
    end
  end)

  it("raises only cpm errors on corrupted chunks, whatever is asked",
     function()
    local rnd = rng(11)
    local base = dump(load((gensource(3))))
    local entry = {
      core._bc_roundtrip, core._bc_reencode_lines, core._bc_list,
      core._bc_protos,
      function(s) return core._bc_insert_nops(s, {}, 1, 1) end,
      function(s) return core._bc_insert_nops(s, { 1 }, 5, 2, "after") end,
    }
    for _ = 1, 1500 do
      local b = { base:byte(1, -1) }
      for _ = 1, rnd(4) do
        local i = HEADER + 1 + rnd(#b - HEADER - 1)
        b[i] = rnd(256) - 1
      end
      local s = string.char(table.unpack(b))
      for _, fn in ipairs(entry) do
        local ok, msg = pcall(fn, s)
        if not ok then  -- a bad path or pc is an argument error
          assert.is_true(msg:find("^cpm: ") ~= nil or
                         msg:find("^bad argument") ~= nil, msg)
        end
      end
    end
  end)
end)
