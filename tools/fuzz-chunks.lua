-- The chunk fuzzer: mutates dumps of real functions and hands every mutant
-- that the VM's own load accepts to cpm.optimize, cpm.explain and cpm.load
-- (never calling it: the VM itself may crash running a crafted chunk).
-- Run it against the AddressSanitizer build (make asan, make fuzz): a read
-- outside what a chunk declares is a crash there.  It checks what cpm
-- promises for such input: no error but a memory error (strict mode
-- aside), and f given back itself whenever the report has a reason.
--
--   lua5.4 tools/fuzz-chunks.lua [seconds [seed]] [file.lua ...]
--   luajit tools/fuzz-chunks.lua [seconds [seed]] [file.lua ...]
--
-- The corpus: the main function of each file given, functions with for
-- loops from spec/support/loopgen.lua, and a few while and repeat loops
-- (what the loop finder and the rewrite look at).  Mutations, one to four per mutant:
-- bit flips, byte replacements, truncations, runs of bytes copied from
-- elsewhere in the dump, and changes of one field (a count, an index, an
-- offset, an instruction's operand) to a boundary or a random value,
-- through a field map of the dump's format: tools/chunk54.lua for Lua 5.4
-- ("\27Lua"); a LuaJIT front end adds its own map to FIELDMAPS (keyed by
-- the dump's signature) and the fuzzer targets its fields too.
--
-- Only mutants whose layout the field map reads to the end go to the VM's
-- load: Lua 5.4.4's own loader crashes on some truncated or garbled
-- layouts (with no cpm involved).
--
-- On LuaJIT (no field map) every mutant of a "\27LJ" dump goes first to
-- cpm's own LuaJIT dump reader straight from the bytes
-- (cpm.core._jitbc_list and _jitbc_roundtrip: read, list, write back),
-- which must refuse what it cannot read with an error, never crash.  Only
-- a mutant that cpm's reader reads whole goes on to LuaJIT's load (which
-- itself crashes on some garbled layouts, no cpm involved), and the
-- function it gives to cpm.optimize, cpm.explain and cpm.load with
-- frontend = "bytecode", as on Lua 5.4.  The mutant is never run: LuaJIT
-- may crash running a crafted chunk.
--
-- LuaJIT dumps have a field map too (tools/chunkjit.lua): a field
-- mutation there sets an instruction's operand or opcode, an upvalue
-- descriptor, a count, a flag or a constant to a value worth trying and
-- keeps the prototype's length right, or moves a whole prototype (which
-- changes the tree of children), so the mutant gets past the reader's
-- layout checks to the code that uses what the fields say.  Each field
-- mutation parses the mutant again, so several compose.
--
-- Options (before the seconds and seed):
--   --mode=mixed   field and byte mutations (the default)
--   --mode=fields  field mutations only (bytes when the map cannot read
--                  the mutant any more)
--   --mode=bytes   byte mutations only
--   --last=PATH    writes each mutant to PATH before cpm or the VM sees
--                  it, so a crash leaves its reproducer there: its length
--                  in decimal, a newline, its bytes (then maybe stale
--                  bytes: the file is rewritten in place, as truncating
--                  it for each mutant costs milliseconds on some file
--                  systems)
--   --gc=N         a full garbage collection every N mutants (default
--                  500); --gc=1 finds the mutant after which the heap is
--                  broken (a crash in the collector names no culprit)
--   --replay=PATH  runs the checks on the one dump in PATH (a dump, or
--                  a file written by --last), naming each step on stderr
--                  (a crash's last step is the culprit)
-- Prints the counts; exits non-zero on the first broken promise.
package.path = "lua/?.lua;lua/?/init.lua;spec/support/?.lua;tools/?.lua;" .. package.path
local cpm = require "cpm"
local loopgen = require "loopgen"

local LUA54 = not jit
local bxor = bit and bit.bxor or load("return function(a, b) return a ~ b end")()

-- A field map: signature -> { parse = dump -> { fields = { f, ... } },
-- mutant = (f, rnd) -> a value to try in field f, set = (dump, f, value)
-- -> the dump with it }
local FIELDMAPS = {}
do
  local ok, chunk54 = pcall(require, "chunk54")  -- Lua 5.4 syntax only
  if ok and LUA54 then FIELDMAPS["\27Lua"] = chunk54 end
end

local args, opt = {}, { mode = "mixed", gc = 500 }
for _, a in ipairs { ... } do
  local k, v = a:match("^%-%-(%w+)=(.*)$")
  if k then opt[k] = v else args[#args + 1] = a end
end
assert(({ mixed = 1, fields = 1, bytes = 1 })[opt.mode], "--mode: mixed, fields or bytes")
opt.gc = assert(tonumber(opt.gc), "--gc: a number")
local seconds = tonumber(args[1]) or 10
local seed = tonumber(args[2]) or os.time()
local files = {}
for i = 1, #args do
  if not tonumber(args[i]) then files[#files + 1] = args[i] end
end
math.randomseed(seed)
local rnd = math.random

-- LuaJIT's field map serves the mutations only: what goes on to LuaJIT's
-- load is what cpm's own reader reads (below).
local JITMAP = jit and require "chunkjit"

-- The corpus, as { dump, fieldmap-or-nil, parsed-or-nil, jitparsed-or-nil }.
local corpus = {}
local function add(f)
  for _, strip in ipairs { false, true } do
    local ok, d = pcall(string.dump, f, strip)
    if ok then
      local map = FIELDMAPS[d:sub(1, 4)]
      local parsed = map and map.parse(d)
      local jparsed = JITMAP and JITMAP.parse(d)
      corpus[#corpus + 1] = { d, map, parsed, jparsed }
    end
  end
end
for _, path in ipairs(files) do
  local h = io.open(path, "rb")
  if h then
    local s = h:read("*a"):gsub("^#[^\n]*", "")
    h:close()
    local f = (loadstring or load)(s, "@" .. path)
    if f then add(f) end
  end
end
local gen = loopgen.new { lua54 = LUA54, seed = seed }
for _ = 1, 200 do
  local src = gen:func()
  local outer = (loadstring or load)(src, "=gen")
  if outer then add(outer(print, {})) end
end
-- while and repeat loops (find54.c's takewhile, rewrite54.c's distance
-- check)
for _, src in ipairs {
  "return function(i, n, c, s) while i < n do s = s + i; i = i + c end return i, s end",
  "return function(n, s) repeat s = s + n; n = n - 1 until n <= 0 return n, s end",
  "local u = 0 return function(n) while u < 1e20 do if n then u = u + 1 else u = u + 2 end end return u end",
  "return function(i, n) while not (i >= n) do i = i + 2 end " ..
    "while true do i = i + 1 if i > n then break end end return i end",
} do
  local outer = (loadstring or load)(src, "=while")
  if outer then add(outer()) end
end

-- One field mutation of LuaJIT dump d (entry's own dump, or a mutant
-- parsed again), or nil when the map cannot read d.
local function jitfield(entry, d)
  local parsed = d == entry[1] and entry[4]
  if not parsed then
    local ok
    ok, parsed = pcall(JITMAP.parse, d)
    if not ok then return nil end
  end
  return JITMAP.mutate(d, parsed, rnd)
end

local function mutate(entry)
  local d, map, parsed = entry[1], entry[2], entry[3]
  for _ = 1, rnd(4) do
    local r, n = rnd(100), #d
    if n == 0 then break end
    if opt.mode == "fields" then r = 1
    elseif opt.mode == "bytes" then r = rnd(41, 100) end
    local jd = r <= 40 and entry[4] and jitfield(entry, d)
    if jd then
      d = jd
    elseif r <= 40 and parsed then
      local f = parsed.fields[rnd(#parsed.fields)]
      -- fields are located in the unmutated dump: only one field change
      -- keeps the map true, later ones go through bytes
      if d == entry[1] then d = map.set(d, f, map.mutant(f, rnd)) end
    elseif r <= 60 then
      local i = rnd(n)
      d = d:sub(1, i - 1) .. string.char(bxor(d:byte(i), 2 ^ rnd(0, 7))) .. d:sub(i + 1)
    elseif r <= 80 then
      local i = rnd(n)
      d = d:sub(1, i - 1) .. string.char(rnd(0, 255)) .. d:sub(i + 1)
    elseif r <= 88 then
      d = d:sub(1, rnd(0, n))
    else
      local i, j, len = rnd(n), rnd(n), rnd(1, 16)
      d = d:sub(1, i - 1) .. d:sub(j, j + len - 1) .. d:sub(i + len)
    end
  end
  return d
end

-- Without a field map for this VM's dumps no mutant could be loaded
-- (LuaJIT's dumps go to cpm's reader and to its own loader unmapped).
local JITDUMP = "\27LJ"
local mapped = false
for _, entry in ipairs(corpus) do
  mapped = mapped or entry[2] ~= nil or entry[1]:sub(1, 3) == JITDUMP
end
if not mapped then
  print(("fuzz-chunks on %s: no field map for this VM's dumps (%q), so no "
         .. "mutant is loaded: nothing to run"):format(
    LUA54 and _VERSION or jit.version, corpus[1] and corpus[1][1]:sub(1, 4) or ""))
  return
end

local count = { mutants = 0, whole = 0, loaded = 0, optimized = 0, refused = 0,
                memory = 0, read = 0, unread = 0 }
local core = require "cpm.core"

local function fail(what, m, err)
  local path = os.tmpname()
  local h = io.open(path, "wb")
  h:write(m)
  h:close()
  io.stderr:write(("fuzz-chunks: %s (seed %d); the mutant is in %s\n%s\n")
    :format(what, seed, path, tostring(err)))
  os.exit(1)
end

-- cpm's promises on one mutant f (loaded from the bytes m).
local function check(f, m)
  for _, opts in ipairs { {}, { iters_limit = 2 } } do
    local ok, g = pcall(cpm.optimize, f, opts)
    if not ok then
      if tostring(g):find("not enough memory", 1, true) then
        count.memory = count.memory + 1
      else
        fail("cpm.optimize raised", m, g)
      end
    elseif g ~= f then
      count.optimized = count.optimized + 1
    end
  end
  local ok, text = pcall(cpm.explain, f)
  if not ok then fail("cpm.explain raised", m, text) end
  if text:find("bad binary format", 1, true) then
    count.refused = count.refused + 1
    if cpm.optimize(f) ~= f then fail("a refused chunk came back changed", m) end
  end
  pcall(cpm.optimize, f, { strict = true })  -- may raise: must not crash
  local g
  ok, g = pcall(cpm.load, m, "=fuzz", "b")
  if not ok or type(g) ~= "function" then fail("cpm.load failed", m, g) end
  if not LUA54 then
    for _, opts in ipairs { { frontend = "bytecode" }, { frontend = "bytecode", iters_limit = 2 } } do
      ok, g = pcall(cpm.load, m, "=fuzz", "b", nil, opts)
      if not ok or type(g) ~= "function" then fail("cpm.load (bytecode) failed", m, g) end
      ok, g = pcall(cpm.optimize, f, opts)
      if not ok and not tostring(g):find("not enough memory", 1, true) then
        fail("cpm.optimize (bytecode) raised", m, g)
      end
    end
  end
end

-- cpm's LuaJIT dump reader on the bytes themselves: a list, or an error
-- (a Lua error, never a crash); what it reads it writes back, and that
-- reads again to the same list.
local function checkjitread(m)
  local ok, list = pcall(core._jitbc_list, m)
  if not ok then
    if type(list) ~= "string" then fail("cpm's LuaJIT reader raised a non-string", m, list) end
    count.unread = count.unread + 1
    return false
  end
  count.read = count.read + 1
  local okw, back = pcall(core._jitbc_roundtrip, m)
  if not okw then fail("a dump cpm read does not write back", m, back) end
  local ok2, list2 = pcall(core._jitbc_list, back)
  if not ok2 then fail("a dump cpm wrote does not read back", back, list2) end
  if #list2 ~= #list then fail("a dump cpm wrote back reads differently", back) end
  for i = 1, #list do
    if table.concat(list[i].code, ";") ~= table.concat(list2[i].code, ";") then
      fail("a dump cpm wrote back reads differently", back)
    end
  end
  return true
end

-- --replay: each step named on stderr before it runs
local step = function() end
if opt.replay then
  step = function(what) io.stderr:write("fuzz-chunks replay: ", what, "\n") end
  local h = assert(io.open(opt.replay, "rb"))
  local m = h:read("*a")
  h:close()
  local len, at = m:match("^(%d+)\n()")
  if len then m = m:sub(at, at + len - 1) end
  corpus = { { m } }
  mutate = function(entry) return entry[1] end
  seconds = -1
end
do  -- the steps of check and checkjitread, named
  local function named(what, fn)
    return function(...) step(what); return fn(...) end
  end
  cpm = setmetatable({ optimize = named("cpm.optimize", cpm.optimize),
                       explain = named("cpm.explain", cpm.explain),
                       load = named("cpm.load", cpm.load) }, { __index = cpm })
  core = setmetatable({ _jitbc_list = named("cpm's LuaJIT reader", core._jitbc_list),
                        _jitbc_roundtrip = named("cpm's LuaJIT writer", core._jitbc_roundtrip) },
                      { __index = core })
end

local lastfile = opt.last and assert(io.open(opt.last, "wb"))
local function record(m)
  if not lastfile then return end
  lastfile:seek("set")
  lastfile:write(#m, "\n", m)
  lastfile:flush()
end

local deadline = os.time() + seconds
while os.time() < deadline or (opt.replay and count.mutants == 0) do
  local entry = corpus[rnd(#corpus)]
  local m = mutate(entry)
  count.mutants = count.mutants + 1
  record(m)
  local map = FIELDMAPS[m:sub(1, 4)]
  local f
  if map and pcall(map.parse, m) then
    count.whole = count.whole + 1
    f = (loadstring or load)(m, "=fuzz", "b")
  elseif not LUA54 and m:sub(1, 3) == JITDUMP and checkjitread(m) then
    count.whole = count.whole + 1
    step("LuaJIT's load")
    f = load(m, "=fuzz", "b")
  end
  if type(f) == "function" then
    count.loaded = count.loaded + 1
    check(f, m)
  end
  if count.mutants % opt.gc == 0 then step("collectgarbage"); collectgarbage() end
end
print(("fuzz-chunks on %s, seed %d, %d s, mode %s, corpus %d dumps: %d mutants, %d "
       .. "whole, %d loaded by the VM, %d refused by cpm, %d optimizations, %d "
       .. "memory errors%s"):format(LUA54 and _VERSION or jit.version, seed,
  seconds, opt.mode, #corpus, count.mutants, count.whole, count.loaded, count.refused,
  count.optimized, count.memory, LUA54 and "" or
  (", %d read by cpm's LuaJIT reader, %d refused by it"):format(count.read, count.unread)))
