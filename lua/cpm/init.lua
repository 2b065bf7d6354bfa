-- cpm: automatic algorithmic speed-ups for Lua loops.
-- This file is `require "cpm"`; the C part is `cpm.core`.
local core = require "cpm.core"

local M = {}
for k, v in pairs(core) do M[k] = v end

return M
