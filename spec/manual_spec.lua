-- doc/manual.md documents every name a user can reach: the functions of
-- require "cpm", the bignum methods and the bignum metamethods.  A name
-- counts as documented when it appears in a heading or in code (a `code`
-- span or a fenced block) of the manual, in the form a user writes it.
local cpm = require "cpm"

local function read_manual()
  local f = assert(io.open("doc/manual.md"))
  local text = f:read("*a")
  f:close()
  return text
end

-- Headings, code spans and fenced blocks of a markdown text, concatenated.
local function documented_text(md)
  local parts, infence = {}, false
  for line in (md .. "\n"):gmatch("(.-)\n") do
    if line:match("^%s*```") then
      infence = not infence
    elseif infence or line:match("^#") then
      parts[#parts + 1] = line
    else
      for span in line:gmatch("`([^`]+)`") do parts[#parts + 1] = span end
    end
  end
  return table.concat(parts, "\n")
end

local function escape(s) return (s:gsub("%p", "%%%0")) end

local function sorted_keys(t, pred)
  local out = {}
  for k in pairs(t) do
    if type(k) == "string" and (not pred or pred(k)) then out[#out + 1] = k end
  end
  table.sort(out)
  return out
end

describe("doc/manual.md", function()
  local doc = documented_text(read_manual())
  local mt = getmetatable(cpm.big(1))

  it("names every field of require \"cpm\" as cpm.<name>", function()
    local missing = {}
    for _, k in ipairs(sorted_keys(cpm)) do
      if not doc:find("cpm%." .. escape(k) .. "%f[^%w_]") then missing[#missing + 1] = k end
    end
    assert.are.same({}, missing)
  end)

  it("shows every bignum method called as :<name>(", function()
    local missing = {}
    for _, k in ipairs(sorted_keys(mt.__index)) do
      if not doc:find(":" .. escape(k) .. "(", 1, true) then missing[#missing + 1] = k end
    end
    assert.are.same({}, missing)
  end)

  it("lists every metamethod of cpm.big by its name", function()
    local missing = {}
    for _, k in ipairs(sorted_keys(mt, function(k) return k:sub(1, 2) == "__" end)) do
      if not doc:find(escape(k) .. "%f[^%w_]") then missing[#missing + 1] = k end
    end
    assert.are.same({}, missing)
  end)

  it("does not count a name that only appears in prose", function()
    local probe = documented_text("cpm.nowhere is prose\n# cpm.heading\n`cpm.span`\n")
    assert.is_nil(probe:find("cpm.nowhere", 1, true))
    assert.truthy(probe:find("cpm.heading", 1, true))
    assert.truthy(probe:find("cpm.span", 1, true))
  end)
end)
