package faults

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Each invariant is shown to fail when it is broken on purpose, and to hold on a healthy state.

func TestCheckApplied(t *testing.T) {
	healthy := func() Applied {
		return Applied{
			WantClusters: []string{"a", "b"},
			Clusters:     []string{"a", "b"},
			CAPIClusters: map[string]string{"a": "a", "b": "b"},
			Inventory:    []string{"ns_a_automation_Cluster", "ns_b_automation_Cluster", "ns_l_intent_LogicalCluster"},
			Labelled:     map[string]string{"ns_a_automation_Cluster": "", "ns_b_automation_Cluster": "", "ns_m_automation_Cluster": "ns_l_intent_LogicalCluster", "ns_l_intent_LogicalCluster": ""},
		}
	}
	cases := []struct {
		name   string
		break_ func(*Applied)
		want   string
	}{
		{"healthy", func(*Applied) {}, ""},
		{"a cluster lost", func(a *Applied) { a.Clusters = []string{"a"} }, "lost: cluster b is in Git but not applied"},
		{"an orphan cluster", func(a *Applied) { a.Clusters = append(a.Clusters, "c") }, "orphan: cluster c is applied but not in Git"},
		{"a second CAPI cluster", func(a *Applied) { a.CAPIClusters["a-2"] = "a" }, "cluster a has 2 CAPI clusters, want 1"},
		{"a CAPI cluster without owner", func(a *Applied) { a.CAPIClusters["x"] = "" }, "orphan: CAPI cluster x has no L-KaaS owner"},
		{"an object outside the inventory", func(a *Applied) { a.Labelled["ns_z_automation_Cluster"] = "" }, "orphan: ns_z_automation_Cluster carries the Fleet's labels"},
		{"an object whose owner is gone", func(a *Applied) { a.Labelled["ns_z_automation_Cluster"] = "ns_gone_intent_LogicalCluster" }, "orphan: ns_z_automation_Cluster"},
		{"an inventory entry gone", func(a *Applied) { delete(a.Labelled, "ns_b_automation_Cluster") }, "lost: ns_b_automation_Cluster is in the inventory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := healthy()
			tc.break_(&a)
			assertViolation(t, CheckApplied(a), tc.want)
		})
	}
}

func TestCheckConditions(t *testing.T) {
	cases := []struct {
		name  string
		conds []Condition
		want  string
	}{
		{"all ready", []Condition{{Object: "Cluster/a", Type: "Ready", Status: "True"}, {Object: "Cluster/a", Type: "Stalled", Status: "False"}}, ""},
		{"not ready", []Condition{{Object: "Cluster/a", Type: "Ready", Status: "False", Reason: "ApplyFailed", Message: "connection refused"}}, "Cluster/a: Ready=False ApplyFailed: connection refused"},
		{"stalled", []Condition{{Object: "Fleet/f", Type: "Stalled", Status: "True", Reason: "X"}}, "Fleet/f: Stalled=True X"},
		{"rollout halted", []Condition{{Object: "LogicalCluster/l", Type: "RolloutHalted", Status: "True", Reason: "MemberFailed"}}, "RolloutHalted=True"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { assertViolation(t, CheckConditions(tc.conds), tc.want) })
	}
}

