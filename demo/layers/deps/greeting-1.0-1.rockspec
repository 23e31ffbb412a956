-- A small pure-Lua dependency, shipped as source with the demo (no index is reachable).
rockspec_format = "3.0"
package = "greeting"
version = "1.0-1"
source = { url = "file:///deps" }
dependencies = { "lua >= 5.4" }
build = {
   type = "builtin",
   modules = { greeting = "greeting.lua" },
}
