package emcotest_test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dcn-ssu/lkaas/internal/emco/emcotest"
)

// These tests hold the emulator to emco-api.md: every row below is a rule of
// the contract (section in the name), checked on the wire. With EMCO_URL set
// they hold a real EMCO to it instead (see target in target_test.go).

type step struct {
	name        string
	method      string
	path        string
	body        string // JSON unless multipart is set
	multipart   map[string]string
	file        []byte // the multipart "file" part
	accept      *string
	contentType string // override
	wantStatus  int
	wantBody    string // exact body, if set
	wantType    string // Content-Type prefix, if set
	wantContain string
	wantLacks   string // must not be in the body, if set
	// settle lists the deployedStatus values an instantiate, update or
	// terminate may end in: after the step, the logical cloud's status is
	// polled (bounded) until rsync is done. The emulator is done at once; a
	// real EMCO works asynchronously.
	settle []string
	// emulatorOnly, when set, says why the check cannot be made against a
	// real EMCO; there it is reported as a skipped subtest.
	emulatorOnly string
}

func accept(s string) *string { return &s }

// run sends the steps in order and checks each answer. Against a real EMCO it
// renames the fixed names in paths, bodies and expected bodies (rename) and
// leaves out the emulatorOnly steps.
func run(t *testing.T, base string, steps []step) {
	t.Helper()
	for _, s := range steps {
		if s.emulatorOnly != "" && realBase() != "" {
			t.Run(s.name, func(t *testing.T) { t.Skip("emulator only: " + s.emulatorOnly) })
			continue
		}
		s.path, s.body, s.wantBody, s.wantContain = rename(t, s.path), rename(t, s.body), rename(t, s.wantBody), rename(t, s.wantContain)
		var body io.Reader
		contentType := ""
		switch {
		case s.multipart != nil || s.file != nil:
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			for k, v := range s.multipart {
				require.NoError(t, mw.WriteField(k, rename(t, v)))
			}
			if s.file != nil {
				fw, err := mw.CreateFormFile("file", "filename")
				require.NoError(t, err)
				_, _ = fw.Write(s.file)
			}
			require.NoError(t, mw.Close())
			body, contentType = &buf, mw.FormDataContentType()
		case s.body != "":
			body, contentType = strings.NewReader(s.body), "application/json"
		}
		if s.contentType != "" {
			contentType = s.contentType
		}
		req := newRequest(t, s.method, base+s.path, body)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if s.accept != nil {
			if *s.accept != "" {
				req.Header.Set("Accept", *s.accept)
			}
		} else {
			req.Header.Set("Accept", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err, s.name)
		data, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		assert.Equal(t, s.wantStatus, resp.StatusCode, "%s: %s %s → %s", s.name, s.method, s.path, data)
		if s.wantBody != "" {
			assert.Equal(t, s.wantBody, string(data), s.name)
		}
		if s.wantContain != "" {
			assert.Contains(t, string(data), s.wantContain, s.name)
		}
		if s.wantLacks != "" {
			assert.NotContains(t, string(data), s.wantLacks, s.name)
		}
		if s.wantType != "" {
			assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), s.wantType),
				"%s: Content-Type %q, want %q", s.name, resp.Header.Get("Content-Type"), s.wantType)
		}
		if resp.StatusCode >= 400 && resp.StatusCode != http.StatusMethodNotAllowed {
			assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"), "§1 errors are plain text: %s", s.name)
			assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), s.name)
		}
		if s.settle != nil && resp.StatusCode == s.wantStatus {
			awaitSettled(t, base, lcOf(s.path), s.settle)
		}
	}
}

const (
	patternErr = "Invalid Input:\nDoes not match pattern '^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$'\n"
	genericErr = "The server encountered an internal error and was unable to complete your request.\n"
)

var (
	kubeconfig = []byte("apiVersion: v1\nkind: Config\nclusters: []\n")
	c1Meta     = map[string]string{"metadata": `{"metadata":{"name":"c1","description":"cluster one"}}`}
)

func TestEmulatorCommonConventions(t *testing.T) {
	_, base := target(t)
	run(t, base, []step{
		{name: "§1 empty body → 400 Empty body", method: "POST", path: "/v2/projects", contentType: "application/json", wantStatus: 400, wantBody: "Empty body\n"},
		{name: "§1 malformed JSON → 422 decoder text", method: "POST", path: "/v2/projects", body: `{bad}`, wantStatus: 422, wantBody: "invalid character 'b' looking for beginning of object key string\n"},
		{name: "§1 missing name fails the pattern", method: "POST", path: "/v2/projects", body: `{"metadata":{}}`, wantStatus: 400, wantBody: patternErr},
		{name: "§1 bad name fails the pattern", method: "POST", path: "/v2/projects", body: `{"metadata":{"name":"-bad"}}`, wantStatus: 400, wantBody: patternErr},
		{name: "§1 unknown path", method: "GET", path: "/v2/nothing", wantStatus: 404, wantBody: "404 page not found\n"},
		{name: "§1 method not routed → 405 empty", method: "PATCH", path: "/v2/projects", wantStatus: 405, wantBody: ""},
		{name: "§3 null project list", method: "GET", path: "/v2/projects", wantStatus: 200, wantBody: "null\n", wantType: "application/json",
			emulatorOnly: "needs an EMCO without projects; a shared one has some"},
		{name: "§1 unknown fields ignored, all metadata keys echoed", method: "POST", path: "/v2/projects", body: `{"metadata":{"name":"proj1"},"extra":1}`, wantStatus: 201,
			wantBody: `{"metadata":{"name":"proj1","description":"","userData1":"","userData2":""}}` + "\n"},
		{name: "§3 duplicate project", method: "POST", path: "/v2/projects", body: `{"metadata":{"name":"proj1"}}`, wantStatus: 409, wantBody: "Project already exists\n"},
		{name: "§3 get missing project", method: "GET", path: "/v2/projects/nope", wantStatus: 404, wantBody: "Project not found\n"},
		{name: "§1 PUT name mismatch", method: "PUT", path: "/v2/projects/proj1", body: `{"metadata":{"name":"other"}}`, wantStatus: 400, wantBody: "Mismatched name in PUT request\n"},
		{name: "§3 project PUT answers 200", method: "PUT", path: "/v2/projects/proj1", body: `{"metadata":{"name":"proj1","description":"d"}}`, wantStatus: 200},
		{name: "§1 delete missing project: the handler reads it first", method: "DELETE", path: "/v2/projects/nope", wantStatus: 404, wantBody: "Project not found\n"},
		{name: "§1 /metrics is served", method: "GET", path: "/metrics", wantStatus: 200,
			emulatorOnly: "each service serves /metrics on its own port; which one an ingress routes /metrics to, if any, is not EMCO's"},
	})
}

