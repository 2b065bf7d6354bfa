-- A deterministic generator for the random specs: the same cases on every
-- run and on both VMs (a linear congruential generator modulo 2^31, whose
-- state stays an exact integer on LuaJIT's doubles).
--
--   local rnd, pick = require("lcg").new(seed)
--   rnd(n)  -> an integer in 1..n
--   pick(t) -> a random element of the list t
--
-- new(seed, "low") draws from the low bits, as the first random specs did
-- (their cases stay what they were); the default, the high bits, has the
-- longer periods.
local M = {}

function M.new(seed, bits)
  local low = bits == "low"
  local function rnd(n)
    seed = (seed * 1103515245 + 12345) % 2147483648
    if low then return seed % n + 1 end
    return math.floor(seed / 65536) % n + 1
  end
  local function pick(t) return t[rnd(#t)] end
  return rnd, pick
end

return M
