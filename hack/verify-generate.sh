#!/usr/bin/env bash
# Fails when the checked-in generated files (deepcopy, CRDs) differ from what `make generate`
# produces now. It compares before/after generation rather than asking git, so it works with
# uncommitted hand edits in api/ too; on failure the regenerated files are left in place.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
generated() { find api -name 'zz_generated.*.go'; find charts/lkaas/crds -name '*.yaml'; }
before=$(mktemp -d)
trap 'rm -rf "$before"' EXIT
generated | sort | while read -r f; do mkdir -p "$before/$(dirname "$f")"; cp "$f" "$before/$f"; done
make --no-print-directory generate >/dev/null
stale=0
while read -r f; do
	if ! cmp -s "$f" "$before/$f" 2>/dev/null; then echo "stale: $f"; stale=1; fi
done < <(generated | sort)
for f in $(cd "$before" && find . -type f | sed 's|^\./||'); do
	[ -e "$f" ] || { echo "no longer generated: $f"; stale=1; }
done
if [ $stale -ne 0 ]; then
	echo "generated files were stale: they are regenerated now; review and commit them" >&2
	exit 1
fi
