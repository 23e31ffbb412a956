-- The source code layer of the five-layer example.
package.path = "/app/rocks/share/lua/5.4/?.lua;" .. package.path
local greeting = require("greeting")
print(greeting.hello(arg[1] or "layers"))
