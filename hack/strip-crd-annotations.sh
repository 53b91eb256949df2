#!/usr/bin/env bash
# controller-gen stamps its own version into every CRD; a newer controller-gen would then make
# every CRD look stale. Keep the stamp out of the checked-in files.
set -euo pipefail
for f in "$1"/*.yaml; do
	sed -i '/controller-gen.kubebuilder.io\/version:/d' "$f"
	# an annotations map left empty by the line above (followed by name, or by labels)
	sed -i -z 's/  annotations:\n  \(name\|labels\):/  \1:/' "$f"
done
