-- Command line of the ring fuzzer (spec/support/ringgen.lua):
--   LUA_PATH='spec/support/?.lua;lua/?.lua;lua/?/init.lua;;' \
--   LUA_CPATH='build/lua5.4/?.so;;' lua5.4 spec/support/ringrun.lua [seed [count [frontend]]]
-- (LUA_CPATH='build/luajit/?.so;;' luajit ... likewise).  Prints each
-- difference as it is found and the counts at the end; exits 1 when there
-- was any difference.
local ringgen = require "ringgen"

local seed, count = tonumber(arg[1]) or 1, tonumber(arg[2]) or 100
local fes = arg[3] and { arg[3] } or nil
local t0 = os.clock()
local function list(t)
  local out = {}
  for k, v in pairs(t) do out[#out + 1] = k .. "=" .. v end
  table.sort(out)
  return table.concat(out, " ")
end
local st = ringgen.run { seed = seed, count = count, fes = fes,
  log = function(s) io.stderr:write(s, "\n\n") end,
  progress = function(i, s)
    if i % 100 == 0 then io.stderr:write(("%d functions, %d comparisons\n"):format(i, s.comparisons)) end
  end }
print(("seed %d: %d functions, %d comparisons (%s), %d differences, %d computed (%s), %d skipped, %.1fs"):format(
  seed, st.functions, st.comparisons, list(st.byfe), st.differences, st.computed, list(st.byfam), st.skipped,
  os.clock() - t0))
os.exit(st.differences == 0 and 0 or 1)