// Against a real EMCO, "rsync" here is renamed like every fixed name: the test
// never touches the real rsync entry.
func TestEmulatorOrchestratorControllers(t *testing.T) {
	_, base := target(t)
	run(t, base, []step{
		{name: "§3 rsync entry", method: "POST", path: "/v2/controllers", body: `{"metadata":{"name":"rsync"},"spec":{"host":"rsync","port":9031}}`, wantStatus: 201,
			wantBody: `{"metadata":{"name":"rsync","description":"","userData1":"","userData2":""},"spec":{"host":"rsync","port":9031,"type":"","priority":0}}` + "\n"},
		{name: "§3 duplicate controller", method: "POST", path: "/v2/controllers", body: `{"metadata":{"name":"rsync"},"spec":{"host":"rsync","port":9031}}`, wantStatus: 409, wantBody: "Controller already exists\n"},
		{name: "§3 missing controller", method: "GET", path: "/v2/controllers/nope", wantStatus: 404, wantBody: "Controller not found\n"},
		{name: "§3 controller PUT 201", method: "PUT", path: "/v2/controllers/rsync", body: `{"metadata":{"name":"rsync"},"spec":{"host":"rsync2","port":9031}}`, wantStatus: 201},
		{name: "§3 controller DELETE 204", method: "DELETE", path: "/v2/controllers/rsync", wantStatus: 204},
	})
}

func TestEmulatorClusterProvidersAndClusters(t *testing.T) {
	_, base := target(t)
	run(t, base, []step{
		{name: "§2.2#2 empty provider list is []", method: "GET", path: "/v2/cluster-providers", wantStatus: 200, wantBody: "[]\n",
			emulatorOnly: "needs an EMCO without cluster providers; a shared one has some"},
		{name: "§2.2#1 create provider", method: "POST", path: "/v2/cluster-providers", body: `{"metadata":{"name":"cp1"}}`, wantStatus: 201, wantType: "application/json"},
		{name: "§2.2#1 duplicate provider", method: "POST", path: "/v2/cluster-providers", body: `{"metadata":{"name":"cp1"}}`, wantStatus: 409, wantBody: "ClusterProvider already exists\n"},
		{name: "§2.2#3 missing provider", method: "GET", path: "/v2/cluster-providers/nope", wantStatus: 404, wantBody: "Cluster provider not found\n"},
		{name: "§2.2#4 provider PUT answers 201 and upserts", method: "PUT", path: "/v2/cluster-providers/cp2", body: `{"metadata":{"name":"cp2"}}`, wantStatus: 201},
		{name: "§2.2#4 provider PUT mismatch", method: "PUT", path: "/v2/cluster-providers/cp2", body: `{"metadata":{"name":"cp3"}}`, wantStatus: 400, wantBody: "Mismatched name in PUT request\n"},
		{name: "§2.2#6 JSON body is refused", method: "POST", path: "/v2/cluster-providers/cp1/clusters", body: `{"metadata":{"name":"c1"}}`, wantStatus: 422, wantBody: "request Content-Type isn't multipart/form-data\n"},
		{name: "§2.2#6 no file part", method: "POST", path: "/v2/cluster-providers/cp1/clusters", multipart: c1Meta, wantStatus: 422, wantBody: "Unable to process file\n"},
		{name: "§2.2#6 bad metadata JSON", method: "POST", path: "/v2/cluster-providers/cp1/clusters", multipart: map[string]string{"metadata": "{bad"}, file: kubeconfig, wantStatus: 422},
		{name: "§2.2#6 unknown provider", method: "POST", path: "/v2/cluster-providers/nope/clusters", multipart: c1Meta, file: kubeconfig, wantStatus: 409, wantBody: "Cannot perform requested operation. Parent resource not found\n"},
		{name: "§2.3 create: 201, JSON body, text/plain", method: "POST", path: "/v2/cluster-providers/cp1/clusters", multipart: c1Meta, file: kubeconfig, wantStatus: 201, wantType: "text/plain; charset=utf-8",
			wantBody: `{"metadata":{"name":"c1","description":"cluster one","userData1":"","userData2":""},"spec":{"gitOps":{"gitOpsType":"","gitOpsReferenceObject":"","gitOpsResourceObject":""}}}` + "\n"},
		{name: "§2.2#6 duplicate cluster", method: "POST", path: "/v2/cluster-providers/cp1/clusters", multipart: c1Meta, file: kubeconfig, wantStatus: 409, wantBody: "Cluster already exists\n"},
		{name: "§2.3 GitOps cluster needs no file", method: "POST", path: "/v2/cluster-providers/cp1/clusters",
			multipart: map[string]string{"metadata": `{"metadata":{"name":"g1"},"spec":{"gitOps":{"gitOpsType":"fluxcd","gitOpsReferenceObject":"git","gitOpsResourceObject":"tune"}}}`}, wantStatus: 201},
		{name: "§2.4 no Accept → 406", method: "GET", path: "/v2/cluster-providers/cp1/clusters/c1", accept: accept(""), wantStatus: 406, wantBody: "mime: no media type\n"},
		{name: "§2.4 */* → 300", method: "GET", path: "/v2/cluster-providers/cp1/clusters/c1", accept: accept("*/*"), wantStatus: 300,
			wantBody: "set Accept: multipart/form-data, application/json or application/octet-stream\n"},
		{name: "§2.4 JSON", method: "GET", path: "/v2/cluster-providers/cp1/clusters/c1", wantStatus: 200, wantType: "application/json", wantContain: `"gitOps"`},
		{name: "§2.4 octet-stream returns raw kubeconfig", method: "GET", path: "/v2/cluster-providers/cp1/clusters/c1", accept: accept("application/octet-stream"), wantStatus: 200, wantBody: string(kubeconfig)},
		{name: "§2.4 multipart", method: "GET", path: "/v2/cluster-providers/cp1/clusters/c1", accept: accept("multipart/form-data"), wantStatus: 200, wantType: "multipart/form-data; boundary="},
		{name: "§2.4 GitOps cluster is JSON whatever Accept", method: "GET", path: "/v2/cluster-providers/cp1/clusters/g1", accept: accept("application/octet-stream"), wantStatus: 200, wantType: "application/json"},
		{name: "§2.2#10 missing cluster", method: "GET", path: "/v2/cluster-providers/cp1/clusters/nope", wantStatus: 404, wantBody: "Cluster not found\n"},
		{name: "§2.2#11 cluster PUT → 405", method: "PUT", path: "/v2/cluster-providers/cp1/clusters/c1", body: `{}`, wantStatus: 405, wantBody: ""},
		{name: "§2.2#5 provider with clusters", method: "DELETE", path: "/v2/cluster-providers/cp1", wantStatus: 409, wantBody: "Cannot delete parent without deleting child references first\n"},
		{name: "§2.2#7 unknown provider's clusters", method: "GET", path: "/v2/cluster-providers/nope/clusters", wantStatus: 404, wantBody: "Cluster provider not found\n"},
	})
}

