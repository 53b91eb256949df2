// Package gitstatus writes what L-KaaS observes of a Fleet's objects back to Git: one YAML
// status document per Fleet, Cluster and LogicalCluster, and a README.md summary that reads
// well on a Git web UI. This file is the pure part (no clients, no clock): the documents are
// a function of the objects' status alone, so the same state always gives the same bytes and
// a status commit happens only when the state changed.
//
// Only whitelisted fields are copied into the documents: phases, conditions (type, status,
// reason, message), Kubernetes versions, add-on and member states and the EMCO registration.
// Nothing that names or holds a Secret (kubeconfig Secret names, kubeconfig digests, the
// Fleet's spec) and nothing that changes without a change of state (transition times,
// generations, the inventory, the writer's own status) is written.
package gitstatus

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsyaml "sigs.k8s.io/yaml"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

const (
	// Header is the first line of every status document; FleetOf requires it, so files
	// people put beside the documents are never taken for (and deleted as) status.
	Header = "# Observed by L-KaaS; do not edit: the next status commit overwrites this file."

	// DefaultDir is the status directory when the Fleet names none (spec.writeBack.path).
	DefaultDir = "status/"

	// ReadmeName is the summary's file name inside the status directory.
	ReadmeName = "README.md"

	// Path segments of the three kinds: <dir>/<namespace>/<segment>/<name>.yaml.
	FleetSegment          = "fleet"
	ClusterSegment        = "cluster"
	LogicalClusterSegment = "logicalcluster"
)

// Snapshot is what one Fleet's status writer observed: the Fleet and the Clusters and
// LogicalClusters it applied (the caller selects them by the Fleet labels).
type Snapshot struct {
	Fleet           *automationv1alpha1.Fleet
	Clusters        []automationv1alpha1.Cluster
	LogicalClusters []intentv1.LogicalCluster
}

// Dir normalizes a status directory (a Fleet's spec.writeBack.path) to a slash path with no
// leading and exactly one trailing slash: "status", "/status/", "./status//" all give
// "status/"; empty gives DefaultDir. It refuses ".." and the repository root (the summary
// would replace the repository's own README.md) and a directory inside .git.
func Dir(dir string) (string, error) {
	if strings.TrimSpace(dir) == "" {
		return DefaultDir, nil
	}
	if strings.ContainsAny(dir, "\\\x00") {
		return "", fmt.Errorf("status directory %q: backslashes and NUL are not allowed", dir)
	}
	if slices.Contains(strings.Split(dir, "/"), "..") {
		return "", fmt.Errorf("status directory %q must stay inside the repository (no '..')", dir)
	}
	clean := strings.TrimPrefix(path.Clean("/"+dir), "/")
	if clean == "" {
		return "", fmt.Errorf("status directory %q is the repository root; name a directory such as %q", dir, DefaultDir)
	}
	if first, _, _ := strings.Cut(clean, "/"); first == ".git" {
		return "", fmt.Errorf("status directory %q is inside .git", dir)
	}
	return clean + "/", nil
}

