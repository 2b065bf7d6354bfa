-- `luarocks test` (the rockspec's test command): builds the checkout for
-- the VM luarocks runs this script on, then runs every spec with busted on
-- that VM.  Extra arguments go to busted.
local vm = rawget(_G, "jit") and "luajit" or _VERSION == "Lua 5.4" and "lua5.4" or nil
if not vm then
  io.stderr:write("cpm: needs Lua 5.4 or LuaJIT 2.1 (this is ", _VERSION, ")\n")
  os.exit(1)
end
local interpreter = arg[-1]
local function run(cmd)
  io.stderr:write(cmd, "\n")
  local ok, _, code = os.execute(cmd)
  if ok == true or ok == 0 then return end
  os.exit(type(code) == "number" and code or 1)
end
local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
run("make build/" .. vm .. "/cpm/core.so")
local extra = {}
for i = 1, #arg do extra[i] = quote(arg[i]) end
run("busted --lua=" .. quote(interpreter) .. " " .. table.concat(extra, " "))
