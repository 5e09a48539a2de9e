#!/bin/sh
# Lint the man pages with mandoc (TAP).  Every warning is a failure.
srcdir=${TOP_SRCDIR:-$(dirname "$0")/..}
pages="$srcdir/man/snow-owld.8 $srcdir/man/snow-owl.conf.5 $srcdir/man/snow-owl.1"
n=0
status=0
if ! command -v mandoc >/dev/null 2>&1; then
	echo "1..0 # SKIP mandoc is not installed"
	exit 0
fi
for page in $pages; do
	n=$((n + 1))
	out=$(mandoc -Tlint -W warning "$page" 2>&1)
	if [ -z "$out" ]; then
		echo "ok $n - mandoc -Tlint $(basename "$page")"
	else
		echo "not ok $n - mandoc -Tlint $(basename "$page")"
		echo "$out" | sed 's/^/# /'
		status=1
	fi
done
echo "1..$n"
exit $status
