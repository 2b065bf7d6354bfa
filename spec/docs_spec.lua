-- Every ```lua block of README.md and doc/manual.md runs verbatim, as a
-- file example.lua, in a subprocess on the VM the specs run on, and prints
-- what its `-->` comments say.  The conventions, for the documents:
--   - `print(x)  --> text`: the block's output, all its `-->` comments
--     joined, spaces and tabs compared as one space (so `--> 1   2` is the
--     tab-separated "1	2");
--   - `--> error: message`: the block ends by raising an error whose
--     message contains `message`;
--   - `<!-- vm: lua5.4 -->` (or luajit) on the line before the fence: the
--     block runs on that VM only (Lua 5.4 syntax, VM-specific output);
--   - `--> [lua5.4] text` (or [luajit]): output on that VM only, for a line
--     that prints differently on each (cpm.explain's "computed when").
local files = require "files"
local sub = require "subprocess"

local THIS = rawget(_G, "jit") and "luajit" or "lua5.4"

-- blocks(text) -> { { code = ..., line = n, vm = "lua5.4"|"luajit"|nil }... }
local function blocks(md)
  local out, cur, prev, n = {}, nil, "", 0
  for line in (md .. "\n"):gmatch("(.-)\n") do
    n = n + 1
    if cur then
      if line:match("^```") then out[#out + 1] = cur cur = nil
      else cur.code = cur.code .. line .. "\n" end
    elseif line:match("^```lua%s*$") then
      cur = { code = "", line = n, vm = prev:match("^<!%-%- vm: (%S+) %-%->") }
    end
    prev = line
  end
  return out
end

local function squash(s) return (s:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")) end

-- expect(code [, vm]) -> expected output (squashed) on vm (default: this
-- one), expected error message or nil
local function expect(code, vm)
  local outs, errmsg = {}, nil
  for comment in code:gmatch("%-%->([^\n]*)") do
    local e = comment:match("^%s*error:%s*(.-)%s*$")
    local on, text = comment:match("^%s*%[([%w.]+)%](.*)$")
    if e then errmsg = e
    elseif not on then outs[#outs + 1] = comment
    elseif on == (vm or THIS) then outs[#outs + 1] = text end
  end
  return squash(table.concat(outs, " ")), errmsg
end

for _, doc in ipairs { "README.md", "doc/manual.md" } do
  describe(doc, function()
    local list = blocks(files.read(doc))

    it("has lua examples", function()
      assert.is_true(#list > 0)
    end)

    for _, b in ipairs(list) do
      if b.vm == nil or b.vm == THIS then
        it(("runs the example at line %d and prints what it says"):format(b.line), function()
          local dir = sub.project { ["example.lua"] = b.code }
          local out, err, code = sub.run(dir, "example.lua")
          sub.remove(dir)
          local want, errmsg = expect(b.code)
          if errmsg then
            assert.are_not.equal(0, code)
            assert.truthy(err:find(errmsg, 1, true), ("error %q not in:\n%s"):format(errmsg, err))
          else
            assert.are.equal("", err)
            assert.are.equal(0, code)
          end
          assert.are.equal(want, squash(out))
        end)
      end
    end
  end)
end

-- The manual's embedding example: its C block and the command line of its
-- sh block for this VM, built against `make`'s objects, running a script.
describe("doc/manual.md's embedding example", function()
  it("builds as the manual says and runs a script through cpm.loadfile", function()
    local md = files.read("doc/manual.md")
    local section = md:match("\n## Embedding\n(.-)\n## ") or md:match("\n## Embedding\n(.*)$")
    local csrc = section:match("```c\n(.-)```")
    local cmds = section:match("```sh\n(.-)```")
    assert.truthy(csrc and cmds)
    local build = os.getenv("CPM_BUILD") or ("build/" .. THIS)
    local cc
    for line in cmds:gmatch("[^\n]+") do
      if line:match("^cc ") and line:find(THIS == "luajit" and "luajit" or "lua5%.4") then cc = line end
    end
    assert.truthy(cc, cmds)
    cc = cc:gsub("build/" .. THIS:gsub("%.", "%%.") .. "/", sub.CWD .. "/" .. build .. "/")
    -- make asan's objects need the sanitizers' runtime in the host too
    if os.getenv("ASAN") then cc = cc .. " -fsanitize=address,undefined" end
    local dir = sub.project { ["host.c"] = csrc, ["script.lua"] =
      "local function f(n) local s = 0 for i = 1, n do s = s + i end return s end\n"
      .. "print(require('cpm').explain(f):match('loop optimized') ~= nil, ('%.0f'):format(f(10^7)))\n" }
    -- (under make asan the sanitizers are preloaded: not into the compiler)
    local ok = os.execute(("cd %s && env -u LD_PRELOAD %s 2>cc.err"):format(sub.quote(dir), cc))
    assert.truthy(ok == true or ok == 0, files.read(dir .. "/cc.err"))
    local out = os.tmpname()
    ok = os.execute(("cd %s && LUA_PATH=%s env -u LD_PRELOAD ./host script.lua > %s"):format(sub.quote(dir),
      sub.quote(sub.CWD .. "/lua/?.lua;" .. sub.CWD .. "/lua/?/init.lua;;"), sub.quote(out)))
    local text = files.read(out)
    os.remove(out)
    sub.remove(dir)
    assert.truthy(ok == true or ok == 0)
    assert.are.equal("true\t50000005000000\n", text)
  end)
end)

describe("the examples' conventions", function()
  it("read blocks, their VM and their expected output", function()
    local md = "text\n<!-- vm: luajit -->\n```lua\nprint(1, 2) --> 1   2\nerror('x') --> error: x\n```\n"
      .. "```sh\nls\n```\n```lua\nprint(3)\n```\n"
    local list = blocks(md)
    assert.are.equal(2, #list)
    assert.are.equal("luajit", list[1].vm)
    assert.is_nil(list[2].vm)
    assert.are.same({ "1 2", "x" }, { expect(list[1].code) })
    local both = "print(1) --> [lua5.4] a\n --> [luajit] b\n"
    assert.are.same({ "a" }, { expect(both, "lua5.4") })
    assert.are.same({ "b" }, { expect(both, "luajit") })
    assert.are.equal(squash("1\t2\n"), "1 2")
  end)
end)
