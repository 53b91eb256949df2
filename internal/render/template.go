package render

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	yamlv2 "go.yaml.in/yaml/v2"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	"github.com/dcn-ssu/lkaas/internal/loader"
	"github.com/dcn-ssu/lkaas/internal/tenancy"
)

// clusterTemplate is a clusterctl-style template split into documents, each parsed for
// substitution once. Splitting before substitution means a variable's value can never add
// an object of its own.
type clusterTemplate struct {
	source string
	docs   []*substTemplate
	// lines[i] is where docs[i] is written in the template (its kind line when it has one),
	// for the tenancy check's messages.
	lines []int
	// skeletons[i] is docs[i]'s fast path (skeleton.go).
	skeletons []*docSkeletons
	// shared holds the skeletons' maps that their objects share (shared.go).
	shared *sharedMaps
}

// templateKey identifies a template in the Renderer's cache.
func templateKey(src *automationv1alpha1.TemplateSource) string {
	if src.Path != "" {
		return "path:" + src.Path + "@" + src.Digest
	}
	return "url:" + templateURL(src) + "@" + src.Digest
}

// templateURL is where a url template lives: "<url>/download/<version>/<filename>" (the
// GitHub releases layout of the seed's form), or "<url>/<filename>" without a version.
func templateURL(src *automationv1alpha1.TemplateSource) string {
	base := strings.TrimRight(src.URL, "/")
	if src.Version != "" {
		return base + "/download/" + src.Version + "/" + src.Filename
	}
	return base + "/" + src.Filename
}

// loadTemplate returns the parsed template of a source, from the cache when it is there.
func (r *Renderer) loadTemplate(ctx context.Context, src *automationv1alpha1.TemplateSource) (*clusterTemplate, error) {
	key := templateKey(src)
	r.mu.Lock()
	t, ok := r.templates[key]
	r.mu.Unlock()
	if ok {
		return t, nil
	}

	var (
		raw    []byte
		source string
		err    error
	)
	switch {
	case src.Path != "" && src.URL != "":
		return nil, errors.New("the template names both path and url; name one")
	case src.Path != "":
		source = src.Path
		raw, err = r.readRepoFile("template path", src.Path)
	case src.URL != "":
		source = templateURL(src)
		raw, err = r.fetch(ctx, source, src.Digest)
	default:
		return nil, errors.New("the profile names no template: set template.path (preferred) or template.url")
	}
	if err != nil {
		return nil, err
	}
	if err := verifyDigest(source, src.Digest, raw); err != nil {
		return nil, err
	}

	t, err = parseClusterTemplate(source, raw)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.templates[key] = t
	r.mu.Unlock()
	return t, nil
}

func (r *Renderer) fetch(ctx context.Context, url, digest string) ([]byte, error) {
	if r.opts.Fetcher == nil {
		return nil, fmt.Errorf("template %s is a url template and templates are not fetched here: allow fetching, or use a template path inside the repository", url)
	}
	return r.opts.Fetcher.Fetch(ctx, url, digest)
}

// readRepoFile reads a file named by a profile. The path must be relative and stay inside
// the repository root, symbolic links included: a fleet repository must not read the
// controller's own files.
func (r *Renderer) readRepoFile(what, p string) ([]byte, error) {
	if p == "" {
		return nil, fmt.Errorf("%s is empty", what)
	}
	if path.IsAbs(p) || filepath.IsAbs(p) || filepath.VolumeName(p) != "" {
		return nil, fmt.Errorf("%s %q is absolute; give a path relative to the repository root", what, p)
	}
	clean := path.Clean(filepath.ToSlash(p))
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return nil, fmt.Errorf("%s %q leaves the repository; it must stay inside the repository root", what, p)
	}
	if r.opts.Files != nil {
		b, err := fs.ReadFile(r.opts.Files, clean)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s %q does not exist in the repository", what, p)
		}
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", what, p, err)
		}
		return b, nil
	}
	if r.opts.Root == "" {
		return nil, fmt.Errorf("%s %q: no repository root to read it from", what, p)
	}
	root, err := filepath.EvalSymlinks(r.opts.Root)
	if err != nil {
		return nil, fmt.Errorf("repository root: %w", err)
	}
	real, err := filepath.EvalSymlinks(filepath.Join(root, filepath.FromSlash(clean)))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s %q does not exist in the repository", what, p)
		}
		return nil, fmt.Errorf("%s %q: %w", what, p, err)
	}
	if rel, err := filepath.Rel(root, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, fmt.Errorf("%s %q leads outside the repository through a symbolic link", what, p)
	}
	b, err := os.ReadFile(real)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", what, p, err)
	}
	return b, nil
}

// parseClusterTemplate splits raw into YAML documents and parses each for substitution.
func parseClusterTemplate(source string, raw []byte) (*clusterTemplate, error) {
	t := &clusterTemplate{source: source, shared: newSharedMaps()}
	line := 1
	for i, doc := range splitDocuments(string(raw)) {
		start := line
		line += strings.Count(doc, "\n") + 1 // the document and the separator after it
		if strings.TrimSpace(doc) == "" {
			continue
		}
		st, err := parseSubst(doc)
		if err != nil {
			return nil, fmt.Errorf("template %s, document %d: %w", source, i+1, err)
		}
		t.docs = append(t.docs, st)
		t.skeletons = append(t.skeletons, newDocSkeletons(st, t.shared))
		t.lines = append(t.lines, start+kindLineOffset(doc))
	}
	if len(t.docs) == 0 {
		return nil, fmt.Errorf("template %s holds no objects", source)
	}
	return t, nil
}

