-- Differential sweeps for the specs: each function a random generator
-- writes, optimized by every front end at the default iters_limit and at
-- 2, against the original on random arguments (agree.lua); and a shape
-- that must run as written, with its reason under strict.
local cpm = require "cpm"
local agree = require("agree").agree
local load = loadstring or load
local unpack = table.unpack or unpack

local M = {}

M.FRONTENDS = { "bytecode", "source" }

-- sweep{ cases = N, source = fn() -> text, args = fn() -> packed args,
--   calls = calls per optimized function (6), line = the loop whose
--   computed calls are counted (3), each = fn(f, frontend) called once a
--   front end, agree = fn(f, g, args, where) (agree.lua's) }
-- -> { [frontend] = the calls the loop at 'line' computed }
function M.sweep(o)
  local computed = {}
  for _, fe in ipairs(M.FRONTENDS) do computed[fe] = 0 end
  for case = 1, o.cases do
    local text = o.source()
    local f = assert(load(text))()
    for _, fe in ipairs(M.FRONTENDS) do
      if o.each then o.each(f, fe) end
      for _, limit in ipairs({ 0, 2 }) do
        local opts = { frontend = fe }
        if limit > 0 then opts.iters_limit = limit end
        local g = cpm.optimize(f, opts)
        for _ = 1, o.calls or 6 do
          local x = o.args()
          local shown = {}
          for i = 1, x.n or #x do shown[i] = tostring(x[i]) end
          local where = ("case %d\n%s\nfrontend %s, iters_limit %d, args %s")
            :format(case, text, fe, limit, table.concat(shown, ", "))
          ;(o.agree or agree)(f, g, x, where)
        end
        for _, st in ipairs(cpm.stats(g)) do
          if st.line == (o.line or 3) then
            computed[fe] = computed[fe] + st.computed
          end
        end
      end
    end
  end
  return computed
end

-- refused(f, reason, args, where): on every front end, f optimized with
-- strict (iters_limit 2) raises 'reason' (plain text) when called with
-- args (packed, n honoured), and optimized without strict agrees with f.
function M.refused(f, reason, args, where)
  for _, fe in ipairs(M.FRONTENDS) do
    local gs = cpm.optimize(f, { frontend = fe, strict = true, iters_limit = 2 })
    local ok, err = pcall(gs, unpack(args, 1, args.n or #args))
    assert(not ok, where .. "\n" .. fe .. ": computed, not refused")
    assert(tostring(err):find(reason, 1, true), ("%s\n%s: %s, not %s"):format(
      where, fe, tostring(err), reason))
    agree(f, cpm.optimize(f, { frontend = fe, iters_limit = 2 }), args,
      where .. "\n" .. fe)
  end
end

return M