func TestReadAuditAndCheckCreatedOnce(t *testing.T) {
	log := strings.Join([]string{
		`{"verb":"patch","userAgent":"lkaas/v0","requestURI":"/apis/x","user":{"username":"admin"},"objectRef":{"apiGroup":"automation","resource":"clusters","namespace":"ns","name":"a"},"responseStatus":{"code":201},"stageTimestamp":"2026-12-05T07:00:00Z"}`,
		`{"verb":"patch","userAgent":"lkaas/v0","requestURI":"/apis/x","user":{"username":"admin"},"objectRef":{"apiGroup":"automation","resource":"clusters","namespace":"ns","name":"a"},"responseStatus":{"code":200},"stageTimestamp":"2026-12-05T07:00:01Z"}`,
		`{"verb":"patch","userAgent":"lkaas/v0","requestURI":"/apis/x?dryRun=All","user":{"username":"admin"},"objectRef":{"apiGroup":"automation","resource":"clusters","namespace":"ns","name":"b"},"responseStatus":{"code":201},"stageTimestamp":"2026-12-05T07:00:02Z"}`,
		`{"verb":"create","userAgent":"manager/v1","user":{"username":"admin"},"objectRef":{"resource":"machines","namespace":"ns","name":"m"},"responseStatus":{"code":201},"stageTimestamp":"2026-12-05T07:00:03Z"}`,
		`{"verb":"get","userAgent":"lkaas/v0","user":{"username":"admin"},"objectRef":{"apiGroup":"automation","resource":"clusters","namespace":"ns","name":"a"},"responseStatus":{"code":200},"stageTimestamp":"2026-12-05T07:00:04Z"}`,
	}, "\n")
	events, err := ReadAudit(strings.NewReader(log))
	assert.NoError(t, err)
	assert.Len(t, events, 5)
	assert.Empty(t, CheckCreatedOnce(events, "ns"), "one creation, one update, a dry run, another client's create")
	sameNameOtherGroup := log + "\n" + `{"verb":"create","userAgent":"lkaas/v0","user":{"username":"admin"},"objectRef":{"apiGroup":"cluster.x-k8s.io","resource":"clusters","namespace":"ns","name":"a"},"responseStatus":{"code":201},"stageTimestamp":"2026-12-05T07:00:05Z"}`
	events2, err := ReadAudit(strings.NewReader(sameNameOtherGroup))
	assert.NoError(t, err)
	assert.Empty(t, CheckCreatedOnce(events2, "ns"), "CAPI's Cluster of the same name is another object")
	since, _ := time.Parse(time.RFC3339, "2026-12-05T07:00:01Z")
	assert.Equal(t, 1, CountWrites(events, "ns", since), "the update only: the dry run and the read are not writes")

	recreated := log + "\n" + `{"verb":"create","userAgent":"lkaas/v0","user":{"username":"admin"},"objectRef":{"apiGroup":"automation","resource":"clusters","namespace":"ns","name":"a"},"responseStatus":{"code":201},"stageTimestamp":"2026-12-05T07:00:05Z"}`
	events, err = ReadAudit(strings.NewReader(recreated))
	assert.NoError(t, err)
	assertViolation(t, CheckCreatedOnce(events, "ns"), "duplicated: automation/clusters/ns/a created 2 times")
}

