-- cpm.auto: runs a whole program with cpm, unchanged.
--
--   lua5.4 -l cpm.auto script.lua args...     (luajit likewise)
--   cpm [options] script.lua args...           (bin/cpm, installed by the rock)
--
-- Every chunk the program loads goes through cpm: the main script, the Lua
-- modules `require` finds (a wrapped package searcher), and what `load`,
-- `loadfile`, `dofile` and LuaJIT's `loadstring` load (wrapped globals).
--
-- Under `-l`, the interpreter runs this module before the script, and then
-- would load the script itself with the C API, out of cpm's reach.  So this
-- module runs the script (and any `-e`/`-l` options after its own `-l`),
-- exactly as the interpreter would, and exits.  It takes over only when
-- loaded straight by the interpreter's `-l` (no Lua function on the stack)
-- and there is something to run; `require "cpm.auto"` from Lua code only
-- returns the module, and with no script the REPL starts with the wrapped
-- globals in place.
local cpm = require "cpm"
local core = require "cpm.core"

-- Not compiled by LuaJIT, as cpm's (lua/cpm/init.lua says why).
if rawget(_G, "jit") then jit.off(true, true) end

local type, tostring, tonumber, ipairs, select, pcall, xpcall, error, next =
  type, tostring, tonumber, ipairs, select, pcall, xpcall, error, next
local require, rawget, rawset, setmetatable, getmetatable = require, rawget, rawset, setmetatable, getmetatable
local io_stderr, io_stdout, os_exit = io.stderr, io.stdout, os.exit
local table_concat, traceback, getinfo, gethook = table.concat, debug.traceback, debug.getinfo, debug.gethook
local unpack = rawget(table, "unpack") or rawget(_G, "unpack")
-- (the program may change the string library: what runs while it runs
-- takes its functions now)
local string_sub, string_find, string_format = string.sub, string.find, string.format
local G = _G

local M = {}

local USAGE = [=[
usage: cpm [options] [script [args]]
Runs a Lua program with every chunk it loads optimized by cpm.
Available options are:
  -e stat           execute string 'stat' (through cpm)
  -l mod            require library 'mod' into global 'mod'
  --explain         at exit, print every loop of every chunk loaded to stderr
  --strict          raise instead of running a loop as written
  --iters-limit N   loops of fewer than N iterations run as written (N >= 2)
  --                stop handling options
  -                 stop handling options and execute stdin
  -h, --help        print this message
With no script and no -e, the program is read from stdin.]=]

-- Modules never passed through cpm: cpm's own (it optimizes while they
-- load) and LuaJIT's jit.* tools.
local function exempt(modname)
  return modname == "cpm" or string_sub(modname, 1, 4) == "cpm." or string_sub(modname, 1, 4) == "jit."
end


--- M.install(opts) -> session: wraps load, loadfile, dofile, loadstring
--- (LuaJIT) and the Lua module searcher so that what they load is
--- optimized with opts = { iters_limit = integer >= 2, strict = boolean,
--- explain = boolean }.  Calling it again replaces the options.  Returns
--- the session: session.chunks lists every function loaded, in order;
--- session.report() is the --explain text (every loop of every chunk).
local INSTALL_OPTIONS = { iters_limit = true, strict = true, explain = true }

