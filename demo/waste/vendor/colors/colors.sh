COLOR_ON=$(printf '\033[1m')
COLOR_OFF=$(printf '\033[0m')