// Documents renders one YAML status document per object, keyed by slash-separated path
// under dir (dir is the Fleet's spec.writeBack.path, e.g. "status/" or "status"; normalized
// by Dir): <dir>/<namespace>/fleet/<name>.yaml, <dir>/<namespace>/cluster/<name>.yaml,
// <dir>/<namespace>/logicalcluster/<name>.yaml.
func Documents(dir string, s Snapshot) (map[string][]byte, error) {
	d, err := Dir(dir)
	if err != nil {
		return nil, err
	}
	if s.Fleet == nil {
		return nil, errors.New("status snapshot without a Fleet")
	}
	out := make(map[string][]byte, 1+len(s.Clusters)+len(s.LogicalClusters))
	add := func(gv, kind, segment string, meta metav1.ObjectMeta, revision string, status any) error {
		if err := checkSegment("namespace", meta.Namespace); err != nil {
			return fmt.Errorf("%s %s/%s: %w", kind, meta.Namespace, meta.Name, err)
		}
		if err := checkSegment("name", meta.Name); err != nil {
			return fmt.Errorf("%s %s/%s: %w", kind, meta.Namespace, meta.Name, err)
		}
		p := d + meta.Namespace + "/" + segment + "/" + meta.Name + ".yaml"
		if _, dup := out[p]; dup {
			return fmt.Errorf("%s %s/%s appears twice in the snapshot", kind, meta.Namespace, meta.Name)
		}
		b, err := encode(document{
			APIVersion:     gv,
			Kind:           kind,
			Metadata:       objectRef{Namespace: meta.Namespace, Name: meta.Name},
			Fleet:          s.Fleet.Namespace + "/" + s.Fleet.Name,
			SourceRevision: revision,
			Status:         status,
		})
		if err != nil {
			return fmt.Errorf("%s %s/%s: %w", kind, meta.Namespace, meta.Name, err)
		}
		out[p] = b
		return nil
	}

	f := s.Fleet
	if err := add(automationv1alpha1.GroupVersion.String(), automationv1alpha1.FleetKind, FleetSegment,
		f.ObjectMeta, f.Status.LastAppliedRevision, fleetStatusOf(f)); err != nil {
		return nil, err
	}
	for i := range s.Clusters {
		c := &s.Clusters[i]
		if err := add(automationv1alpha1.GroupVersion.String(), automationv1alpha1.ClusterKind, ClusterSegment,
			c.ObjectMeta, c.Status.SourceRevision, clusterStatusOf(c)); err != nil {
			return nil, err
		}
	}
	for i := range s.LogicalClusters {
		lc := &s.LogicalClusters[i]
		if err := add(intentv1.GroupVersion.String(), intentv1.LogicalClusterKind, LogicalClusterSegment,
			lc.ObjectMeta, lc.Status.SourceRevision, logicalClusterStatusOf(lc)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FleetOf reads the owning Fleet ("<namespace>/<name>") recorded in a status document, so
// the writer can delete files of objects its Fleet no longer has; ok is false for files
// that are not L-KaaS status documents (no Header line, another kind, no fleet).
func FleetOf(doc []byte) (fleet string, ok bool) {
	d, ok := parse(doc)
	if !ok {
		return "", false
	}
	return d.Fleet, true
}

// Revision returns the source revision a set of documents reflects, for the commit
// message: the Fleet's status.lastAppliedRevision if set, empty before the first apply.
func Revision(s Snapshot) string {
	if s.Fleet == nil {
		return ""
	}
	return s.Fleet.Status.LastAppliedRevision
}

// document is the shape of every status file; the field order here is the key order in
// the file.
type document struct {
	APIVersion     string    `json:"apiVersion"`
	Kind           string    `json:"kind"`
	Metadata       objectRef `json:"metadata"`
	Fleet          string    `json:"fleet"`
	SourceRevision string    `json:"sourceRevision,omitempty"`
	Status         any       `json:"status"`
}

type objectRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// condition is a metav1.Condition without lastTransitionTime and observedGeneration, which
// change without a change of state.
type condition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

type fleetStatus struct {
	LastAppliedRevision   string           `json:"lastAppliedRevision,omitempty"`
	LastAttemptedRevision string           `json:"lastAttemptedRevision,omitempty"`
	Conditions            []condition      `json:"conditions,omitempty"`
	Clusters              map[string]int32 `json:"clusters,omitempty"`
}

type clusterStatus struct {
	// Existing marks a cluster built by other means (spec.existing): L-KaaS only watches it.
	Existing            bool          `json:"existing,omitempty"`
	Phase               string        `json:"phase,omitempty"`
	Conditions          []condition   `json:"conditions,omitempty"`
	ControlPlaneVersion string        `json:"controlPlaneVersion,omitempty"`
	WorkersVersion      string        `json:"workersVersion,omitempty"`
	LogicalCluster      string        `json:"logicalCluster,omitempty"`
	Addons              []addonStatus `json:"addons,omitempty"`
	EMCO                *clusterEMCO  `json:"emco,omitempty"`
}

type addonStatus struct {
	Name    string `json:"name"`
	Kind    string `json:"kind,omitempty"`
	Object  string `json:"object,omitempty"`
	Applied bool   `json:"applied"`
	Message string `json:"message,omitempty"`
}

// clusterEMCO is EMCORegistration without kubeconfigDigest (a digest of a kubeconfig).
type clusterEMCO struct {
	Endpoint        string `json:"endpoint,omitempty"`
	Project         string `json:"project,omitempty"`
	ClusterProvider string `json:"clusterProvider,omitempty"`
	Cluster         string `json:"cluster,omitempty"`
	Registered      bool   `json:"registered"`
}

type logicalClusterStatus struct {
	Phase        string            `json:"phase,omitempty"`
	Conditions   []condition       `json:"conditions,omitempty"`
	ReadyMembers int32             `json:"readyMembers,omitempty"`
	TotalMembers int32             `json:"totalMembers,omitempty"`
	CurrentWave  *int32            `json:"currentWave,omitempty"`
	LogicalCloud string            `json:"logicalCloud,omitempty"`
	Members      []memberStatus    `json:"members,omitempty"`
	EMCO         *logicalCloudEMCO `json:"emco,omitempty"`
}

type memberStatus struct {
	Name              string `json:"name"`
	Existing          bool   `json:"existing,omitempty"`
	Phase             string `json:"phase,omitempty"`
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	Wave              int32  `json:"wave,omitempty"`
	Registered        bool   `json:"registered,omitempty"`
	Pending           bool   `json:"pending,omitempty"`
}

type logicalCloudEMCO struct {
	Endpoint       string   `json:"endpoint,omitempty"`
	Project        string   `json:"project,omitempty"`
	LogicalCloud   string   `json:"logicalCloud,omitempty"`
	Level          string   `json:"level,omitempty"`
	Clusters       []string `json:"clusters,omitempty"`
	DeployedStatus string   `json:"deployedStatus,omitempty"`
	ReadyStatus    string   `json:"readyStatus,omitempty"`
}

// WriterCondition is the Fleet condition the status writer reports itself with.
const WriterCondition = "StatusWritten"

func fleetStatusOf(f *automationv1alpha1.Fleet) fleetStatus {
	st := fleetStatus{
		LastAppliedRevision:   f.Status.LastAppliedRevision,
		LastAttemptedRevision: f.Status.LastAttemptedRevision,
		// The writer's own condition stays out: it names the last status commit, so writing
		// it would make every commit cause the next one.
		Conditions: conditionsOf(slices.DeleteFunc(slices.Clone(f.Status.Conditions), func(c metav1.Condition) bool {
			return c.Type == WriterCondition
		})),
	}
	// The Fleet counts every phase, zeros too (see the Fleet controller); Git gets the phases
	// that have clusters.
	for phase, n := range f.Status.Clusters {
		if n == 0 {
			continue
		}
		if st.Clusters == nil {
			st.Clusters = map[string]int32{}
		}
		st.Clusters[phase] = n // encoding/json writes map keys sorted
	}
	return st
}

func clusterStatusOf(c *automationv1alpha1.Cluster) clusterStatus {
	st := clusterStatus{
		Existing:            c.IsExisting(),
		Phase:               string(c.Status.Phase),
		Conditions:          conditionsOf(c.Status.Conditions),
		ControlPlaneVersion: c.Status.ControlPlaneVersion,
		WorkersVersion:      c.Status.WorkersVersion,
		LogicalCluster:      c.Labels[automationv1alpha1.LogicalClusterLabel],
	}
	for _, a := range c.Status.Addons {
		st.Addons = append(st.Addons, addonStatus{Name: a.Name, Kind: a.Kind, Object: a.Object,
			Applied: a.Applied, Message: redact(a.Message)})
	}
	slices.SortFunc(st.Addons, func(a, b addonStatus) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Object, b.Object))
	})
	if e := c.Status.EMCO; e != nil {
		st.EMCO = &clusterEMCO{Endpoint: e.Endpoint, Project: e.Project, ClusterProvider: e.ClusterProvider,
			Cluster: e.Cluster, Registered: e.Registered}
	}
	return st
}

