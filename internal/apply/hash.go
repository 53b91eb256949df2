package apply

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// hashLength is how many hex digits of the sha256 an inventory keeps: 64 bits, plenty to tell
// two revisions of one object apart, short enough for a thousand-entry status.
const hashLength = 16

// Hash is the hash of an object's content as it is applied (see applyContent), without the
// source-revision annotation: a new revision alone does not change it.
func Hash(content map[string]any) (string, error) {
	canonical := withoutRevision(content)
	// encoding/json writes map keys sorted, which makes the JSON canonical.
	data, err := json.Marshal(canonical)
	if err != nil {
		return "", fmt.Errorf("hashing object: %w", err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])[:hashLength], nil
}

// withoutRevision returns content minus the source-revision annotation, copying only the maps
// on the way to it so that content itself is untouched.
func withoutRevision(content map[string]any) map[string]any {
	meta, _ := content["metadata"].(map[string]any)
	annotations, _ := meta["annotations"].(map[string]any)
	if _, ok := annotations[automationv1alpha1.SourceRevisionAnnotation]; !ok {
		return content
	}
	annotations = maps.Clone(annotations)
	delete(annotations, automationv1alpha1.SourceRevisionAnnotation)
	meta = maps.Clone(meta)
	if len(annotations) == 0 {
		delete(meta, "annotations")
	} else {
		meta["annotations"] = annotations
	}
	out := maps.Clone(content)
	out["metadata"] = meta
	return out
}
