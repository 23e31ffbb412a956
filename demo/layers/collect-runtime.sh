#!/bin/sh
# Gather Lua 5.4, its headers (LuaRocks looks for them before it builds anything) and
# LuaRocks, with the shared libraries they load, under $1, so that a base without libc
# (busybox-static) can run them.
set -eu
dest=$1
mkdir -p "$dest"
for package in lua5.4 liblua5.4-dev luarocks; do
    dpkg -L "$package" | while read -r path; do
        case $path in /usr/share/doc/* | /usr/share/man/* | *.a) continue ;; esac
        if [ -f "$path" ] || [ -L "$path" ]; then
            cp -a --parents "$path" "$dest"
        fi
    done
done
# The interpreter and its libraries (the loader included).
for lib in $(ldd /usr/bin/lua5.4 | grep -o '/[^ ]*'); do
    cp -L --parents "$lib" "$dest"
done

# LuaRocks probes for an MD5 tool with `md5sum --version`, which busybox's md5sum does not
# answer: a two-line wrapper answers the probe and runs busybox's md5sum for real work.
mkdir -p "$dest/usr/local/bin"
cat >"$dest/usr/local/bin/md5sum-luarocks" <<'SCRIPT'
#!/bin/sh
[ "${1:-}" = --version ] && exit 0
exec md5sum "$@"
SCRIPT
chmod 755 "$dest/usr/local/bin/md5sum-luarocks"
echo 'variables = { MD5SUM = "/usr/local/bin/md5sum-luarocks" }' >>"$dest/etc/luarocks/config-5.4.lua"
