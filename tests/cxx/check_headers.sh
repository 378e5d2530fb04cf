#!/bin/sh
# tests/cxx/check_headers.sh COMPILER LANGUAGE STD INCLUDE_DIR
#
# Each public header, alone, compiles with COMPILER as LANGUAGE (c or c++)
# in -std=STD with -Wall -Wextra -Werror -pedantic, and the warnings strict
# projects of that language add: every header is self-contained and clean
# in that language, whatever the build's flags.
set -u
cc=$1 lang=$2 std=$3 inc=$4
case $lang in
c++) extra="-Wshadow -Wold-style-cast -Wzero-as-null-pointer-constant" ;;
*) extra="-Wshadow -Wstrict-prototypes -Wmissing-prototypes" ;;
esac
status=0
for h in "$inc"/uinotify/*.h; do
	name=uinotify/${h##*/}
	if printf '#include <%s>\nint uin_header_check_;\n' "$name" |
		"$cc" -std="$std" -Wall -Wextra -Werror -pedantic $extra \
			-fsyntax-only -I"$inc" -x "$lang" -; then
		echo "ok   $name ($cc -std=$std)"
	else
		echo "FAIL $name ($cc -std=$std)"
		status=1
	fi
done
exit $status