// Real clm sends the multipart cluster GET without the closing "--boundary--"
// (contract §2.4): the parts are all there, but a strict reader such as Go's
// mime/multipart fails after the last one instead of reaching io.EOF. That is
// why the client reads kubeconfigs as application/octet-stream.
func TestEmulatorMultipartClusterGet(t *testing.T) {
	_, base := target(t)
	run(t, base, []step{
		{method: "POST", path: "/v2/cluster-providers", body: `{"metadata":{"name":"cp1"}}`, wantStatus: 201},
		{method: "POST", path: "/v2/cluster-providers/cp1/clusters", multipart: c1Meta, file: kubeconfig, wantStatus: 201},
	})
	req := newRequest(t, "GET", base+rename(t, "/v2/cluster-providers/cp1/clusters/c1"), nil)
	req.Header.Set("Accept", "multipart/form-data")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	require.NoError(t, err)
	boundary := params["boundary"]
	require.NotEmpty(t, boundary)
	assert.NotContains(t, string(raw), "--"+boundary+"--", "§2.4 no closing boundary")

	mr := multipart.NewReader(bytes.NewReader(raw), boundary)
	parts := map[string]string{}
	var endErr error
	for {
		part, err := mr.NextPart()
		if err != nil {
			endErr = err
			break
		}
		data, readErr := io.ReadAll(part)
		parts[part.FormName()] = string(data)
		if readErr != nil {
			endErr = readErr
			break
		}
	}
	assert.Error(t, endErr, "a strict reader fails after the last part")
	assert.NotErrorIs(t, endErr, io.EOF, "a strict reader never sees a clean end")
	assert.Contains(t, parts["metadata"], `"name":"c1"`)
	assert.Contains(t, string(raw), string(kubeconfig), "the kubeconfig is all there")
	// The strict reader even holds back the file's last bytes, which might have
	// begun a boundary: another reason to use application/octet-stream.
	assert.True(t, strings.HasPrefix(string(kubeconfig), parts["file"]) && parts["file"] != "", "file part %q", parts["file"])
}