function M.install(opts)
  opts = opts or {}
  if type(opts) ~= "table" then
    error(("bad argument #1 to 'install' (table expected, got %s)"):format(type(opts)), 2)
  end
  for k in pairs(opts) do  -- a misspelled option is an error, as in cpm.optimize
    if not INSTALL_OPTIONS[k] then
      error(("bad argument #1 to 'install' (unknown option '%s')"):format(tostring(k)), 2)
    end
  end
  local copts = { iters_limit = opts.iters_limit, strict = opts.strict }
  if M.session then M.session.copts = copts; return M.session end

  local session = { copts = copts, chunks = {} }
  local busy = false  -- while cpm works, loads are its own: passed through

  -- The program sees the modules it would see without the runner: cpm's
  -- own, and what cpm loads while it works (cpm.source, lpeg), are moved
  -- out of package.loaded into 'hidden' (LuaJIT's test suite lists
  -- package.loaded); the program's own `require "cpm"` still finds the
  -- same module there, through the wrapped searcher below.
  local loaded, hidden = package.loaded, {}
  local function hide(before)
    local gone = {}
    for k, v in next, loaded do
      if before then
        if before[k] == nil then gone[k] = v end
      elseif type(k) == "string" and (k == "cpm" or k:sub(1, 4) == "cpm.") then
        gone[k] = v
      end
    end
    for k, v in next, gone do
      hidden[k] = v
      loaded[k] = nil
    end
  end
  hide()

  -- Calls fn(...) as cpm's own work: protected, loads passed through, and
  -- the modules it loaded hidden.  Returns pcall's results.
  local function work(fn, ...)
    local before = {}
    for k in next, loaded do before[k] = true end
    busy = true
    local ok, a, b = pcall(fn, ...)
    busy = false
    hide(before)
    return ok, a, b
  end

  -- Under a line hook (a debugger, a coverage tool) loops run as written
  -- anyway, and the hook would step through cpm's own code: what is
  -- loaded then is loaded as it is.
  local function bypass()
    if busy then return true end
    local _, mask = gethook()
    return mask ~= nil and string_find(mask, "l", 1, true) ~= nil
  end

  -- g for f: every failure but a strict refusal gives f itself back
  local function through(f)
    if bypass() or type(f) ~= "function" then return f end
    local ok, g = work(cpm.optimize, f, session.copts)
    if not ok then
      if session.copts.strict then error(g, 0) end
      g = f
    end
    -- (rawset: the program may have sealed every table it reaches, as
    -- LuaJIT's test runner seals _G; the runner's own state is not its)
    rawset(session.chunks, #session.chunks + 1, f)
    return g
  end
  session.through = through

  local load0, loadfile0, loadstring0 = G.load, G.loadfile, rawget(G, "loadstring")

  -- (an env given, even nil, is passed on: load tells the two apart)
  -- Each wrapper is reached through a C closure of cpm.core
  -- (src/core/runner.c) that calls the VM's own function under a line
  -- hook, so that neither a hook nor debug.getinfo sees Lua code of the
  -- runner.
  local unhooked = core._unhooked

  G.load = unhooked(load0, function(chunk, chunkname, mode, ...)
    if bypass() then return load0(chunk, chunkname, mode, ...) end
    local f, err
    if select("#", ...) > 0 and (...) == nil then
      f, err = load0(chunk, chunkname, mode, nil)
      if f then f = through(f) end
      return f, err
    end
    local ok
    ok, f, err = work(cpm.load, chunk, chunkname, mode, (...), session.copts)
    if not ok then
      if session.copts.strict then error(f, 0) end
      return load0(chunk, chunkname, mode, ...)
    end
    if f then rawset(session.chunks, #session.chunks + 1, f) end
    return f, err
  end)

  G.loadfile = unhooked(loadfile0, function(filename, mode, ...)
    local f, err = loadfile0(filename, mode, ...)
    if not f then return nil, err end
    return through(f)
  end)

  -- (calls the chunk from C, as the VM's dofile does)
  G.dofile = core._dofile(G.loadfile)

  if loadstring0 then
    G.loadstring = unhooked(loadstring0, function(s, chunkname)
      return G.load(s, chunkname)
    end)
  end

  local searchers = rawget(package, "searchers") or rawget(package, "loaders")
  local lua_searcher = searchers[2]
  searchers[2] = core._searcher(hidden, lua_searcher, function(modname, ...)
    local loader, extra = lua_searcher(modname, ...)
    if type(loader) == "function" and not exempt(modname) then loader = through(loader) end
    return loader, extra
  end)

  -- the loops of every chunk, ordered by chunk then line
  function session.report()
    local lines, seen = {}, {}
    local ropts = { iters_limit = session.copts.iters_limit }
    for _, f in ipairs(session.chunks) do
      if not seen[f] then
        seen[f] = true
        local ok, text = pcall(cpm.explain, f, ropts)
        if not ok then text = "cpm.explain failed: " .. tostring(text) end
        if text ~= "no loops" then lines[#lines + 1] = text end
      end
    end
    if #lines == 0 then return "cpm: no loops in the chunks loaded" end
    return table_concat(lines, "\n")
  end

  -- --explain: the report goes out once, at exit (os.exit included)
  if opts.explain then
    local done = false
    session.flush = function()
      if done then return end
      done = true
      io_stderr:write(session.report(), "\n")
    end
    local exit0 = os.exit
    os.exit = function(...)  -- luacheck: ignore 122
      session.flush()
      return exit0(...)
    end
    -- and at lua_close, for an interactive session (no script to wait for)
    local sentinel = rawget(G, "newproxy") and G.newproxy(true) or setmetatable({}, {})
    getmetatable(sentinel).__gc = function() session.flush() end
    session.sentinel = sentinel
  end

  M.session = session
  return session
end


-- lua.c's message handler: a message with a traceback.
local function msghandler(msg)
  if type(msg) ~= "string" then
    local mt = getmetatable(msg)
    if mt and mt.__tostring then
      msg = tostring(msg)
    else
      msg = string_format("(error object is a %s value)", type(msg))
    end
  end
  return traceback(msg, 2)
end

local function report(progname, msg)
  io_stderr:write(progname, ": ", tostring(msg), "\n")
  io_stderr:flush()
end

-- Calls f(...) as lua.c does; returns true, or false after the message.
local function docall(progname, f, ...)
  local ok, msg = xpcall(f, msghandler, ...)
  if not ok then report(progname, msg) end
  return ok
end

-- -l mod, -l g=mod (Lua 5.4): _G[g] = require(mod)
local function dolibrary(progname, spec)
  local g, mod = spec:match("^([^=]+)=(.+)$")
  if not g then g, mod = spec, spec end
  local ok, v = xpcall(require, msghandler, mod)
  if not ok then report(progname, v) return false end
  G[g] = v
  return true
end


--- M.main(argv, progname [, setarg]) -> status: runs a command line
--- (argv[1..]: options, script, its arguments) as `cpm` does; returns
--- true, or false when something failed (its message already on stderr).
--- setarg: a function(scriptindex) that sets the global `arg` for the
--- script, by default a table with the script at 0, its arguments from 1
--- and everything before it at negative indices, progname first.
function M.main(argv, progname, setarg)
  local opts, actions, i = {}, {}, 1
  local function usage(msg)
    if msg then report(progname, msg) end
    io_stderr:write(USAGE, "\n")
    return false
  end
  while argv[i] ~= nil do
    local a = argv[i]
    if a == "--" then i = i + 1 break
    elseif a == "-" or a:sub(1, 1) ~= "-" then break
    elseif a == "-h" or a == "--help" then io_stdout:write(USAGE, "\n") return true
    elseif a == "--explain" then opts.explain = true
    elseif a == "--strict" then opts.strict = true
    elseif a == "--iters-limit" then
      local n = tonumber(argv[i + 1] or "")
      if not n or n < 2 or n ~= math.floor(n) or n >= 2^53 then
        return usage("'--iters-limit' needs an integer >= 2")
      end
      opts.iters_limit = math.tointeger and math.tointeger(n) or n
      i = i + 1
    elseif a:sub(1, 2) == "-e" or a:sub(1, 2) == "-l" then
      local val = a:sub(3)
      if val == "" then i = i + 1 val = argv[i] end
      if val == nil then return usage(("'%s' needs argument"):format(a)) end
      actions[#actions + 1] = { a:sub(2, 2), val }
    else
      return usage(("unrecognized option '%s'"):format(a))
    end
    i = i + 1
  end
  local script = argv[i]

  local session = M.install(opts)
  local status = true
  for _, act in ipairs(actions) do
    if act[1] == "e" then
      local f, err = G.load(act[2], "=(command line)")
      if not f then report(progname, err) status = false
      else status = docall(progname, f) end
    else
      status = dolibrary(progname, act[2])
    end
    if not status then break end
  end

  if status and (script ~= nil or #actions == 0) then
    if setarg then
      setarg(i)
    else
      local a = { [0] = script }
      for k = 1, #argv - i do a[k] = argv[i + k] end
      for k = i - 1, 1, -1 do a[k - i] = argv[k] end
      a[-i] = progname
      G.arg = a
    end
    local f, err
    if script == nil or script == "-" then
      -- (read here, so that the text goes to cpm; a first line starting
      -- with '#' is skipped, its newline kept, as luaL_loadfile does)
      local text = io.stdin:read("*a") or ""
      if text:sub(1, 1) == "#" then text = text:gsub("^[^\n]*", "", 1) end
      f, err = G.load(text, "=stdin")
    else
      f, err = G.loadfile(script)
    end
    if not f then
      report(progname, err)
      status = false
    else
      status = docall(progname, f, unpack(argv, i + 1, #argv))
    end
  end
  if session.flush then session.flush() end
  return status
end


-- Loaded by the interpreter's `-l`: no Lua function called this chunk
-- (level 1 is this function, 2 the chunk, then require and the
-- interpreter's C main).
local function from_interpreter()
  for level = 3, 5 do
    local info = getinfo(level, "S")
    if not info then return level > 3 end
    if info.what ~= "C" then return false end
  end
  return false
end

-- The command line after our own -l (options, script, arguments), read
-- from the global arg (the script at 0 when there is one, the interpreter
-- and options before it; Lua 5.4 with no script puts them from 0 up), and
-- the interpreter's name; nil when our -l is not there.
local function rest_of_command_line(arg)
  local first = 0
  while arg[first - 1] ~= nil do first = first - 1 end
  local cl = {}
  for k = first, #arg do cl[#cl + 1] = arg[k] end
  local after
  for k = 1, #cl do
    local a = cl[k]
    if a:match("^%-l[^=]*=?cpm%.auto$") and a ~= "-l" then after = k + 1
    elseif a == "-l" and cl[k + 1] and cl[k + 1]:match("^[^=]*=?cpm%.auto$") then after = k + 2 end
  end
  if not after then return nil end
  local argv = {}
  for k = after, #cl do argv[#argv + 1] = cl[k] end
  return argv, cl[1]
end

-- Does the command line run anything (a script, stdin, an -e)?
local function runs_something(argv)
  local i = 1
  while argv[i] ~= nil do
    local a = argv[i]
    if a == "--" then return argv[i + 1] ~= nil end
    if a:sub(1, 1) ~= "-" or a == "-" or a:sub(1, 2) == "-e" then return true end
    if a == "-l" then i = i + 1 end
    i = i + 1
  end
  return false
end

if from_interpreter() and type(rawget(G, "arg")) == "table" then
  local argv, progname = rest_of_command_line(G.arg)
  if argv and runs_something(argv) then
    package.loaded["cpm.auto"] = M
    local arg = G.arg
    local status = M.main(argv, progname, function() G.arg = arg end)
    os_exit(status, true)
  end
  M.install()
end

return M