func TestCheckWaves(t *testing.T) {
	waveOf := map[string]int{"centre": 0, "seoul": 1, "busan": 1, "gwangju": 1}
	at := time.Date(2026, 12, 5, 7, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		samples []Sample
		want    string
	}{
		{"in order", []Sample{
			{At: at, Upgrading: []string{"centre"}},
			{At: at, Upgrading: []string{"seoul"}, Done: []string{"centre"}},
			{At: at, Upgrading: []string{"busan"}, Done: []string{"centre", "seoul"}},
		}, ""},
		{"an edge before the centre is done", []Sample{
			{At: at, Upgrading: []string{"centre", "seoul"}},
		}, "seoul (wave 1) upgrading while centre (wave 0) is not done"},
		{"two edges at once", []Sample{
			{At: at, Upgrading: []string{"seoul", "busan"}, Done: []string{"centre"}},
		}, "2 members of wave 1 upgrading at once (maxUnavailable 1)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { assertViolation(t, CheckWaves(tc.samples, waveOf, 1), tc.want) })
	}
}

func TestCheckStatusHistory(t *testing.T) {
	cases := []struct {
		name    string
		commits []StatusCommit
		want    string
	}{
		{"forward only", []StatusCommit{{Hash: "1", Changed: []string{"x"}}, {Hash: "2", Parents: []string{"1"}, Changed: []string{"x"}}}, ""},
		{"force pushed", []StatusCommit{{Hash: "1", Changed: []string{"x"}}, {Hash: "3", Parents: []string{"2"}, Changed: []string{"x"}}}, "history rewritten: 3 does not follow 1"},
		{"an empty commit", []StatusCommit{{Hash: "1", Changed: []string{"x"}}, {Hash: "2", Parents: []string{"1"}}}, "empty commit 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { assertViolation(t, CheckStatusHistory(tc.commits), tc.want) })
	}
}

func TestCheckRegisteredOnce(t *testing.T) {
	want := []string{"a", "b"}
	assert.Empty(t, CheckRegisteredOnce(2, []string{"b", "a"}, want))
	assertViolation(t, CheckRegisteredOnce(3, want, want), "duplicated: 3 successful cluster creations in EMCO for 2 clusters")
	assertViolation(t, CheckRegisteredOnce(1, []string{"a"}, want), "lost: b is not registered with EMCO")
	assertViolation(t, CheckRegisteredOnce(2, []string{"a", "b", "c"}, want), "orphan: c is registered with EMCO but not wanted")
}

// assertViolation: want "" means no violation; otherwise one violation contains want.
func assertViolation(t *testing.T, got []string, want string) {
	t.Helper()
	if want == "" {
		assert.Empty(t, got)
		return
	}
	for _, v := range got {
		if strings.Contains(v, want) {
			return
		}
	}
	t.Errorf("no violation containing %q in %q", want, got)
}

func TestCheckDeregisteredFirst(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	const capi = "cluster.x-k8s.io/clusters/ns/gwangju"
	cases := []struct {
		name  string
		dereg time.Time
		audit []AuditEvent
		want  string
	}{
		{"deregistered, then deleted", t0, []AuditEvent{{Verb: "delete", Object: capi, Time: t0.Add(time.Second)}}, ""},
		{"deregistered, not deleted yet", t0, nil, ""},
		{"deleted before deregistration", t0, []AuditEvent{{Verb: "delete", Object: capi, Time: t0.Add(-2 * time.Second)}}, "order: gwangju's CAPI Cluster was deleted 2s before"},
		{"another object's delete does not count", t0, []AuditEvent{{Verb: "delete", Object: "cluster.x-k8s.io/clusters/ns/busan", Time: t0.Add(-time.Second)}}, ""},
		{"never deregistered", time.Time{}, []AuditEvent{{Verb: "delete", Object: capi, Time: t0}}, "lost: gwangju was never deregistered"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := CheckDeregisteredFirst("gwangju", tc.dereg, FirstDelete(tc.audit, capi))
			if tc.want == "" {
				assert.Empty(t, got)
				return
			}
			if assert.Len(t, got, 1) {
				assert.Contains(t, got[0], tc.want)
			}
		})
	}
}

func TestCheckOneWriterAtATime(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	write := func(who string, s int, object string) AuditEvent {
		return AuditEvent{Verb: "patch", UserAgent: "lkaas", Requester: who, Object: object, Time: t0.Add(time.Duration(s) * time.Second)}
	}
	const obj = "cluster.x-k8s.io/machinedeployments/ns/a"
	cases := []struct {
		name   string
		events []AuditEvent
		want   string
	}{
		{"one replica", []AuditEvent{write("a", 1, obj), write("a", 2, obj)}, ""},
		{"handed over once", []AuditEvent{write("a", 1, obj), write("a", 2, obj), write("b", 20, obj), write("b", 21, obj)}, ""},
		{"the old leader writes after the new one", []AuditEvent{write("a", 1, obj), write("b", 20, obj), write("a", 21, obj)}, "two writers: a wrote patch"},
		{"out of order in the log, interleaved in time", []AuditEvent{write("b", 5, obj), write("a", 1, obj), write("a", 9, obj)}, "two writers: a wrote"},
		{"another namespace does not count", []AuditEvent{write("a", 1, obj), write("b", 2, obj), write("a", 3, "cluster.x-k8s.io/machinedeployments/other/a")}, ""},
		{"reads do not count", []AuditEvent{write("a", 1, obj), write("b", 2, obj), {Verb: "get", UserAgent: "lkaas", Requester: "a", Object: obj, Time: t0.Add(3 * time.Second)}}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := CheckOneWriterAtATime(tc.events, "ns")
			if tc.want == "" {
				assert.Empty(t, got)
				return
			}
			if assert.Len(t, got, 1) {
				assert.Contains(t, got[0], tc.want)
			}
		})
	}
}
