#!/bin/sh
# The demo app: prints a greeting with its vendored dependencies.
. /app/lib/greeting/greeting.sh
. /app/lib/colors/colors.sh
greet "${1:-layers}"
