-- The runner (lua/cpm/auto.lua): `cpm script.lua` (bin/cpm) and
-- `<vm> -l cpm.auto script.lua` run real scripts in a subprocess on the VM
-- the specs run on; their output is compared with a plain run of the same
-- script.  Loops of 10^12 iterations (minutes as written, under `timeout`)
-- show which chunks were optimized: every way a chunk can be loaded has one.
local sub = require "subprocess"

local VM, quote, project, remove, run = sub.VM, sub.quote, sub.project, sub.remove, sub.run
local LUAJIT = rawget(_G, "jit") ~= nil
local CWD = sub.CWD

local CPM = quote(CWD .. "/bin/cpm")

-- Each loop is 10^12 iterations: run as written it would take minutes.
-- (os.exit closes the state: under make asan, LeakSanitizer does not see
-- into LuaJIT's own heap, and reports what the state still holds.)
-- (Every chunk ends with `return`: the source front end on LuaJIT needs it
-- for a main chunk today.)
local PROJECT = {
  ["main.lua"] = [[
local sums = require "sums"
print("args", arg[0], arg[1], arg[2], select("#", ...), ...)
print("require", sums.tri(10^6), sums.three(10^12))
local f = load("local n = ... local s = 0 for i = 1, n do s = s + 5 end return s")
print("load", f(10^12))
print("loadfile", loadfile("more.lua")()(10^12))
print("dofile", dofile("more.lua")(10^12))
if loadstring then print("loadstring", loadstring("local s = 0 for i = 1, 10^12 do s = s + 1 end return s")()) end
local s = 0
for i = 1, 10^12 do s = s + 2 end
print("main", s)
if arg[1] == "fail" then error("boom") end
if arg[1] == "exit" then os.exit(7, true) end
return
]],
  ["sums.lua"] = [[
local M = {}
function M.tri(n) local s = 0 for i = 1, n do s = s + i end return s end
function M.three(n) local s = 0 for i = 1, n do s = s + 3 end return s end
return M
]],
  ["more.lua"] = [[
return function(n) local s = 0 for i = 1, n do s = s + 7 end return s end
]],
}

-- what main.lua prints (the plain run would take hours)
local function expected(a, b)
  local n = (a and 1 or 0) + (b and 1 or 0)
  local lines = {
    ("args\tmain.lua\t%s\t%s\t%d"):format(tostring(a), tostring(b), n) .. (a and "\t" .. a or "")
      .. (b and "\t" .. b or ""),
    "require\t500000500000\t3000000000000",
    "load\t5000000000000",
    "loadfile\t7000000000000",
    "dofile\t7000000000000",
  }
  if LUAJIT then lines[#lines + 1] = "loadstring\t1000000000000" end
  lines[#lines + 1] = "main\t2000000000000"
  return table.concat(lines, "\n") .. "\n"
end

describe("the runner on " .. VM, function()
  local dir
  before_each(function() dir = project(PROJECT) end)
  after_each(function() remove(dir) end)

  it("cpm script.lua: every chunk the program loads is optimized, arg as expected", function()
    local out, err, code = run(dir, CPM .. " main.lua x y")
    assert.are.equal("", err)
    assert.are.equal(0, code)
    assert.are.equal(expected("x", "y"), out)
  end)

  it("-l cpm.auto script.lua does the same", function()
    local out, err, code = run(dir, "-l cpm.auto main.lua x")
    assert.are.equal("", err)
    assert.are.equal(0, code)
    assert.are.equal(expected("x"), out)
  end)

  it("a script's error: the message, the traceback and exit code 1, as the VM gives them", function()
    local _, err, code = run(dir, "-l cpm.auto main.lua fail")
    assert.are.equal(1, code)
    assert.are.equal(VM .. ": main.lua:12: boom", err:match("^[^\n]*"))
    assert.truthy(err:find("\nstack traceback:\n", 1, true))
    _, err, code = run(dir, CPM .. " main.lua fail")
    assert.are.equal(1, code)
    assert.are.equal("cpm: main.lua:12: boom", err:match("^[^\n]*"))
  end)

  it("--explain reports every loop of every chunk at exit, os.exit included", function()
    local out, err, code = run(dir, CPM .. " --explain main.lua exit")
    assert.are.equal(7, code)
    assert.are.equal(expected("exit"), out)
    for _, line in ipairs { "sums.lua:2: loop optimized", "sums.lua:3: loop optimized",
                            "more.lua:1: loop optimized", "main.lua:10: loop optimized" } do
      assert.truthy(err:find(line, 1, true), line .. " in:\n" .. err)
    end
  end)

  it("runs the same as the VM on programs with no long loops", function()
    local d = project {
      ["p.lua"] = [[
local t = {}
for i = 1, 10 do t[#t + 1] = i * i end
local s = 0.5
for i = 1, 100 do s = s + i end
local b = 1
for i = 1, 70 do b = b * 3 end
print(table.concat(t, ","), s, b, math.type and math.type(b) or type(b), ...)
return
]] }
    local plain = { run(d, "p.lua a") }
    assert.are.same(plain, { run(d, CPM .. " p.lua a") })
    assert.are.same(plain, { run(d, CPM .. " --iters-limit 2 p.lua a") })
    assert.are.same(plain, { run(d, "-l cpm.auto p.lua a") })
    remove(d)
  end)

  it("--strict raises when a loop of at least --iters-limit iterations runs as written", function()
    local d = project { ["f.lua"] = "local s = 0.5 for i = 1, 10 do s = s + 1 end print(s) return\n" }
    local out, err, code = run(d, CPM .. " --strict f.lua")
    assert.are.same({ "10.5\n", "", 0 }, { out, err, code })  -- 10 < the default limit
    out, err, code = run(d, CPM .. " --strict --iters-limit 2 f.lua")
    assert.are.equal("", out)
    assert.are.equal(1, code)
    assert.truthy(err:find("^cpm: cpm: f%.lua:1: "), err)
    remove(d)
  end)

  it("-e, - (stdin) and -- as lua has them", function()
    local out, err, code = run(dir, CPM .. " -e " .. quote("x = 10^12") .. " - a b",
      "local s = 0 for i = 1, x do s = s + 1 end print(s, arg[0], ...) return")
    assert.are.same({ "1000000000000\t-\ta\tb\n", "", 0 }, { out, err, code })
    out, err, code = run(dir, CPM .. " -- main.lua --strict")
    assert.are.same({ expected("--strict"), "", 0 }, { out, err, code })
    local e = " -e " .. quote("local s = 0 for i = 1, 10^12 do s = s + 1 end print(s, select('#', ...), arg and arg[0]) return")
    out, err, code = run(dir, "-l cpm.auto" .. e)
    assert.are.same({ "", 0 }, { err, code })
    assert.are.equal("1000000000000\t0\t" .. (LUAJIT and "nil" or VM) .. "\n", out)
  end)

  it("under a line hook, loads bypass cpm: the hook never steps through cpm's own code", function()
    local d = project { ["h.lua"] = [[
local seen, inside = 0, 0
debug.sethook(function()
  local src = debug.getinfo(2, "S").source
  seen = seen + 1
  if src:find("cpm/init.lua", 1, true) or src:find("cpm/source", 1, true) then inside = inside + 1 end
end, "l")
local f = load("local s = 0 for i = 1, 100 do s = s + i end return s")
local r = f()
debug.sethook()
print(r, seen > 100, inside)
return
]] }
    local plain = { run(d, "h.lua") }
    assert.are.same({ "5050\ttrue\t0\n", "", 0 }, plain)
    assert.are.same(plain, { run(d, CPM .. " --iters-limit 2 h.lua") })
    remove(d)
  end)

  -- What a program can see of the runner is what it sees without it: found
  -- by running Lua 5.4's testes (db.lua traces `load(s)()` under a line
  -- hook), LuaJIT's test suite (it lists package.loaded and seals every
  -- table _G reaches) and with `debug` removed (Lua's testes do that; cpm
  -- read it at run time).
  it("is invisible: line traces, the caller of a dofile'd chunk, package.loaded, sealed tables", function()
    local d = project {
      ["seen.lua"] = [[
local out = {}
local function trace(what, f)
  local lines = {}
  debug.sethook(function(_, line)
    local s = debug.getinfo(2, "S").short_src
    lines[#lines + 1] = s .. ":" .. line
  end, "l")
  local r = f()
  debug.sethook()
  out[#out + 1] = what .. " " .. tostring(r) .. " " .. table.concat(lines, " ")
end
trace("load", function() return load("local s = 0\nfor i = 1, 30 do\n s = s + i\nend\nreturn s", "=s")() end)
trace("loadfile", function() return loadfile("chunk.lua")() end)
trace("dofile", function() return dofile("chunk.lua") end)
if loadstring then trace("loadstring", function() return loadstring("return 7", "=t")() end) end
out[#out + 1] = "dofile's chunk's caller: " .. dofile("caller.lua")
local names = {}
for k in pairs(package.loaded) do names[#names + 1] = tostring(k) end
table.sort(names)
out[#out + 1] = "loaded: " .. table.concat(names, " ")
-- seal every table _G reaches, as LuaJIT's test runner does
local sealed = { __newindex = function() error("sealed", 2) end }
local function seal(t)
  if getmetatable(t) then return end
  setmetatable(t, sealed)
  for _, v in pairs(t) do if type(v) == "table" then seal(v) end end
end
seal(_G)
setmetatable(package.loaded, nil)
local ok, r = pcall(function()
  return load("local n = ... local s = 0 for i = 1, n do s = s + 3 end return s")(1000)
end)
out[#out + 1] = "sealed: " .. tostring(ok) .. " " .. tostring(r)
print(table.concat(out, "\n"))
return
]],
      ["chunk.lua"] = "local s = 0\nfor i = 1, 30 do\n  s = s + 2 * i\nend\nreturn s\n",
      ["caller.lua"] = "return debug.getinfo(2, 'S').what\n",
      -- cpm itself, with the globals and string functions it used removed
      -- after it loaded
      ["gone.lua"] = [[
local cpm = require "cpm"
local dbg = debug
dbg.upvaluejoin = function() error("the program's upvaluejoin") end
debug, require, pcall, math = nil, nil, nil, nil
string.format, string.sub, string.match, string.find, string.gsub = nil, nil, nil, nil, nil
local f = load("return function(n) local s = 0 for i = 1, n do s = s + 2 end return s end")()
local g = cpm.optimize(f)
print(g(10^12), cpm.explain(f), #cpm.stats(g), cpm.load("return 1")())
local s = 0
for i = 1, 10^12 do s = s + 1 end
print(s)
return
]],
    }
    local plain = { run(d, "seen.lua") }
    assert.are.equal(0, plain[3], plain[2])
    assert.truthy(plain[1]:find("\nsealed: true 3000\n", 1, true), plain[1])
    assert.are.same(plain, { run(d, "-l cpm.auto seen.lua") })
    assert.are.same(plain, { run(d, CPM .. " --iters-limit 2 seen.lua") })
    local out, err, code
    out, err, code = run(d, CPM .. " gone.lua")
    assert.are.same({ "", 0 }, { err, code })
    assert.truthy(out:find("^2000000000000\t[^\n]*loop optimized[^\t]*\t1\t1\n1000000000000\n$"), out)
    remove(d)
  end)

  it("refuses an unknown option and a bad --iters-limit with the usage", function()
    local out, err, code = run(dir, CPM .. " --itters-limit 3 main.lua")
    assert.are.same({ "", 1 }, { out, code })
    assert.truthy(err:find("cpm: unrecognized option '--itters-limit'\nusage: cpm", 1, true), err)
    out, err, code = run(dir, CPM .. " --iters-limit 1 main.lua")
    assert.are.same({ "", 1 }, { out, code })
    assert.truthy(err:find("cpm: '--iters-limit' needs an integer >= 2", 1, true), err)
  end)

  it("a missing script is reported as the VM reports it", function()
    local _, err, code = run(dir, CPM .. " nosuch.lua")
    local _, err0, code0 = run(dir, "nosuch.lua")
    assert.are.equal(code0, code)
    assert.are.equal(err0:gsub("^[^:]*: ", ""), (err:gsub("^cpm: ", "")))
  end)
end)
