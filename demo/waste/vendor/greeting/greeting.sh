greet() { printf '%sHello, %s!%s\n' "$COLOR_ON" "$1" "$COLOR_OFF"; }
