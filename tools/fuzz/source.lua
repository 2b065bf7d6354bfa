-- The source front end fuzzer (spec/support/chunkgen.lua), for long runs:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;spec/support/?.lua;;' \
--   LUA_CPATH='build/luajit/?.so;;' luajit tools/fuzz/source.lua [cases [seed]]
-- Prints the counts; stops at the first difference with the chunk.
local chunkgen = require "chunkgen"
local cases, seed = tonumber(arg[1]) or 1000, tonumber(arg[2]) or os.time()
local t0 = os.clock()
local stats = chunkgen.run { seed = seed, cases = cases, on_case = function(i, s)
  if i % 500 == 0 then
    io.stderr:write(("%d chunks, %d comparisons, %.0f s\n"):format(i, s.comparisons, os.clock() - t0))
  end
end }
print(("%s seed %d: %d chunks run (%d refused by load), %d comparisons, %d loops explained, %d optimized, %.1f s")
  :format(jit and jit.version or _VERSION, seed, stats.cases, stats.skipped, stats.comparisons,
    stats.explained, stats.optimized, os.clock() - t0))
