-- greeting: the dependency of the five-layer example.
local M = {}

function M.hello(name)
   return ("Hello, %s! Five layers: base, runtime, requirements, dependencies, code."):format(name)
end

return M