func TestEmulatorLabelsAndKvPairs(t *testing.T) {
	_, base := target(t)
	const c1 = "/v2/cluster-providers/cp1/clusters/c1"
	run(t, base, []step{
		{method: "POST", path: "/v2/cluster-providers", body: `{"metadata":{"name":"cp1"}}`, wantStatus: 201},
		{method: "POST", path: "/v2/cluster-providers/cp1/clusters", multipart: c1Meta, file: kubeconfig, wantStatus: 201},
		{name: "§2.2#13 add label", method: "POST", path: c1 + "/labels", body: `{"clusterLabel":"edge"}`, wantStatus: 201, wantBody: `{"clusterLabel":"edge"}` + "\n"},
		{name: "§2.2#13 old label-name body fails the pattern", method: "POST", path: c1 + "/labels", body: `{"label-name":"edge"}`, wantStatus: 400, wantBody: patternErr},
		{name: "§2.2#13 duplicate label", method: "POST", path: c1 + "/labels", body: `{"clusterLabel":"edge"}`, wantStatus: 409, wantBody: "Cluster Label already exists\n"},
		{name: "§2.2#13 label on unknown cluster", method: "POST", path: "/v2/cluster-providers/cp1/clusters/nope/labels", body: `{"clusterLabel":"edge"}`, wantStatus: 409, wantBody: "Cannot perform requested operation. Parent resource not found\n"},
		{name: "§2.2#14 list labels", method: "GET", path: c1 + "/labels", wantStatus: 200, wantBody: `[{"clusterLabel":"edge"}]` + "\n"},
		{name: "§2.2#14 labels of unknown cluster", method: "GET", path: "/v2/cluster-providers/cp1/clusters/nope/labels", wantStatus: 404, wantBody: "Cluster not found\n"},
		{name: "§2.2#15 missing label", method: "GET", path: c1 + "/labels/nope", wantStatus: 404, wantBody: "Cluster label not found\n"},
		{name: "§2.2#16 label PUT mismatch", method: "PUT", path: c1 + "/labels/edge", body: `{"clusterLabel":"core"}`, wantStatus: 400, wantBody: "Mismatched label name in PUT request\n"},
		{name: "§2.2#8 clusters by label: names only", method: "GET", path: "/v2/cluster-providers/cp1/clusters?label=edge", wantStatus: 200, wantBody: `["c1"]` + "\n"},
		{name: "§2.2#8 no cluster with label → []", method: "GET", path: "/v2/cluster-providers/cp1/clusters?label=none", wantStatus: 200, wantBody: "[]\n"},
		{name: "§2.2#9 withLabels has no spec", method: "GET", path: "/v2/cluster-providers/cp1/clusters?withLabels=true", wantStatus: 200,
			wantBody: `[{"metadata":{"name":"c1","description":"cluster one","userData1":"","userData2":""},"labels":[{"clusterLabel":"edge"}]}]` + "\n"},
		{name: "§2.2#18 add kv-pairs", method: "POST", path: c1 + "/kv-pairs", body: `{"metadata":{"name":"kv1"},"spec":{"kv":[{"region":"eu"},{"owner":"ops"}]}}`, wantStatus: 201},
		{name: "§2.2#18 kv values must be strings", method: "POST", path: c1 + "/kv-pairs", body: `{"metadata":{"name":"kv2"},"spec":{"kv":[{"n":1}]}}`, wantStatus: 400, wantContain: "Invalid Input:"},
		{name: "§2.2#18 duplicate kv-pairs", method: "POST", path: c1 + "/kv-pairs", body: `{"metadata":{"name":"kv1"},"spec":{"kv":[]}}`, wantStatus: 409, wantBody: "Cluster KV Pair already exists\n"},
		{name: "§2.2#20 missing kv-pairs", method: "GET", path: c1 + "/kv-pairs/nope", wantStatus: 404, wantBody: "Cluster key value pair not found\n"},
		{name: "§2.2#21 one key", method: "GET", path: c1 + "/kv-pairs/kv1?key=region", wantStatus: 200, wantBody: `{"value":"eu"}` + "\n"},
		{name: "§2.2#21 missing key", method: "GET", path: c1 + "/kv-pairs/kv1?key=nope", wantStatus: 404, wantBody: "Cluster KV pair key value not found\n"},
		{name: "§2.2#22 kv PUT mismatch", method: "PUT", path: c1 + "/kv-pairs/kv1", body: `{"metadata":{"name":"kv9"},"spec":{"kv":[]}}`, wantStatus: 400, wantBody: "Mismatched Key Value pair name in PUT request\n"},
		{name: "§2.2#22 kv PUT 201", method: "PUT", path: c1 + "/kv-pairs/kv1", body: `{"metadata":{"name":"kv1"},"spec":{"kv":[{"region":"kr"}]}}`, wantStatus: 201},
		{name: "§2.2#12 labels block the delete", method: "DELETE", path: c1, wantStatus: 409, wantBody: "Cannot delete parent without deleting child references first\n"},
		{name: "§2.2#17 delete label", method: "DELETE", path: c1 + "/labels/edge", wantStatus: 204},
		{name: "§2.2#17 delete missing label", method: "DELETE", path: c1 + "/labels/edge", wantStatus: 404, wantBody: "The requested resource not found\n"},
		{name: "§2.2#12 kv-pairs block the delete", method: "DELETE", path: c1, wantStatus: 409, wantBody: "Cannot delete parent without deleting child references first\n"},
		{name: "§2.2#23 delete kv-pairs", method: "DELETE", path: c1 + "/kv-pairs/kv1", wantStatus: 204},
		{name: "§2.2#12 delete cluster", method: "DELETE", path: c1, wantStatus: 204},
		{name: "§2.2#12 delete missing cluster", method: "DELETE", path: c1, wantStatus: 404, wantBody: "The requested resource not found\n"},
	})
}

const lc0 = "/v2/projects/proj1/logical-clouds/lc0"

