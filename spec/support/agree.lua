-- Differential comparison for the specs: does an optimized function do
-- exactly what the original does on some arguments?
local same = require("ir_reference").same
local unpack = table.unpack or unpack

local M = {}

-- outcome(f, ...) -> ok, results (packed, with n) or false, { message }
function M.outcome(f, ...)
  local r = { pcall(f, ...) }
  return r[1], { n = #r - 1, select(2, unpack(r)) }
end

-- agree(f, g, args, where): asserts that f and g, called with args (n
-- honoured), both return the same values (math.type and bignums compared)
-- or both raise the same message; 'where' explains a failure.
function M.agree(f, g, args, where)
  local ok1, r1 = M.outcome(f, unpack(args, 1, args.n or #args))
  local ok2, r2 = M.outcome(g, unpack(args, 1, args.n or #args))
  assert(ok1 == ok2, ("%s\noriginal %s, optimized %s: %s / %s"):format(where,
    ok1 and "returned" or "raised", ok2 and "returned" or "raised",
    tostring(r1[1]), tostring(r2[1])))
  if not ok1 then
    assert(r1[1] == r2[1], ("%s\nerrors differ:\n  %s\n  %s"):format(where,
      tostring(r1[1]), tostring(r2[1])))
    return
  end
  assert(r1.n == r2.n, where .. "\nresult counts differ")
  for i = 1, r1.n do
    local eq, msg = same(r1[i], r2[i])
    assert(eq, ("%s\nresult %d: %s"):format(where, i, tostring(msg)))
  end
end

return M