func logicalClusterStatusOf(lc *intentv1.LogicalCluster) logicalClusterStatus {
	st := logicalClusterStatus{
		Phase:        string(lc.Status.Phase),
		Conditions:   conditionsOf(lc.Status.Conditions),
		ReadyMembers: lc.Status.ReadyMembers,
		TotalMembers: lc.Status.TotalMembers,
		LogicalCloud: lc.Status.LogicalCloud,
	}
	if lc.Status.CurrentWave != nil {
		w := *lc.Status.CurrentWave
		st.CurrentWave = &w
	}
	existing := map[string]bool{}
	for _, m := range lc.Spec.Clusters {
		existing[m.Name] = m.Existing != nil
	}
	// Members stay in spec order, as the status has them: the order members roll in.
	for _, m := range lc.Status.Members {
		st.Members = append(st.Members, memberStatus{Name: m.Name, Existing: existing[m.Name], Phase: string(m.Phase),
			KubernetesVersion: m.KubernetesVersion, Wave: m.Wave, Registered: m.Registered, Pending: m.Pending})
	}
	if e := lc.Status.EMCO; e != nil {
		st.EMCO = &logicalCloudEMCO{Endpoint: e.Endpoint, Project: e.Project, LogicalCloud: e.LogicalCloud,
			Level: string(e.Level), Clusters: slices.Sorted(slices.Values(e.Clusters)),
			DeployedStatus: e.DeployedStatus, ReadyStatus: e.ReadyStatus}
		if len(st.EMCO.Clusters) == 0 {
			st.EMCO.Clusters = nil
		}
	}
	return st
}