func TestEmulatorLogicalCloudLevel0Lifecycle(t *testing.T) {
	e, base := target(t)
	setUpDCM(t, e, base)
	run(t, base, []step{
		{name: "§1 null logical-cloud list", method: "GET", path: "/v2/projects/proj1/logical-clouds", wantStatus: 200, wantBody: "null\n"},
		{name: "§1 dcm prints EOF on empty body", method: "POST", path: "/v2/projects/proj1/logical-clouds", contentType: "application/json", wantStatus: 400, wantBody: "EOF\n"},
		{name: "§4.3 unknown project", method: "POST", path: "/v2/projects/nope/logical-clouds", body: `{"metadata":{"name":"lc0"},"spec":{"level":"0"}}`, wantStatus: 404, wantBody: "Project not found\n"},
		{name: "§4.3 create level 0: labels null, user filled", method: "POST", path: "/v2/projects/proj1/logical-clouds", body: `{"metadata":{"name":"lc0"},"spec":{"level":"0"}}`, wantStatus: 201,
			wantBody: `{"metadata":{"name":"lc0","description":"","userData1":"","userData2":""},"spec":{"namespace":"","labels":null,"level":"0","user":{"userName":"","type":""}}}` + "\n"},
		{name: "§4.3 duplicate", method: "POST", path: "/v2/projects/proj1/logical-clouds", body: `{"metadata":{"name":"lc0"},"spec":{"level":"0"}}`, wantStatus: 409, wantBody: "Logical Cloud already exists\n"},
		{name: "§4.3 missing", method: "GET", path: "/v2/projects/proj1/logical-clouds/nope", wantStatus: 404, wantBody: "Logical Cloud not found\n"},
		{name: "§1 delete missing logical cloud: the handler reads it first", method: "DELETE", path: "/v2/projects/proj1/logical-clouds/nope", wantStatus: 404, wantBody: "Logical Cloud not found\n"},
		{name: "§1 null user-permission list", method: "GET", path: lc0 + "/user-permissions", wantStatus: 200, wantBody: "null\n"},
		{name: "§1 null cluster-quota list", method: "GET", path: lc0 + "/cluster-quotas", wantStatus: 200, wantBody: "null\n"},
		{name: "§1 null kv-pair list", method: "GET", path: lc0 + "/kv-pairs", wantStatus: 200, wantBody: "null\n"},
		{name: "§4.3 PUT name mismatch", method: "PUT", path: lc0, body: `{"metadata":{"name":"x"},"spec":{"level":"0"}}`, wantStatus: 409, wantBody: "Logical Cloud name mismatch\n"},
		{name: "§4.3 references: 400 instead of []", method: "GET", path: lc0 + "/cluster-references", wantStatus: 400, wantBody: "No Cluster References associated\n"},
		{name: "§4.3 instantiate without references", method: "POST", path: lc0 + "/instantiate", wantStatus: 400, wantBody: "No Cluster References associated\n"},
		{name: "§4.3 terminate without references (never instantiated)", method: "POST", path: lc0 + "/terminate", wantStatus: 400, wantBody: "No Cluster References associated\n"},
		{name: "§4.3 stop before instantiate", method: "POST", path: lc0 + "/stop", wantStatus: 409, wantBody: "LogicalCloud has not been asked to instantiate: \n"},
		{name: "§4.5 reference to a missing cluster is accepted", method: "POST", path: lc0 + "/cluster-references", body: `{"metadata":{"name":"ghost"},"spec":{"clusterProvider":"cp1","cluster":"ghost"}}`, wantStatus: 201},
		{name: "§4.5 ... and fails at instantiate with 500", method: "POST", path: lc0 + "/instantiate", wantStatus: 500, wantBody: genericErr},
		{method: "DELETE", path: lc0 + "/cluster-references/ghost", wantStatus: 204},
		{name: "§4.3 reference echo adds certificate", method: "POST", path: lc0 + "/cluster-references", body: `{"metadata":{"name":"c1-ref"},"spec":{"clusterProvider":"cp1","cluster":"c1","loadBalancerIP":"0.0.0.0"}}`, wantStatus: 201,
			wantBody: `{"metadata":{"name":"c1-ref","description":"","userData1":"","userData2":""},"spec":{"clusterProvider":"cp1","cluster":"c1","loadBalancerIP":"0.0.0.0","certificate":""}}` + "\n"},
		{name: "§4.3 duplicate reference", method: "POST", path: lc0 + "/cluster-references", body: `{"metadata":{"name":"c1-ref"},"spec":{"clusterProvider":"cp1","cluster":"c1"}}`, wantStatus: 409, wantBody: "Cluster reference already exists\n"},
		{name: "§4.3 missing reference", method: "GET", path: lc0 + "/cluster-references/nope", wantStatus: 404, wantBody: "Cluster reference not found\n"},
		{name: "§4.3 terminate never-instantiated is a 202 no-op", method: "POST", path: lc0 + "/terminate", wantStatus: 202},
		{name: "§4.3 update never-instantiated is a 202 no-op", method: "POST", path: lc0 + "/update", wantStatus: 202},
		{name: "§4.4 status before instantiate", method: "GET", path: lc0 + "/status", wantStatus: 200, wantContain: `"actions":[{"state":"Created"`},
		{name: "§2.2#12 referenced cluster cannot go", method: "DELETE", path: "/v2/cluster-providers/cp1/clusters/c1", wantStatus: 409, wantBody: "Cannot delete without deleting or updating referencing resources first\n"},
		{name: "§4.3 instantiate → 202 empty", method: "POST", path: lc0 + "/instantiate", wantStatus: 202, wantBody: "", settle: []string{"Instantiated"}},
		{name: "§4.3 instantiate twice", method: "POST", path: lc0 + "/instantiate", wantStatus: 409, wantBody: "The Logical Cloud is already instantiated\n"},
		{name: "§4.4 status=deployed has no readyStatus", method: "GET", path: lc0 + "/status?status=deployed&output=summary", wantStatus: 200, wantContain: `"deployedStatus":"Instantiated"`, wantLacks: `readyStatus`},
		{name: "§4.4 status=ready has readyStatus", method: "GET", path: lc0 + "/status?status=ready&output=summary", wantStatus: 200, wantContain: `"readyStatus":"Ready"`},
		{name: "§4.4 status is ready by default", method: "GET", path: lc0 + "/status", wantStatus: 200, wantContain: `"readyStatus":"Ready"`},
		{name: "§4.4 status clusters", method: "GET", path: lc0 + "/status?clusters", wantStatus: 200,
			wantBody: `{"project":"proj1","name":"lc0","clustersByApp":[{"app":"logical-cloud","clusters":[{"clusterProvider":"cp1","cluster":"c1"}]}]}` + "\n"},
		{name: "§4.3 bad status query", method: "GET", path: lc0 + "/status?status=bogus", wantStatus: 400, wantBody: "Invalid query status\n"},
		{name: "§4.3 bad output query", method: "GET", path: lc0 + "/status?output=bogus", wantStatus: 400, wantBody: "Invalid query output\n"},
		{name: "§4.2 level-0 namespace written back", method: "GET", path: lc0, wantStatus: 200, wantContain: `"namespace":"default"`},
		{name: "§4.3 delete while instantiated", method: "DELETE", path: lc0, wantStatus: 409, wantBody: "The Logical Cloud is instantiated, please terminate first\n"},
		{name: "§4.3 quota on level 0", method: "POST", path: lc0 + "/cluster-quotas", body: `{"metadata":{"name":"q"},"spec":{"pods":"10"}}`, wantStatus: 400, wantBody: "Cluster Quotas not allowed for Logical Cloud Level 0\n"},
		{name: "§4.3 update → 202 with JSON", method: "POST", path: lc0 + "/update", wantStatus: 202, wantType: "application/json", settle: []string{"Instantiated", "Updated"}},
		{name: "§4.3 terminate → 202", method: "POST", path: lc0 + "/terminate", wantStatus: 202, settle: []string{"Terminated"}},
		{name: "§4.3 terminate twice", method: "POST", path: lc0 + "/terminate", wantStatus: 409, wantBody: "The Logical Cloud has already been terminated\n"},
		// Not "delete with references" here: on real dcm that breaks the cloud for
		// good (§4.5); TestEmulatorBrokenLogicalCloud checks it on the emulator.
		{name: "§3 project with logical clouds", method: "DELETE", path: "/v2/projects/proj1", wantStatus: 409, wantBody: "Cannot delete parent without deleting child references first\n"},
		{method: "DELETE", path: lc0 + "/cluster-references/c1-ref", wantStatus: 204},
		{name: "§4.3 delete terminated cloud", method: "DELETE", path: lc0, wantStatus: 204},
		{name: "§4.3 the list is null again", method: "GET", path: "/v2/projects/proj1/logical-clouds", wantStatus: 200, wantBody: "null\n"},
	})
	if e != nil { // State is the emulator's; the step above checks the same on the wire
		assert.Empty(t, e.State().LogicalClouds)
	}
}

