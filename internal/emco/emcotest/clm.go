package emcotest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
)

// maxMultipartMemory is clm's ParseMultipartForm limit (16 MiB).
const maxMultipartMemory = 16 << 20

func (e *Emulator) findProvider(name string) *providerEntry {
	i := slices.IndexFunc(e.providers, func(p *providerEntry) bool { return p.body.Metadata.Name == name })
	if i < 0 {
		return nil
	}
	return e.providers[i]
}

func (e *Emulator) findCluster(provider, name string) *cluster {
	pe := e.findProvider(provider)
	if pe == nil {
		return nil
	}
	i := slices.IndexFunc(pe.clusters, func(c *cluster) bool { return c.body.Metadata.Name == name })
	if i < 0 {
		return nil
	}
	return pe.clusters[i]
}

func (e *Emulator) listProviders(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	out := []clusterProvider{}
	for _, p := range e.providers {
		out = append(out, p.body)
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) createProvider(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	var body clusterProvider
	if !decodeBody(w, r, &body, msgEmptyBody) {
		return
	}
	var s schema
	s.metadata(body.Metadata)
	if !s.check(w) {
		return
	}
	if e.findProvider(body.Metadata.Name) != nil {
		fail(w, http.StatusConflict, "ClusterProvider already exists")
		return
	}
	e.providers = append(e.providers, &providerEntry{body: body})
	writeJSON(w, http.StatusCreated, body)
}

func (e *Emulator) getProvider(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	p := e.findProvider(v["cp"])
	if p == nil {
		fail(w, http.StatusNotFound, "Cluster provider not found")
		return
	}
	writeJSON(w, http.StatusOK, p.body)
}

// putProvider is an upsert answering 201, not 200.
func (e *Emulator) putProvider(w http.ResponseWriter, r *http.Request, v map[string]string) {
	var body clusterProvider
	if !decodeBody(w, r, &body, msgEmptyBody) {
		return
	}
	var s schema
	s.metadata(body.Metadata)
	if !s.check(w) {
		return
	}
	if body.Metadata.Name != v["cp"] {
		fail(w, http.StatusBadRequest, msgMismatchedName)
		return
	}
	if p := e.findProvider(body.Metadata.Name); p != nil {
		p.body = body
	} else {
		e.providers = append(e.providers, &providerEntry{body: body})
	}
	writeJSON(w, http.StatusCreated, body)
}

func (e *Emulator) deleteProvider(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	p := e.findProvider(v["cp"])
	switch {
	case p == nil:
		fail(w, http.StatusNotFound, msgResourceNotFound)
	case len(p.clusters) > 0:
		fail(w, http.StatusConflict, msgHasChildren)
	default:
		e.providers = slices.DeleteFunc(e.providers, func(x *providerEntry) bool { return x == p })
		w.WriteHeader(http.StatusNoContent)
	}
}

// listClusters serves the plain list, ?label= (names only) and ?withLabels=true.
func (e *Emulator) listClusters(w http.ResponseWriter, r *http.Request, v map[string]string) {
	p := e.findProvider(v["cp"])
	if p == nil {
		fail(w, http.StatusNotFound, "Cluster provider not found")
		return
	}
	q := r.URL.Query()
	if strings.EqualFold(q.Get("withLabels"), "true") {
		type withLabels struct {
			Metadata metadata       `json:"metadata"`
			Labels   []clusterLabel `json:"labels"`
		}
		out := []withLabels{}
		for _, c := range p.clusters {
			wl := withLabels{Metadata: c.body.Metadata, Labels: []clusterLabel{}}
			for _, l := range c.labels {
				wl.Labels = append(wl.Labels, clusterLabel{ClusterLabel: l})
			}
			out = append(out, wl)
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	if label := q.Get("label"); label != "" {
		names := []string{}
		for _, c := range p.clusters {
			if slices.Contains(c.labels, label) {
				names = append(names, c.body.Metadata.Name)
			}
		}
		writeJSON(w, http.StatusOK, names)
		return
	}
	out := []clusterBody{}
	for _, c := range p.clusters {
		out = append(out, c.body)
	}
	writeJSON(w, http.StatusOK, out)
}

// createCluster takes multipart/form-data: a "metadata" value with the
// cluster JSON and a "file" part with the raw kubeconfig (skipped for GitOps).
// The answer is 201 with the JSON body but Content-Type text/plain, as clm
// never sets the header.
func (e *Emulator) createCluster(w http.ResponseWriter, r *http.Request, v map[string]string) {
	if err := r.ParseMultipartForm(maxMultipartMemory); err != nil {
		fail(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	var body clusterBody
	if !decodeFrom(w, strings.NewReader(r.FormValue("metadata")), &body, msgEmptyBody) {
		return
	}
	var s schema
	s.metadata(body.Metadata)
	if !s.check(w) {
		return
	}
	var kubeconfig []byte
	if body.Spec.GitOps.GitOpsType == "" {
		file, _, err := r.FormFile("file")
		if err != nil {
			fail(w, http.StatusUnprocessableEntity, "Unable to process file")
			return
		}
		defer file.Close()
		if kubeconfig, err = io.ReadAll(file); err != nil {
			fail(w, http.StatusUnprocessableEntity, "Unable to read file")
			return
		}
	}
	if e.findCluster(v["cp"], body.Metadata.Name) != nil {
		fail(w, http.StatusConflict, "Cluster already exists")
		return
	}
	p := e.findProvider(v["cp"])
	if p == nil {
		fail(w, http.StatusConflict, msgParentNotFound)
		return
	}
	p.clusters = append(p.clusters, &cluster{body: body, kubeconfig: kubeconfig})
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(body)
}

// getCluster negotiates on Accept before looking the cluster up, as clm does:
// no Accept → 406 with mime's error, */* or others → 300.
func (e *Emulator) getCluster(w http.ResponseWriter, r *http.Request, v map[string]string) {
	accepted, _, err := mime.ParseMediaType(r.Header.Get("Accept"))
	if err != nil {
		fail(w, http.StatusNotAcceptable, err.Error())
		return
	}
	c := e.findCluster(v["cp"], v["cluster"])
	if c == nil {
		fail(w, http.StatusNotFound, "Cluster not found")
		return
	}
	if c.body.Spec.GitOps.GitOpsType != "" {
		writeJSON(w, http.StatusOK, c.body)
		return
	}
	switch accepted {
	case "application/json":
		writeJSON(w, http.StatusOK, c.body)
	case "application/octet-stream":
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(c.kubeconfig)
	case "multipart/form-data":
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		part, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/json"}, "Content-Disposition": {"form-data; name=metadata"}})
		_ = json.NewEncoder(part).Encode(c.body)
		part, _ = mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/octet-stream"}, "Content-Disposition": {"form-data; name=file; filename=kubeconfig"}})
		_, _ = part.Write(c.kubeconfig)
		// No mw.Close(): real clm never writes the closing "--boundary--", so a
		// strict reader fails after the last part (contract §2.4).
		w.Header().Set("Content-Type", mw.FormDataContentType())
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(buf.Bytes())
	default:
		fail(w, http.StatusMultipleChoices, "set Accept: multipart/form-data, application/json or application/octet-stream")
	}
}

// deleteCluster refuses while labels or kv-pairs exist (children) and then
// while any dcm cluster reference points at the cluster (referencing).
func (e *Emulator) deleteCluster(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	c := e.findCluster(v["cp"], v["cluster"])
	switch {
	case c == nil:
		fail(w, http.StatusNotFound, msgResourceNotFound)
	case len(c.labels) > 0 || len(c.kvPairs) > 0:
		fail(w, http.StatusConflict, msgHasChildren)
	case e.isReferenced(v["cp"], v["cluster"]):
		fail(w, http.StatusConflict, msgIsReferenced)
	default:
		p := e.findProvider(v["cp"])
		p.clusters = slices.DeleteFunc(p.clusters, func(x *cluster) bool { return x == c })
		w.WriteHeader(http.StatusNoContent)
	}
}

func (e *Emulator) isReferenced(provider, name string) bool {
	for _, p := range e.projects {
		for _, lc := range p.clouds {
			for _, ref := range lc.references {
				if ref.Spec.ClusterProvider == provider && ref.Spec.Cluster == name {
					return true
				}
			}
		}
	}
	return false
}

func (e *Emulator) listLabels(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	c := e.findCluster(v["cp"], v["cluster"])
	if c == nil {
		fail(w, http.StatusNotFound, "Cluster not found")
		return
	}
	out := []clusterLabel{}
	for _, l := range c.labels {
		out = append(out, clusterLabel{ClusterLabel: l})
	}
	writeJSON(w, http.StatusOK, out)
}

func decodeLabel(w http.ResponseWriter, r *http.Request) (clusterLabel, bool) {
	var body clusterLabel
	if !decodeBody(w, r, &body, msgEmptyBody) {
		return body, false
	}
	var s schema
	s.name(body.ClusterLabel)
	return body, s.check(w)
}

func (e *Emulator) createLabel(w http.ResponseWriter, r *http.Request, v map[string]string) {
	body, ok := decodeLabel(w, r)
	if !ok {
		return
	}
	c := e.findCluster(v["cp"], v["cluster"])
	switch {
	case c == nil:
		fail(w, http.StatusConflict, msgParentNotFound)
	case slices.Contains(c.labels, body.ClusterLabel):
		fail(w, http.StatusConflict, "Cluster Label already exists")
	default:
		c.labels = append(c.labels, body.ClusterLabel)
		writeJSON(w, http.StatusCreated, body)
	}
}

func (e *Emulator) getLabel(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	c := e.findCluster(v["cp"], v["cluster"])
	if c == nil || !slices.Contains(c.labels, v["label"]) {
		fail(w, http.StatusNotFound, "Cluster label not found")
		return
	}
	writeJSON(w, http.StatusOK, clusterLabel{ClusterLabel: v["label"]})
}

func (e *Emulator) putLabel(w http.ResponseWriter, r *http.Request, v map[string]string) {
	body, ok := decodeLabel(w, r)
	if !ok {
		return
	}
	if body.ClusterLabel != v["label"] {
		fail(w, http.StatusBadRequest, "Mismatched label name in PUT request")
		return
	}
	c := e.findCluster(v["cp"], v["cluster"])
	if c == nil {
		fail(w, http.StatusConflict, msgParentNotFound)
		return
	}
	if !slices.Contains(c.labels, body.ClusterLabel) {
		c.labels = append(c.labels, body.ClusterLabel)
	}
	writeJSON(w, http.StatusCreated, body)
}

func (e *Emulator) deleteLabel(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	c := e.findCluster(v["cp"], v["cluster"])
	if c == nil || !slices.Contains(c.labels, v["label"]) {
		fail(w, http.StatusNotFound, msgResourceNotFound)
		return
	}
	c.labels = slices.DeleteFunc(c.labels, func(l string) bool { return l == v["label"] })
	w.WriteHeader(http.StatusNoContent)
}

func (c *cluster) findKv(name string) *kvPair {
	i := slices.IndexFunc(c.kvPairs, func(kv *kvPair) bool { return kv.Metadata.Name == name })
	if i < 0 {
		return nil
	}
	return c.kvPairs[i]
}

func (e *Emulator) listKvPairs(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	c := e.findCluster(v["cp"], v["cluster"])
	if c == nil {
		fail(w, http.StatusNotFound, "Cluster not found")
		return
	}
	out := []kvPair{}
	for _, kv := range c.kvPairs {
		out = append(out, *kv)
	}
	writeJSON(w, http.StatusOK, out)
}

// decodeKv checks cluster-kv.json: spec.kv required, values strings ≤128.
func decodeKv(w http.ResponseWriter, r *http.Request) (*kvPair, bool) {
	var raw struct {
		Metadata metadata `json:"metadata"`
		Spec     struct {
			KV []map[string]any `json:"kv"`
		} `json:"spec"`
	}
	if !decodeBody(w, r, &raw, msgEmptyBody) {
		return nil, false
	}
	var s schema
	s.metadata(raw.Metadata)
	if raw.Spec.KV == nil {
		s = append(s, "kv is required")
	}
	for _, m := range raw.Spec.KV {
		for _, val := range m {
			str, ok := val.(string)
			if !ok {
				s = append(s, "Invalid type. Expected: string, given: "+jsonType(val))
				continue
			}
			s.maxLen(str, 128)
		}
	}
	if !s.check(w) {
		return nil, false
	}
	kv := &kvPair{Metadata: raw.Metadata}
	kv.Spec.KV = raw.Spec.KV
	return kv, true
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "string"
}

func (e *Emulator) createKvPair(w http.ResponseWriter, r *http.Request, v map[string]string) {
	kv, ok := decodeKv(w, r)
	if !ok {
		return
	}
	c := e.findCluster(v["cp"], v["cluster"])
	switch {
	case c == nil:
		fail(w, http.StatusConflict, msgParentNotFound)
	case c.findKv(kv.Metadata.Name) != nil:
		fail(w, http.StatusConflict, "Cluster KV Pair already exists")
	default:
		c.kvPairs = append(c.kvPairs, kv)
		writeJSON(w, http.StatusCreated, kv)
	}
}

func (e *Emulator) getKvPair(w http.ResponseWriter, r *http.Request, v map[string]string) {
	c := e.findCluster(v["cp"], v["cluster"])
	var kv *kvPair
	if c != nil {
		kv = c.findKv(v["kv"])
	}
	if kv == nil {
		fail(w, http.StatusNotFound, "Cluster key value pair not found")
		return
	}
	if key := r.URL.Query().Get("key"); key != "" {
		for _, m := range kv.Spec.KV {
			if val, ok := m[key]; ok {
				writeJSON(w, http.StatusOK, map[string]any{"value": val})
				return
			}
		}
		fail(w, http.StatusNotFound, "Cluster KV pair key value not found")
		return
	}
	writeJSON(w, http.StatusOK, kv)
}

func (e *Emulator) putKvPair(w http.ResponseWriter, r *http.Request, v map[string]string) {
	kv, ok := decodeKv(w, r)
	if !ok {
		return
	}
	if kv.Metadata.Name != v["kv"] {
		fail(w, http.StatusBadRequest, "Mismatched Key Value pair name in PUT request")
		return
	}
	c := e.findCluster(v["cp"], v["cluster"])
	if c == nil {
		fail(w, http.StatusConflict, msgParentNotFound)
		return
	}
	if old := c.findKv(kv.Metadata.Name); old != nil {
		*old = *kv
	} else {
		c.kvPairs = append(c.kvPairs, kv)
	}
	writeJSON(w, http.StatusCreated, kv)
}

func (e *Emulator) deleteKvPair(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	c := e.findCluster(v["cp"], v["cluster"])
	if c == nil || c.findKv(v["kv"]) == nil {
		fail(w, http.StatusNotFound, msgResourceNotFound)
		return
	}
	c.kvPairs = slices.DeleteFunc(c.kvPairs, func(kv *kvPair) bool { return kv.Metadata.Name == v["kv"] })
	w.WriteHeader(http.StatusNoContent)
}
