package emco

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// labelPattern is EMCO's name pattern, which cluster labels share.
var labelPattern = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)

// maxLabelLen is the schema's maxLength for a cluster label.
const maxLabelLen = 128

// ValidLabel reports whether s is accepted by clm as a cluster label.
func ValidLabel(s string) bool { return len(s) <= maxLabelLen && labelPattern.MatchString(s) }

// LabelsFor maps Kubernetes labels to EMCO cluster labels, deterministically:
//
//   - the key's prefix (everything up to the last "/") is dropped:
//     "automation.dcn.ssu.ac.kr/location" → "location";
//   - the label becomes "<name>-<value>", or just "<name>" when the value is empty:
//     automation.dcn.ssu.ac.kr/location=kr-seoul → "location-kr-seoul";
//   - any character outside [-A-Za-z0-9_.] becomes "-", leading and trailing
//     characters that are not letters or digits are trimmed, and the result is
//     cut to 128 characters (valid Kubernetes labels never need this);
//   - results that are empty are skipped; duplicates (the same name under two
//     prefixes with the same value) collapse; the list is sorted.
//
// The caller chooses which labels to publish; LabelsFor maps all it is given.
func LabelsFor(k8sLabels map[string]string) []string {
	out := make([]string, 0, len(k8sLabels))
	for key, value := range k8sLabels {
		name := key[strings.LastIndex(key, "/")+1:]
		label := name
		if value != "" {
			label = name + "-" + value
		}
		if label = sanitizeLabel(label); label != "" {
			out = append(out, label)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func sanitizeLabel(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if !isAlnum(ch) && ch != '-' && ch != '_' && ch != '.' {
			b[i] = '-'
		}
	}
	s = strings.TrimFunc(string(b), func(r rune) bool { return r > 0x7f || !isAlnum(byte(r)) })
	if len(s) > maxLabelLen {
		s = strings.TrimRightFunc(s[:maxLabelLen], func(r rune) bool { return !isAlnum(byte(r)) })
	}
	return s
}

func isAlnum(ch byte) bool {
	return ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9'
}

// ListClusterLabels returns the cluster's labels (404 when the cluster is absent).
func (c *Client) ListClusterLabels(ctx context.Context, provider, cluster string) ([]string, error) {
	var body []ClusterLabel
	if err := c.getJSON(ctx, CLM, p("cluster-providers", provider, "clusters", cluster, "labels"), nil, &body); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(body))
	for _, l := range body {
		out = append(out, l.ClusterLabel)
	}
	return out, nil
}

// AddClusterLabel adds one label (409 when present).
func (c *Client) AddClusterLabel(ctx context.Context, provider, cluster, label string) error {
	return c.sendJSON(ctx, CLM, http.MethodPost, p("cluster-providers", provider, "clusters", cluster, "labels"),
		ClusterLabel{ClusterLabel: label}, nil)
}

// DeleteClusterLabel removes one label; a missing one is not an error.
func (c *Client) DeleteClusterLabel(ctx context.Context, provider, cluster, label string) error {
	return ignoreNotFound(c.delete(ctx, CLM, p("cluster-providers", provider, "clusters", cluster, "labels", label)))
}

// EnsureClusterLabels makes the cluster carry exactly want: missing labels are
// added, extra ones removed. Labels are checked first so that nothing is
// written when one of them would be refused.
func (c *Client) EnsureClusterLabels(ctx context.Context, provider, cluster string, want []string) (Change, error) {
	for _, l := range want {
		if !ValidLabel(l) {
			return Unchanged, &InvalidLabelError{Label: l}
		}
	}
	have, err := c.ListClusterLabels(ctx, provider, cluster)
	if err != nil {
		return Unchanged, err
	}
	change := Unchanged
	for _, l := range want {
		if slices.Contains(have, l) {
			continue
		}
		if err := c.AddClusterLabel(ctx, provider, cluster, l); err != nil && !IsConflict(err) {
			return change, err
		}
		change = Updated
	}
	for _, l := range have {
		if slices.Contains(want, l) {
			continue
		}
		if err := c.DeleteClusterLabel(ctx, provider, cluster, l); err != nil {
			return change, err
		}
		change = Updated
	}
	return change, nil
}

// InvalidLabelError names a label clm would refuse with 400.
type InvalidLabelError struct{ Label string }

func (e *InvalidLabelError) Error() string {
	return fmt.Sprintf("emco: cluster label %q must match %s and be at most %d characters; map Kubernetes labels with LabelsFor",
		e.Label, labelPattern, maxLabelLen)
}