func TestEmulatorStuckLogicalCloudPitfall(t *testing.T) {
	e, base := target(t)
	setUpDCM(t, e, base)
	run(t, base, []step{
		{method: "POST", path: "/v2/projects/proj1/logical-clouds", body: `{"metadata":{"name":"lc0"},"spec":{"level":"0"}}`, wantStatus: 201},
		{method: "POST", path: lc0 + "/cluster-references", body: `{"metadata":{"name":"c1-ref"},"spec":{"clusterProvider":"cp1","cluster":"c1"}}`, wantStatus: 201},
		{method: "POST", path: lc0 + "/instantiate", wantStatus: 202, settle: []string{"Instantiated"}},
		{name: "§4.5 last reference of an instantiated cloud can be deleted", method: "DELETE", path: lc0 + "/cluster-references/c1-ref", wantStatus: 204},
		{name: "§4.5 then terminate fails", method: "POST", path: lc0 + "/terminate", wantStatus: 400, wantBody: "No Cluster References associated\n"},
		{name: "§4.5 and delete fails", method: "DELETE", path: lc0, wantStatus: 409, wantBody: "The Logical Cloud is instantiated, please terminate first\n"},
		{name: "§4.5 re-adding a reference unsticks it", method: "POST", path: lc0 + "/cluster-references", body: `{"metadata":{"name":"c1-ref"},"spec":{"clusterProvider":"cp1","cluster":"c1"}}`, wantStatus: 201},
		{method: "POST", path: lc0 + "/terminate", wantStatus: 202, settle: []string{"Terminated"}},
	})
}

// TestEmulatorBrokenLogicalCloud is real dcm's defect (contract §4.5): a DELETE
// of a terminated logical cloud that still has children is refused with 409,
// but dcm has already deleted the cloud's app contexts, and from then on every
// call that needs them fails with 500. The emulator breaks the cloud the same
// way, so that a client that deletes in the wrong order fails in tests.
func TestEmulatorBrokenLogicalCloud(t *testing.T) {
	skipIfReal(t, "it would leave a logical cloud behind that nobody can delete any more, on a shared EMCO")
	e, base := target(t)
	setUpDCM(t, e, base)
	run(t, base, []step{
		{method: "POST", path: "/v2/projects/proj1/logical-clouds", body: `{"metadata":{"name":"lc0"},"spec":{"level":"0"}}`, wantStatus: 201},
		{method: "POST", path: lc0 + "/cluster-references", body: `{"metadata":{"name":"c1-ref"},"spec":{"clusterProvider":"cp1","cluster":"c1"}}`, wantStatus: 201},
		{method: "POST", path: lc0 + "/instantiate", wantStatus: 202},
		{method: "POST", path: lc0 + "/terminate", wantStatus: 202},
		{name: "§4.5 delete with a reference left: the expected 409", method: "DELETE", path: lc0, wantStatus: 409, wantBody: "Cannot delete parent without deleting child references first\n"},
		{name: "§4.5 the record is still there", method: "GET", path: lc0, wantStatus: 200},
		{name: "§4.5 but its reference cannot be deleted", method: "DELETE", path: lc0 + "/cluster-references/c1-ref", wantStatus: 500, wantBody: "Error getting app context status\n"},
		{name: "§4.5 nor a reference added", method: "POST", path: lc0 + "/cluster-references", body: `{"metadata":{"name":"r2"},"spec":{"clusterProvider":"cp1","cluster":"c1"}}`, wantStatus: 500},
		{name: "§4.5 status fails", method: "GET", path: lc0 + "/status", wantStatus: 500},
		{name: "§4.5 instantiate fails", method: "POST", path: lc0 + "/instantiate", wantStatus: 500},
		{name: "§4.5 terminate fails", method: "POST", path: lc0 + "/terminate", wantStatus: 500},
		{name: "§4.5 update fails", method: "POST", path: lc0 + "/update", wantStatus: 500},
		{name: "§4.5 and the cloud cannot be deleted", method: "DELETE", path: lc0, wantStatus: 500, wantBody: genericErr},
	})
	lc, ok := e.State().LogicalCloud("proj1", "lc0")
	require.True(t, ok)
	assert.True(t, lc.Broken)
}

