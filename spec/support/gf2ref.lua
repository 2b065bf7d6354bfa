-- Lua 5.4 only (bitwise operators): references for spec/gf2_spec.lua.
-- The code is a string loaded at run time, so that this file still parses
-- on LuaJIT (spec/parser_spec.lua loads every file of spec/).
--   jump(step, state, n): step^n(state) for an affine map over GF(2) given
--     as a function of k integers, by square-and-multiply of its bit
--     matrix (a different method from cpm's minimal polynomial).
--   body(rng, k): random xor/shift/rotate/mask loop functions as text.
return assert(load([==[
local M = {}

local function bitof(v, j) return (v[j // 64 + 1] >> (j % 64)) & 1 end

-- u (k words + constant word) -> M u, M given by its columns.
local function apply(cols, u, k)
  local r = {}
  for i = 1, k + 1 do r[i] = 0 end
  for j = 0, #cols - 1 do
    if bitof(u, j) == 1 then
      local c = cols[j + 1]
      for i = 1, k + 1 do r[i] = r[i] ~ c[i] end
    end
  end
  return r
end

function M.jump(step, state, n)
  local k = #state
  local zero = {}
  for i = 1, k do zero[i] = 0 end
  local b = { step(table.unpack(zero)) }
  local cols = {}
  for j = 0, 64 * k do  -- column j: the image of bit j (the last: constant)
    local e = {}
    for i = 1, k do e[i] = 0 end
    local c
    if j < 64 * k then
      e[j // 64 + 1] = 1 << (j % 64)
      c = { step(table.unpack(e)) }
      for i = 1, k do c[i] = c[i] ~ b[i] end
      c[k + 1] = 0
    else
      c = { table.unpack(b) }
      c[k + 1] = 1
    end
    cols[j + 1] = c
  end
  local v = { table.unpack(state) }
  v[k + 1] = 1
  while n > 0 do
    if n & 1 == 1 then v = apply(cols, v, k) end
    n = n >> 1
    if n > 0 then
      local sq = {}
      for j = 1, #cols do sq[j] = apply(cols, cols[j], k) end
      cols = sq
    end
  end
  return table.unpack(v, 1, k)
end

-- A random loop function over k (1..4) integer variables s1..sk with
-- invariant parameters m1, m2 (masks) and c1, c2 (shift counts); its
-- arguments are s1..sk, n, m1, m2, c1, c2.
function M.body(rng, k)
  local function var() return "s" .. rng(k) end
  local function count() return tostring(rng(-70, 70)) end
  local atoms = {
    function() return var() end,
    function(e) return ("(%s << %s)"):format(e, count()) end,
    function(e) return ("(%s >> %s)"):format(e, count()) end,
    function(e) return ("(%s << c%d)"):format(e, rng(2)) end,
    function(e) return ("(%s >> c%d)"):format(e, rng(2)) end,
    function(e) local r = rng(1, 63) return ("((%s << %d) | (%s >> %d))"):format(e, r, e, 64 - r) end,
    function(e) return ("((%s << c1) | (%s >> (64 - c1)))"):format(e, e) end,
    function(e) return ("(%s & m%d)"):format(e, rng(2)) end,
    function(e) return ("(%s | m%d)"):format(e, rng(2)) end,
    function(e) return ("(%s & 0x%x)"):format(e, rng(0, 0xffffff)) end,
    function(e) return ("(~%s)"):format(e) end,
    function(e) return ("(%s ~ %s)"):format(e, var()) end,
    function(e)  -- & of two changing values: rarely affine, runs as written
      if rng(4) > 1 then return ("(%s ~ %s)"):format(e, var()) end
      return ("(%s & %s)"):format(e, var())
    end,
  }
  local function expr(depth)
    local e = var()
    for _ = 1, rng(depth) do e = atoms[rng(#atoms)](e) end
    return e
  end
  local lines = {}
  for _ = 1, rng(k, k + 3) do
    local v = var()
    lines[#lines + 1] = ("    %s = %s ~ %s"):format(v, v, expr(3))
  end
  if k > 1 and rng(3) == 1 then  -- a permutation of the words
    lines[#lines + 1] = "    s1, s" .. k .. " = s" .. k .. ", s1"
  end
  local names = {}
  for i = 1, k do names[i] = "s" .. i end
  local list = table.concat(names, ", ")
  return ("return function(%s, n, m1, m2, c1, c2)\n  for _ = 1, n do\n%s\n  end\n  return %s\nend"):format(
    list, table.concat(lines, "\n"), list)
end

return M
]==], "=gf2ref"))()
