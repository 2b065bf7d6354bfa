-- bench/loops.lua -- the short loops that bench/crossover.lua,
-- bench/overhead.lua, bench/neverslower.lua and bench/freshproc.lua time:
-- over plain numbers (integers on Lua 5.4, doubles on LuaJIT) and over
-- cpm.big; numeric for loops, and while loops (their own count check).
local big = require("cpm").big

local M = {}

function M.sum(n)
  local s = 0
  for i = 1, n do s = s + i end
  return s
end

function M.fibint(n)
  local a, b = 0, 1
  for _ = 1, n do a, b = b, a + b end
  return a
end

function M.rec3int(n)
  local p3, p2, p1 = 0, 1, 1
  for i = 3, n + 2 do
    local cur = 7 * (2 * p1 + 3 * p2) + 4 * p3 + 5 * i + 6
    p3, p2, p1 = p2, p1, cur
  end
  return p3
end

function M.fibbig(n)
  local a, b = big(0), big(1)
  for _ = 1, n do a, b = b, a + b end
  return a
end

function M.wsum(n)
  local s, i = 0, 1
  while i <= n do s = s + i; i = i + 1 end
  return s
end

function M.wfibint(n)
  local a, b, i = 0, 1, 0
  while i < n do a, b = b, a + b; i = i + 1 end
  return a
end

return M