func TestEmulatorTransitionsInProgress(t *testing.T) {
	skipIfReal(t, "holds instantiate and terminate in progress (HoldTransitions/CompleteTransitions); a real EMCO cannot be held mid-transition on demand")
	e, base := target(t)
	setUpDCM(t, e, base)
	e.HoldTransitions(true)
	run(t, base, []step{
		{method: "POST", path: "/v2/projects/proj1/logical-clouds", body: `{"metadata":{"name":"lc0"},"spec":{"level":"0"}}`, wantStatus: 201},
		{method: "POST", path: lc0 + "/cluster-references", body: `{"metadata":{"name":"c1-ref"},"spec":{"clusterProvider":"cp1","cluster":"c1"}}`, wantStatus: 201},
		{method: "POST", path: lc0 + "/instantiate", wantStatus: 202},
		{name: "§4.3 instantiate while instantiating", method: "POST", path: lc0 + "/instantiate", wantStatus: 409, wantBody: "The Logical Cloud is already instantiating\n"},
		{name: "§4.5 terminate while instantiating", method: "POST", path: lc0 + "/terminate", wantStatus: 409, wantBody: "The Logical Cloud is still instantiating\n"},
		{name: "§4.3 references locked while instantiating", method: "POST", path: lc0 + "/cluster-references", body: `{"metadata":{"name":"r2"},"spec":{"clusterProvider":"cp1","cluster":"c1"}}`, wantStatus: 409,
			wantBody: "Cluster References cannot be added/removed unless the Logical Cloud is fully Instantiated or Terminated\n"},
		{name: "§4.3 reference delete refused while instantiating", method: "DELETE", path: lc0 + "/cluster-references/c1-ref", wantStatus: 409},
		{name: "§4.4 instantiating status", method: "GET", path: lc0 + "/status", wantStatus: 200, wantContain: `"deployedStatus":"Instantiating"`},
		{name: "§4.3 stop", method: "POST", path: lc0 + "/stop", wantStatus: 200},
		{name: "§4.3 stop twice", method: "POST", path: lc0 + "/stop", wantStatus: 409, wantBody: "LogicalCloud instantiation already stopped: \n"},
	})
	e.CompleteTransitions()
	run(t, base, []step{
		{method: "POST", path: lc0 + "/terminate", wantStatus: 202},
		{name: "§4.3 re-instantiate while terminating", method: "POST", path: lc0 + "/instantiate", wantStatus: 409, wantBody: "The Logical Cloud can't be re-instantiated yet, it is being terminated\n"},
		{name: "§4.3 delete while terminating", method: "DELETE", path: lc0, wantStatus: 409, wantBody: "The Logical Cloud can't be deleted yet, it is being terminated\n"},
	})
	e.CompleteTransitions()
	run(t, base, []step{{name: "§4.3 re-instantiate after terminate", method: "POST", path: lc0 + "/instantiate", wantStatus: 202}})
}

func TestEmulatorLevel1Rules(t *testing.T) {
	e, base := target(t)
	setUpDCM(t, e, base)
	const lc1 = "/v2/projects/proj1/logical-clouds/lc1"
	run(t, base, []step{
		{name: "§4.1 userName at most 20", method: "POST", path: "/v2/projects/proj1/logical-clouds", body: `{"metadata":{"name":"lc1"},"spec":{"namespace":"ns1","user":{"userName":"a-very-long-user-name-indeed","type":"certificate"}}}`, wantStatus: 400,
			wantBody: "Invalid Input:\nString length must be less than or equal to 20\n"},
		{name: "§4.2 level defaults to 1", method: "POST", path: "/v2/projects/proj1/logical-clouds", body: `{"metadata":{"name":"lc1"},"spec":{"namespace":"ns1","user":{"userName":"user1","type":"certificate"}}}`, wantStatus: 201, wantContain: `"level":"1"`},
		{method: "POST", path: lc1 + "/cluster-references", body: `{"metadata":{"name":"c1-ref"},"spec":{"clusterProvider":"cp1","cluster":"c1"}}`, wantStatus: 201},
		{name: "§1 null user-permission list", method: "GET", path: lc1 + "/user-permissions", wantStatus: 200, wantBody: "null\n"},
		{name: "§1 null cluster-quota list", method: "GET", path: lc1 + "/cluster-quotas", wantStatus: 200, wantBody: "null\n"},
		{name: "§4.2 no permission → 500", method: "POST", path: lc1 + "/instantiate", wantStatus: 500, wantBody: genericErr},
		{method: "POST", path: lc1 + "/user-permissions", body: `{"metadata":{"name":"other"},"spec":{"namespace":"elsewhere","apiGroups":[""],"resources":["pods"],"verbs":["get"]}}`, wantStatus: 201},
		{name: "§4.2 no permission in the primary namespace", method: "POST", path: lc1 + "/instantiate", wantStatus: 409, wantBody: "Level-1 Logical Clouds require a User Permission assigned to its primary namespace\n"},
		{method: "POST", path: lc1 + "/user-permissions", body: `{"metadata":{"name":"primary"},"spec":{"namespace":"ns1","apiGroups":["","apps"],"resources":["*"],"verbs":["*"]}}`, wantStatus: 201},
		{name: "§4.3 missing arrays: one line each, before the duplicate check", method: "POST", path: lc1 + "/user-permissions", body: `{"metadata":{"name":"primary"},"spec":{"namespace":"ns1"}}`, wantStatus: 400,
			wantBody: "Invalid Input:\n" + strings.Repeat("Invalid type. Expected: array, given: null\n", 3)},
		{name: "§4.3 one missing array", method: "POST", path: lc1 + "/user-permissions", body: `{"metadata":{"name":"p2"},"spec":{"namespace":"ns1","apiGroups":[""],"resources":["pods"]}}`, wantStatus: 400,
			wantBody: "Invalid Input:\nInvalid type. Expected: array, given: null\n"},
		{name: "§4.3 duplicate permission", method: "POST", path: lc1 + "/user-permissions", body: `{"metadata":{"name":"primary"},"spec":{"namespace":"ns1","apiGroups":[],"resources":[],"verbs":[]}}`, wantStatus: 409, wantBody: "User Permission already exists\n"},
		{name: "§4.3 missing permission", method: "GET", path: lc1 + "/user-permissions/nope", wantStatus: 404, wantBody: "User Permission not found\n"},
		{name: "§4.3 kubeconfig before instantiate", method: "GET", path: lc1 + "/cluster-references/c1-ref/kubeconfig", wantStatus: 409, wantBody: "Logical Cloud hasn't been instantiated\n"},
		{name: "§4.3 quota on level 1", method: "POST", path: lc1 + "/cluster-quotas", body: `{"metadata":{"name":"q"},"spec":{"pods":"10"}}`, wantStatus: 201},
		// A real level-1 instantiate creates namespaces, roles and a CSR in the
		// cluster, which c1's made-up kubeconfig does not reach (contract §4.2):
		// it would stay Instantiating and the kubeconfig would never come.
		{name: "§4.2 level 1 instantiates", method: "POST", path: lc1 + "/instantiate", wantStatus: 202,
			emulatorOnly: "a level-1 instantiate needs a reachable cluster; the test's kubeconfig is made up"},
		{name: "§4.3 level-1 kubeconfig", method: "GET", path: lc1 + "/cluster-references/c1-ref/kubeconfig", wantStatus: 200, wantType: "application/yaml",
			emulatorOnly: "needs the level-1 instantiate above"},
	})
}