// conditionsOf keeps type, status, reason and message, sorted by type.
func conditionsOf(in []metav1.Condition) []condition {
	if len(in) == 0 {
		return nil
	}
	out := make([]condition, 0, len(in))
	for _, c := range in {
		out = append(out, condition{Type: c.Type, Status: string(c.Status), Reason: c.Reason, Message: redact(c.Message)})
	}
	slices.SortFunc(out, func(a, b condition) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Status, b.Status),
			cmp.Compare(a.Reason, b.Reason), cmp.Compare(a.Message, b.Message))
	})
	return out
}

// Free text (condition and add-on messages) may quote what a failing call returned. The
// whitelist keeps Secrets' fields out of the documents; these patterns are a second line of
// defence against a credential quoted inside a message.
var (
	pemBlock   = regexp.MustCompile(`(?s)-----BEGIN [A-Z0-9 ]*-----.*?(?:-----END [A-Z0-9 ]*-----|$)`)
	bearer     = regexp.MustCompile(`(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+`)
	credential = regexp.MustCompile(`(?i)\b(token|bearerToken|password|passwd|client-key-data|client-certificate-data|certificate-authority-data)("?\s*[:=]\s*"?)[^\s",}]+`)
	jwt        = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`)
)

const redacted = "[redacted]"

func redact(s string) string {
	if s == "" {
		return s
	}
	s = pemBlock.ReplaceAllLiteralString(s, redacted)
	s = jwt.ReplaceAllLiteralString(s, redacted)
	s = bearer.ReplaceAllString(s, "${1}"+redacted)
	return credential.ReplaceAllString(s, "${1}${2}"+redacted)
}

func checkSegment(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty %s", what)
	case s == "." || s == "..", strings.ContainsAny(s, "/\\\x00"):
		return fmt.Errorf("%s %q cannot be a path segment", what, s)
	}
	return nil
}

// encode writes Header and the YAML of v, keys in the order of v's struct fields (the
// JSON encoding's order; maps sorted), two-space indentation.
func encode(v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	node, err := jsonNode(dec)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString(Header + "\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(node); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// jsonNode turns the next JSON value into a YAML node, keeping the order of object keys.
func jsonNode(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if t == '{' {
			n = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		}
		for dec.More() {
			if n.Kind == yaml.MappingNode {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, err := scalarNode(k)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, key)
			}
			v, err := jsonNode(dec)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, v)
		}
		if _, err := dec.Token(); err != nil && err != io.EOF { // the closing delimiter
			return nil, err
		}
		return n, nil
	case json.Number:
		return &yaml.Node{Kind: yaml.ScalarNode, Value: t.String()}, nil
	default: // string, bool, nil
		return scalarNode(t)
	}
}

var yaml11Bool = map[string]bool{"y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
	"n": true, "N": true, "no": true, "No": true, "NO": true, "off": true, "Off": true, "OFF": true}

// scalarNode makes the node of a string, bool or null directly: Node.Encode starts a whole
// YAML encoder per scalar, which was most of the cost of rendering a thousand documents.
// The emitter still quotes a string that would read back as another type.
func scalarNode(v any) (*yaml.Node, error) {
	switch t := v.(type) {
	case string:
		// YAML 1.1 booleans ("yes", "off"), sexagesimal numbers ("1:20") and invalid UTF-8
		// are quoted or encoded by yaml.v3's own rules: left to it.
		if utf8.ValidString(t) && !yaml11Bool[t] && !strings.Contains(t, ":") {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t}, nil
		}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(t)}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	n := &yaml.Node{}
	if err := n.Encode(v); err != nil {
		return nil, err
	}
	return n, nil
}

// parsed is what Summary and FleetOf read back from a status document (a union of the
// three kinds' status fields).
type parsed struct {
	APIVersion     string    `json:"apiVersion"`
	Kind           string    `json:"kind"`
	Metadata       objectRef `json:"metadata"`
	Fleet          string    `json:"fleet"`
	SourceRevision string    `json:"sourceRevision"`
	Status         struct {
		Existing            bool             `json:"existing"`
		Phase               string           `json:"phase"`
		Conditions          []condition      `json:"conditions"`
		LastAppliedRevision string           `json:"lastAppliedRevision"`
		Clusters            map[string]int32 `json:"clusters"`
		ControlPlaneVersion string           `json:"controlPlaneVersion"`
		WorkersVersion      string           `json:"workersVersion"`
		LogicalCluster      string           `json:"logicalCluster"`
		ReadyMembers        int32            `json:"readyMembers"`
		TotalMembers        int32            `json:"totalMembers"`
		CurrentWave         *int32           `json:"currentWave"`
		LogicalCloud        string           `json:"logicalCloud"`
		Members             []memberStatus   `json:"members"`
		EMCO                *struct {
			Endpoint       string `json:"endpoint"`
			Registered     bool   `json:"registered"`
			Level          string `json:"level"`
			DeployedStatus string `json:"deployedStatus"`
			ReadyStatus    string `json:"readyStatus"`
		} `json:"emco"`
	} `json:"status"`
}

var kinds = map[string]string{ // kind → apiVersion
	automationv1alpha1.FleetKind:   automationv1alpha1.GroupVersion.String(),
	automationv1alpha1.ClusterKind: automationv1alpha1.GroupVersion.String(),
	intentv1.LogicalClusterKind:    intentv1.GroupVersion.String(),
}

func parse(doc []byte) (*parsed, bool) {
	rest, found := bytes.CutPrefix(doc, []byte(Header))
	if !found || len(rest) == 0 || (rest[0] != '\n' && rest[0] != '\r') {
		return nil, false
	}
	var d parsed
	if err := sigsyaml.Unmarshal(doc, &d); err != nil {
		return nil, false
	}
	if gv, known := kinds[d.Kind]; !known || gv != d.APIVersion {
		return nil, false
	}
	if checkSegment("namespace", d.Metadata.Namespace) != nil || checkSegment("name", d.Metadata.Name) != nil {
		return nil, false
	}
	ns, name, two := strings.Cut(d.Fleet, "/")
	if !two || ns == "" || name == "" || strings.Contains(name, "/") {
		return nil, false
	}
	return &d, true
}
