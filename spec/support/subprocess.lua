-- Running Lua in a subprocess, for the specs of what a user runs from a
-- shell (the runner, the documentation's examples).
local files = require "files"

local M = {}

-- the interpreter the specs run on
M.VM = os.getenv("CPM_VM") or (rawget(_G, "jit") and "luajit" or "lua5.4")

local CWD = os.getenv("PWD") or "."
M.CWD = CWD

-- quote(s) -> s as one word for sh
function M.quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local quote = M.quote

-- a path list (package.path) with its relative entries made absolute
local function absolute(list)
  return (list:gsub("[^;]+", function(e) return e:sub(1, 1) == "/" and e or CWD .. "/" .. e end))
end

-- project(tree) -> a new directory holding the files of tree (name -> text)
function M.project(tree)
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir " .. quote(dir)))
  for name, text in pairs(tree) do
    local h = assert(io.open(dir .. "/" .. name, "wb"))
    h:write(text)
    h:close()
  end
  return dir
end

function M.remove(dir) os.execute("rm -rf " .. quote(dir)) end

-- run(dir, cmdline [, stdin]) -> stdout, stderr, exit code: `VM cmdline`
-- run in dir (at most 60 s) with this process's paths, made absolute, after
-- dir's own modules
function M.run(dir, cmdline, stdin)
  local out, err = os.tmpname(), os.tmpname()
  local cmd = ("cd %s && LUA_PATH=%s LUA_CPATH=%s timeout 60 %s %s >%s 2>%s"):format(
    quote(dir), quote("./?.lua;" .. absolute(package.path)), quote(absolute(package.cpath)),
    M.VM, cmdline, quote(out), quote(err))
  if stdin then cmd = "printf '%s' " .. quote(stdin) .. " | (" .. cmd .. ")" end
  local ok, _, code = os.execute(cmd)
  if type(ok) == "number" then code = ok / 256 end  -- (Lua 5.1's os.execute)
  local o, e = files.read(out), files.read(err)
  os.remove(out)
  os.remove(err)
  return o, e, code
end

return M