func TestEmulatorInstantiateNeedsRsync(t *testing.T) {
	_, base := target(t)
	if realBase() != "" {
		if status, _ := call(t, "GET", base+"/v2/controllers/rsync"); status != http.StatusNotFound {
			t.Skipf("needs an EMCO without the rsync controller entry; this one answers %d and the test will not remove a shared EMCO's entry", status)
		}
	}
	run(t, base, []step{
		{method: "POST", path: "/v2/projects", body: `{"metadata":{"name":"proj1"}}`, wantStatus: 201},
		{method: "POST", path: "/v2/cluster-providers", body: `{"metadata":{"name":"cp1"}}`, wantStatus: 201},
		{method: "POST", path: "/v2/cluster-providers/cp1/clusters", multipart: c1Meta, file: kubeconfig, wantStatus: 201},
		{method: "POST", path: "/v2/projects/proj1/logical-clouds", body: `{"metadata":{"name":"lc0"},"spec":{"level":"0"}}`, wantStatus: 201},
		{method: "POST", path: lc0 + "/cluster-references", body: `{"metadata":{"name":"c1-ref"},"spec":{"clusterProvider":"cp1","cluster":"c1"}}`, wantStatus: 201},
		{name: "§3 no rsync entry → 500", method: "POST", path: lc0 + "/instantiate", wantStatus: 500, wantBody: genericErr},
	})
}

func TestEmulatorSplitServicesServeOnlyTheirPaths(t *testing.T) {
	skipIfReal(t, "checks the emulator's own split-service routing; EMCO_URL names one ingress for every service")
	_, urls := emcotest.StartSplit(t)
	run(t, urls.Orchestrator, []step{
		{method: "POST", path: "/v2/projects", body: `{"metadata":{"name":"proj1"}}`, wantStatus: 201},
		{name: "orchestrator has no clm paths", method: "GET", path: "/v2/cluster-providers", wantStatus: 404},
	})
	run(t, urls.CLM, []step{
		{method: "GET", path: "/v2/cluster-providers", wantStatus: 200},
		{name: "clm has no projects", method: "GET", path: "/v2/projects", wantStatus: 404},
	})
	run(t, urls.DCM, []step{
		{name: "dcm sees the orchestrator's project", method: "POST", path: "/v2/projects/proj1/logical-clouds", body: `{"metadata":{"name":"lc0"},"spec":{"level":"0"}}`, wantStatus: 201},
		{name: "dcm has no project root", method: "GET", path: "/v2/projects", wantStatus: 404},
	})
}

func TestEmulatorFaultsAndRequestLog(t *testing.T) {
	skipIfReal(t, "fault injection and the request log exist only in the emulator")
	e, base := emcotest.Start(t)
	e.AddFault(emcotest.Fault{Method: "POST", PathPrefix: "/v2/cluster-providers", Status: 503, Body: "busy", Times: 1})
	run(t, base, []step{
		{name: "fault answers first", method: "POST", path: "/v2/cluster-providers", body: `{"metadata":{"name":"cp1"}}`, wantStatus: 503, wantBody: "busy\n"},
		{name: "then the fault is spent", method: "POST", path: "/v2/cluster-providers", body: `{"metadata":{"name":"cp1"}}`, wantStatus: 201},
		{name: "other endpoints unaffected", method: "GET", path: "/v2/cluster-providers", wantStatus: 200},
	})
	e.DropNext(1)
	// A fresh connection: net/http silently retries a GET whose reused connection breaks.
	fresh := &http.Client{Transport: &http.Transport{}}
	_, err := fresh.Get(base + "/v2/cluster-providers")
	require.Error(t, err, "a dropped connection gives no answer")

	log := e.Requests()
	require.Len(t, log, 4)
	assert.False(t, log[0].Time.IsZero(), "each answer is timed")
	for i := 1; i < len(log); i++ {
		assert.False(t, log[i].Time.Before(log[i-1].Time), "the log is in the order of the answers")
	}
	log[0].Time = time.Time{}
	assert.Equal(t, emcotest.Request{Service: emcotest.CLM, Method: "POST", Path: "/v2/cluster-providers", Status: 503}, log[0])
	assert.Equal(t, 0, log[3].Status)
	assert.Len(t, e.Writes(), 2)
}
