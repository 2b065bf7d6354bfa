-- Files for the specs: reading one whole, writing a temporary one.
local M = {}

-- read(path) -> the file's bytes (raises when it cannot be read)
function M.read(path)
  local h = assert(io.open(path, "rb"))
  local s = h:read("*a")
  h:close()
  return s
end

-- tmpfile(text) -> the path of a new temporary file holding text
function M.tmpfile(text)
  local path = os.tmpname()
  local h = assert(io.open(path, "wb"))
  h:write(text)
  h:close()
  return path
end

return M
