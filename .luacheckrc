-- luacheck configuration (`make lint`; `make test` runs it too).
-- cpm runs on Lua 5.4 and LuaJIT: the union of the standard libraries,
-- with LuaJIT's extras (jit, loadstring, setfenv, unpack, ...).
std = "max+luajit"
codes = true
-- methods need not use self
self = false
exclude_files = { "build/", ".git/" }

files["spec/"] = {
  std = "+busted",
  -- specs hold whole functions as strings, one per line
  max_line_length = false,
}
-- the examples are loops as users write them: `for i = 1, n do` with the
-- index unused is the very shape cpm optimizes
files["examples/"] = { ignore = { "213/i" } }
files["bin/cpm"] = { std = "max+luajit" }