// kindLineOffset is how many lines into doc its top-level "kind:" is written, or its first
// line of content when it has none at the start of a line.
func kindLineOffset(doc string) int {
	first := -1
	for i, l := range strings.Split(doc, "\n") {
		if strings.HasPrefix(l, "kind:") {
			return i
		}
		if t := strings.TrimSpace(l); first < 0 && t != "" && !strings.HasPrefix(t, "#") {
			first = i
		}
	}
	return max(first, 0)
}

// splitDocuments cuts a multi-document YAML text at its "---" separator lines.
func splitDocuments(s string) []string {
	var docs []string
	start := 0
	for i := 0; i <= len(s); {
		end := strings.IndexByte(s[i:], '\n')
		if end < 0 {
			end = len(s)
		} else {
			end += i
		}
		if isSeparator(s[i:end]) {
			docs = append(docs, s[start:i])
			start = min(end+1, len(s))
		}
		i = end + 1
	}
	return append(docs, s[start:])
}

func isSeparator(line string) bool {
	if !strings.HasPrefix(line, "---") {
		return false
	}
	rest := strings.TrimSpace(line[3:])
	return rest == "" || strings.HasPrefix(rest, "#")
}

// execute substitutes vars into every document and decodes the objects, each with where it
// is written. Missing variables of all documents are reported together.
func (t *clusterTemplate) execute(vars map[string]string) ([]tenancy.Document, error) {
	var missing []string
	seen := map[string]bool{}
	for _, d := range t.docs {
		for _, n := range d.missing(vars) {
			if !seen[n] {
				seen[n] = true
				missing = append(missing, n)
			}
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("template %s: %w (set them in the profile values or the Fleet's variablesFrom)", t.source, &MissingVariablesError{Names: missing})
	}

	objs := make([]tenancy.Document, 0, len(t.docs))
	for i := range t.docs {
		obj, err := t.decode(i, vars)
		if err != nil {
			return nil, fmt.Errorf("template %s, document %d: %w", t.source, i+1, err)
		}
		if obj != nil {
			objs = append(objs, tenancy.Document{Pos: loader.Position{File: t.source, Line: t.lines[i], Column: 1}, Object: obj})
		}
	}
	return objs, nil
}

// decode substitutes vars into document i and decodes it: from the document's skeleton when
// it has one for these values, otherwise by substituting text and parsing it.
func (t *clusterTemplate) decode(i int, vars map[string]string) (map[string]any, error) {
	if obj, ok, _ := t.skeletons[i].decodeFast(t.docs[i], vars); ok {
		return obj, nil
	}
	text, err := t.docs[i].execute(vars)
	if err != nil {
		return nil, err
	}
	return decodeObject([]byte(text))
}

// decodeObject reads one YAML document as an object with Kubernetes number semantics
// (integers as int64, the YAML 1.1 scalars kubectl reads); an empty document is nil.
func decodeObject(doc []byte) (map[string]any, error) {
	var v any
	if err := yamlv2.Unmarshal(doc, &v); err != nil {
		return nil, fmt.Errorf("not valid YAML after substitution: %w", err)
	}
	if v == nil {
		return nil, nil
	}
	v, err := jsonTypes(v)
	if err != nil {
		return nil, fmt.Errorf("not valid YAML after substitution: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("a document is not an object")
	}
	if err := checkObject(obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// checkObject refuses a decoded document that is not a named Kubernetes object.
func checkObject(obj map[string]any) error {
	if obj == nil {
		return errors.New("a document is not an object")
	}
	if s, _ := obj["apiVersion"].(string); s == "" {
		return errors.New("an object has no apiVersion")
	}
	if s, _ := obj["kind"].(string); s == "" {
		return errors.New("an object has no kind")
	}
	md, _ := obj["metadata"].(map[string]any)
	if name, _ := md["name"].(string); name == "" {
		return fmt.Errorf("a %s has no metadata.name", obj["kind"])
	}
	return nil
}

// jsonTypes converts what the YAML decoder gives into the JSON types unstructured holds:
// string map keys, int64 and float64 numbers. Decoding YAML straight to these (rather than
// through JSON text) is most of what keeps rendering 1,000 clusters fast.
func jsonTypes(v any) (any, error) {
	switch v := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			c, err := jsonTypes(e)
			if err != nil {
				return nil, err
			}
			switch k := k.(type) {
			case string:
				m[k] = c
			case nil:
				m["null"] = c
			default:
				m[fmt.Sprint(k)] = c
			}
		}
		return m, nil
	case []any:
		for i, e := range v {
			c, err := jsonTypes(e)
			if err != nil {
				return nil, err
			}
			v[i] = c
		}
		return v, nil
	case int:
		return int64(v), nil
	case int64:
		return v, nil
	case uint64:
		if v > math.MaxInt64 {
			return float64(v), nil
		}
		return int64(v), nil
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("the number %v has no JSON form", v)
		}
		return v, nil
	case string, bool, nil:
		return v, nil
	default:
		return nil, fmt.Errorf("a value of type %T has no JSON form (a YAML timestamp or binary? quote it)", v)
	}
}

// decodeJSONValue decodes JSON with integers as int64.
func decodeJSONValue(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return normalizeNumbers(v), nil
}

// normalizeNumbers turns json.Number into int64 or float64, the types unstructured accepts.
func normalizeNumbers(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range v {
			v[i] = normalizeNumbers(e)
		}
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	}
	return v
}
