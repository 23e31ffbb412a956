-- The requirements file of the five-layer example (LuaRocks' equivalent of
-- requirements.txt): what the app needs installed.
rockspec_format = "3.0"
package = "app"
version = "1.0-1"
source = { url = "file:///app" }
dependencies = {
   "lua >= 5.4",
   "greeting >= 1.0",
}
build = { type = "none" }
