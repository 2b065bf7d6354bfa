-- cpm: automatic algorithmic speed-ups for Lua loops.
-- This file is `require "cpm"`; the C part is `cpm.core`.
local core = require "cpm.core"

local M = {}
-- Public names only: internal test entry points of the core start with "_".
-- This brings cpm.big, cpm.isbig, cpm.eq, cpm.cmp, cpm.maxbits, cpm.range.
for k, v in pairs(core) do
  if type(k) ~= "string" or k:sub(1, 1) ~= "_" then M[k] = v end
end

return M
