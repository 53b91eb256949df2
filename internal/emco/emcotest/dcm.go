package emcotest

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// App-context statuses (deployedStatus) and state actions, as dcm names them.
const (
	deployedInstantiating     = "Instantiating"
	deployedInstantiated      = "Instantiated"
	deployedTerminating       = "Terminating"
	deployedTerminated        = "Terminated"
	deployedInstantiateFailed = "InstantiateFailed"
	deployedTerminateFailed   = "TerminateFailed"
	deployedUpdating          = "Updating"

	stateCreated            = "Created"
	stateInstantiated       = "Instantiated"
	stateTerminated         = "Terminated"
	stateUpdated            = "Updated"
	stateInstantiateStopped = "InstantiateStopped"
	stateTerminateStopped   = "TerminateStopped"
)

const (
	msgLCNotFound         = "Logical Cloud not found"
	msgRefNotFound        = "Cluster reference not found"
	msgNeedsPrimaryPerm   = "Level-1 Logical Clouds require a User Permission assigned to its primary namespace"
	msgRefsLocked         = "Cluster References cannot be added/removed unless the Logical Cloud is fully Instantiated or Terminated"
	msgPermissionNotFound = "User Permission not found"
	msgQuotaNotFound      = "Cluster Quota not found"
	msgKvPairNotFound     = "Key Value not found"
	msgNoAppContext       = "Error getting app context status"
)

// HoldTransitions makes instantiate, update and terminate leave the logical
// cloud Instantiating, Updating or Terminating (as rsync does while it works)
// until CompleteTransitions. By default they complete at once.
func (e *Emulator) HoldTransitions(hold bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.holdLC = hold
}

// CompleteTransitions finishes every pending instantiate, update or terminate.
func (e *Emulator) CompleteTransitions() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.projects {
		for _, lc := range p.clouds {
			switch lc.deployed {
			case deployedInstantiating, deployedUpdating:
				lc.deployed, lc.ready = deployedInstantiated, "Ready"
			case deployedTerminating:
				lc.deployed, lc.ready = deployedTerminated, ""
			}
		}
	}
}

// SetDeployedStatus forces a logical cloud's app-context status, e.g. to
// InstantiateFailed. It reports whether the cloud exists.
func (e *Emulator) SetDeployedStatus(project, name, status string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	lc := e.findLC(project, name)
	if lc == nil {
		return false
	}
	lc.deployed = status
	return true
}

func (e *Emulator) findLC(project, name string) *logicalCloud {
	p := e.findProject(project)
	if p == nil {
		return nil
	}
	i := slices.IndexFunc(p.clouds, func(lc *logicalCloud) bool { return lc.body.Metadata.Name == name })
	if i < 0 {
		return nil
	}
	return p.clouds[i]
}

// lcOr404 finds the {project}/{lc} of the path or answers 404.
func (e *Emulator) lcOr404(w http.ResponseWriter, v map[string]string) *logicalCloud {
	lc := e.findLC(v["project"], v["lc"])
	if lc == nil {
		fail(w, http.StatusNotFound, msgLCNotFound)
	}
	return lc
}

// lcOrFail finds the logical cloud of the path for a call that needs its app
// contexts: 404 when it is missing, 500 when a refused DELETE has broken it
// (see deleteLogicalCloud).
func (e *Emulator) lcOrFail(w http.ResponseWriter, v map[string]string, brokenMsg string) *logicalCloud {
	lc := e.lcOr404(w, v)
	if lc != nil && lc.broken {
		fail(w, http.StatusInternalServerError, brokenMsg)
		return nil
	}
	return lc
}

func (lc *logicalCloud) addAction(state, instance string, now func() time.Time, bump bool) {
	var rev int64
	if n := len(lc.actions); n > 0 {
		rev = lc.actions[n-1].Revision
	}
	if bump {
		rev++
	}
	lc.actions = append(lc.actions, action{State: state, Instance: instance, Time: now(), Revision: rev})
}

func (lc *logicalCloud) lastState() string {
	if len(lc.actions) == 0 {
		return ""
	}
	return lc.actions[len(lc.actions)-1].State
}

func (e *Emulator) newContextID() string {
	e.nextContext++
	return strconv.FormatInt(e.nextContext, 10)
}

func (e *Emulator) listLogicalClouds(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	var out []logicalCloudBody // nil: dcm answers null for none
	if p := e.findProject(v["project"]); p != nil {
		for _, lc := range p.clouds {
			out = append(out, lc.body)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func decodeLogicalCloud(w http.ResponseWriter, r *http.Request) (logicalCloudBody, bool) {
	var body logicalCloudBody
	if !decodeBody(w, r, &body, "EOF") { // dcm prints the decoder's io.EOF here
		return body, false
	}
	var s schema
	s.metadata(body.Metadata)
	s.maxLen(body.Spec.Level, 2)
	s.maxLen(body.Spec.Namespace, 128)
	s.maxLen(body.Spec.User.UserName, 20)
	s.maxLen(body.Spec.User.Type, 128)
	for _, val := range body.Spec.Labels {
		s.maxLen(val, 128)
	}
	if body.Spec.Level == "" {
		body.Spec.Level = "1"
	}
	return body, s.check(w)
}

func (e *Emulator) createLogicalCloud(w http.ResponseWriter, r *http.Request, v map[string]string) {
	body, ok := decodeLogicalCloud(w, r)
	if !ok {
		return
	}
	p := e.findProject(v["project"])
	if p == nil {
		fail(w, http.StatusNotFound, "Project not found")
		return
	}
	if e.findLC(v["project"], body.Metadata.Name) != nil {
		fail(w, http.StatusConflict, "Logical Cloud already exists")
		return
	}
	lc := &logicalCloud{body: body}
	lc.addAction(stateCreated, "", e.now, false)
	p.clouds = append(p.clouds, lc)
	writeJSON(w, http.StatusCreated, body)
}

func (e *Emulator) getLogicalCloud(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	if lc := e.lcOr404(w, v); lc != nil {
		writeJSON(w, http.StatusOK, lc.body)
	}
}

// putLogicalCloud only rewrites dcm's record (201); nothing reaches the clusters.
func (e *Emulator) putLogicalCloud(w http.ResponseWriter, r *http.Request, v map[string]string) {
	body, ok := decodeLogicalCloud(w, r)
	if !ok {
		return
	}
	if body.Metadata.Name != v["lc"] {
		fail(w, http.StatusConflict, "Logical Cloud name mismatch")
		return
	}
	lc := e.lcOr404(w, v)
	if lc == nil {
		return
	}
	lc.body = body
	writeJSON(w, http.StatusCreated, body)
}

// deleteLogicalCloud models real dcm's defect (contract §4.5): on a cloud with
// app contexts (terminated) that still has children, it deletes the app
// contexts before the referential check refuses with 409, and the cloud is
// broken for good: every later call that needs its app contexts answers 500.
func (e *Emulator) deleteLogicalCloud(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	lc := e.lcOrFail(w, v, msgInternal)
	if lc == nil {
		return
	}
	if lc.contextID != "" {
		switch lc.deployed {
		case deployedTerminating:
			fail(w, http.StatusConflict, "The Logical Cloud can't be deleted yet, it is being terminated")
			return
		case deployedInstantiated:
			fail(w, http.StatusConflict, "The Logical Cloud is instantiated, please terminate first")
			return
		case deployedInstantiating:
			fail(w, http.StatusConflict, "The Logical Cloud is instantiating, please wait and then terminate")
			return
		case deployedInstantiateFailed:
			fail(w, http.StatusConflict, "The Logical Cloud has failed instantiating, for safety please terminate and try again")
			return
		case deployedTerminated, deployedTerminateFailed:
		default:
			fail(w, http.StatusInternalServerError, msgInternal)
			return
		}
	}
	if len(lc.references) > 0 || len(lc.permissions) > 0 || len(lc.quotas) > 0 || len(lc.kvPairs) > 0 {
		lc.broken = lc.contextID != "" // the app contexts were already deleted
		fail(w, http.StatusConflict, msgHasChildren)
		return
	}
	p := e.findProject(v["project"])
	p.clouds = slices.DeleteFunc(p.clouds, func(x *logicalCloud) bool { return x == lc })
	w.WriteHeader(http.StatusNoContent)
}

// checkDeployable applies dcm's checks before it calls rsync, in dcm's order.
func (e *Emulator) checkDeployable(w http.ResponseWriter, lc *logicalCloud) bool {
	if lc.body.Spec.Level != "0" {
		if len(lc.permissions) == 0 {
			// "…require at least a User Permission…" is not in dcm's error map.
			fail(w, http.StatusInternalServerError, msgInternal)
			return false
		}
		if !slices.ContainsFunc(lc.permissions, func(up *userPermission) bool { return up.Spec.Namespace == lc.body.Spec.Namespace }) {
			fail(w, http.StatusConflict, msgNeedsPrimaryPerm)
			return false
		}
	}
	for _, ref := range lc.references {
		if e.findCluster(ref.Spec.ClusterProvider, ref.Spec.Cluster) == nil {
			// "It looks like the cluster provided as reference does not exist" is unmapped.
			fail(w, http.StatusInternalServerError, msgInternal)
			return false
		}
	}
	if e.findController("rsync") == nil {
		fail(w, http.StatusInternalServerError, msgInternal)
		return false
	}
	return true
}

func (lc *logicalCloud) deployReferences() {
	lc.deployedTo = nil
	for _, ref := range lc.references {
		lc.deployedTo = append(lc.deployedTo, [2]string{ref.Spec.ClusterProvider, ref.Spec.Cluster})
	}
}

func (e *Emulator) instantiate(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	lc := e.lcOrFail(w, v, msgInternal)
	if lc == nil {
		return
	}
	if len(lc.references) == 0 {
		fail(w, http.StatusBadRequest, msgNoReferences)
		return
	}
	if lc.contextID != "" {
		switch lc.deployed {
		case deployedTerminated:
		case deployedTerminating:
			fail(w, http.StatusConflict, "The Logical Cloud can't be re-instantiated yet, it is being terminated")
			return
		case deployedInstantiated:
			fail(w, http.StatusConflict, "The Logical Cloud is already instantiated")
			return
		case deployedInstantiating:
			fail(w, http.StatusConflict, "The Logical Cloud is already instantiating")
			return
		case deployedInstantiateFailed:
			fail(w, http.StatusConflict, "The Logical Cloud has failed instantiating before, please terminate and try again")
			return
		case deployedTerminateFailed:
			fail(w, http.StatusConflict, "The Logical Cloud has failed terminating, please delete the Logical Cloud")
			return
		default:
			fail(w, http.StatusInternalServerError, msgInternal)
			return
		}
	}
	if !e.checkDeployable(w, lc) {
		return
	}
	id := e.newContextID()
	lc.contextID, lc.statusCtxID = id, id
	if lc.body.Spec.Level == "0" {
		lc.body.Spec.Namespace = "default" // clm writes level-0 CloudConfig in "default"
	}
	lc.deployReferences()
	lc.addAction(stateInstantiated, id, e.now, true)
	lc.deployed, lc.ready = deployedInstantiated, "Ready"
	if e.holdLC {
		lc.deployed, lc.ready = deployedInstantiating, "NotReady"
	}
	w.WriteHeader(http.StatusAccepted)
}

func (e *Emulator) terminate(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	lc := e.lcOrFail(w, v, msgInternal)
	if lc == nil {
		return
	}
	// dcm lists references before it looks at the state: a cloud whose last
	// reference was removed cannot be terminated (contract §4.5).
	if len(lc.references) == 0 {
		fail(w, http.StatusBadRequest, msgNoReferences)
		return
	}
	if lc.contextID == "" {
		w.WriteHeader(http.StatusAccepted) // never instantiated: a no-op
		return
	}
	switch lc.deployed {
	case deployedTerminated:
		fail(w, http.StatusConflict, "The Logical Cloud has already been terminated")
		return
	case deployedTerminating:
		fail(w, http.StatusConflict, "The Logical Cloud is already being terminated")
		return
	case deployedInstantiating:
		fail(w, http.StatusConflict, "The Logical Cloud is still instantiating")
		return
	case deployedTerminateFailed:
		fail(w, http.StatusConflict, "The Logical Cloud has failed terminating, please delete the Logical Cloud")
		return
	case deployedInstantiated, deployedInstantiateFailed:
	default:
		fail(w, http.StatusInternalServerError, msgInternal)
		return
	}
	if e.findController("rsync") == nil {
		fail(w, http.StatusInternalServerError, msgInternal)
		return
	}
	lc.addAction(stateTerminated, lc.contextID, e.now, false)
	lc.deployed, lc.ready = deployedTerminated, ""
	if e.holdLC {
		lc.deployed = deployedTerminating
	}
	w.WriteHeader(http.StatusAccepted)
}

// update re-deploys an Instantiated cloud from its current references. In any
// other state dcm silently does nothing and still answers 202.
func (e *Emulator) update(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	lc := e.lcOrFail(w, v, msgInternal)
	if lc == nil {
		return
	}
	meaningless := logicalCloudBody{} // dcm echoes an empty LogicalCloud
	if lc.contextID == "" || lc.deployed != deployedInstantiated {
		writeJSON(w, http.StatusAccepted, meaningless)
		return
	}
	if len(lc.references) == 0 {
		fail(w, http.StatusBadRequest, msgNoReferences)
		return
	}
	if !e.checkDeployable(w, lc) {
		return
	}
	lc.contextID = e.newContextID()
	lc.deployReferences()
	lc.addAction(stateUpdated, lc.contextID, e.now, true)
	if e.holdLC {
		lc.deployed, lc.ready = deployedUpdating, "NotReady"
	}
	writeJSON(w, http.StatusAccepted, meaningless)
}

func (e *Emulator) stop(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	lc := e.lcOrFail(w, v, msgInternal)
	if lc == nil {
		return
	}
	switch lc.lastState() {
	case stateCreated:
		fail(w, http.StatusConflict, "LogicalCloud has not been asked to instantiate: ")
	case stateInstantiated:
		lc.addAction(stateInstantiateStopped, lc.contextID, e.now, false)
		w.WriteHeader(http.StatusOK)
	case stateTerminated:
		lc.addAction(stateTerminateStopped, lc.contextID, e.now, false)
		w.WriteHeader(http.StatusOK)
	case stateTerminateStopped:
		fail(w, http.StatusConflict, "LogicalCloud termination already stopped: ")
	case stateInstantiateStopped:
		fail(w, http.StatusConflict, "LogicalCloud instantiation already stopped: ")
	default:
		fail(w, http.StatusBadRequest, "LogicalCloud is in an invalid state: ")
	}
}

type statusBody struct {
	Project string `json:"project"`
	Name    string `json:"name"`
	States  struct {
		StatusCtxID string   `json:"statusctxid"`
		Actions     []action `json:"actions"`
	} `json:"states"`
	DeployedStatus string `json:"deployedStatus,omitempty"`
	ReadyStatus    string `json:"readyStatus,omitempty"`
}

type clusterName struct {
	ClusterProvider string `json:"clusterProvider"`
	Cluster         string `json:"cluster"`
}

// status validates the query like dcm and answers the summary body of §4.4,
// or the cluster list for ?clusters.
func (e *Emulator) status(w http.ResponseWriter, r *http.Request, v map[string]string) {
	q := r.URL.Query()
	if vals, ok := q["instance"]; ok && vals[0] == "" {
		fail(w, http.StatusBadRequest, "Invalid query instance")
		return
	}
	if vals, ok := q["status"]; ok && vals[0] != "ready" && vals[0] != "deployed" {
		fail(w, http.StatusBadRequest, "Invalid query status")
		return
	}
	if vals, ok := q["output"]; ok && vals[0] != "summary" && vals[0] != "all" && vals[0] != "detail" {
		fail(w, http.StatusBadRequest, "Invalid query output")
		return
	}
	for _, c := range q["cluster"] {
		if !validClusterQuery(c) {
			fail(w, http.StatusBadRequest, "Invalid cluster query")
			return
		}
	}
	lc := e.findLC(v["project"], v["lc"])
	if lc == nil {
		// dcm writes the error and then, by a known bug, a 200 JSON body after it.
		fail(w, http.StatusBadRequest, "Logical Cloud state not found")
		_, _ = w.Write([]byte(`{"project":"","name":""}` + "\n"))
		return
	}
	if lc.broken {
		fail(w, http.StatusInternalServerError, msgInternal)
		return
	}
	if _, ok := q["clusters"]; ok {
		type byApp struct {
			App      string        `json:"app"`
			Clusters []clusterName `json:"clusters"`
		}
		out := struct {
			Project       string  `json:"project"`
			Name          string  `json:"name"`
			ClustersByApp []byApp `json:"clustersByApp"`
		}{Project: v["project"], Name: v["lc"], ClustersByApp: []byApp{}}
		if lc.contextID != "" {
			app := byApp{App: "logical-cloud", Clusters: []clusterName{}}
			for _, c := range lc.deployedTo {
				app.Clusters = append(app.Clusters, clusterName{ClusterProvider: c[0], Cluster: c[1]})
			}
			out.ClustersByApp = append(out.ClustersByApp, app)
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	out := statusBody{Project: v["project"], Name: v["lc"]}
	out.States.StatusCtxID = lc.statusCtxID
	out.States.Actions = slices.Clone(lc.actions)
	if lc.contextID != "" {
		out.DeployedStatus = lc.deployed
		// Real dcm fills readyStatus only for status=ready, the default (contract §4.4).
		if vals, ok := q["status"]; !ok || vals[0] == "ready" {
			out.ReadyStatus = lc.ready
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// validClusterQuery accepts "provider+cluster" with two valid names.
func validClusterQuery(q string) bool {
	parts := strings.Split(q, "+")
	return len(parts) == 2 && nameRE.MatchString(parts[0]) && nameRE.MatchString(parts[1])
}

func (lc *logicalCloud) findReference(name string) *clusterReference {
	i := slices.IndexFunc(lc.references, func(r *clusterReference) bool { return r.Metadata.Name == name })
	if i < 0 {
		return nil
	}
	return lc.references[i]
}

// referencesLocked: with an app context, references change only when it is
// fully Instantiated or Terminated.
func (lc *logicalCloud) referencesLocked() bool {
	return lc.contextID != "" && lc.deployed != deployedInstantiated && lc.deployed != deployedTerminated
}

func (e *Emulator) createReference(w http.ResponseWriter, r *http.Request, v map[string]string) {
	lc := e.lcOrFail(w, v, msgNoAppContext)
	if lc == nil {
		return
	}
	var body clusterReference
	if !decodeBody(w, r, &body, msgEmptyBody) {
		return
	}
	var s schema
	s.metadata(body.Metadata)
	if !s.check(w) {
		return
	}
	if lc.referencesLocked() {
		fail(w, http.StatusConflict, msgRefsLocked)
		return
	}
	if lc.findReference(body.Metadata.Name) != nil {
		fail(w, http.StatusConflict, "Cluster reference already exists")
		return
	}
	// The cluster is not checked: dcm only logs a warning (contract §4.5).
	lc.references = append(lc.references, &body)
	writeJSON(w, http.StatusCreated, body)
}

func (e *Emulator) listReferences(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	lc := e.lcOr404(w, v)
	if lc == nil {
		return
	}
	if len(lc.references) == 0 {
		fail(w, http.StatusBadRequest, msgNoReferences)
		return
	}
	out := []clusterReference{}
	for _, ref := range lc.references {
		out = append(out, *ref)
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) getReference(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	lc := e.lcOr404(w, v)
	if lc == nil {
		return
	}
	ref := lc.findReference(v["ref"])
	if ref == nil {
		fail(w, http.StatusNotFound, msgRefNotFound)
		return
	}
	writeJSON(w, http.StatusOK, ref)
}

func (e *Emulator) deleteReference(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	lc := e.lcOrFail(w, v, msgNoAppContext)
	if lc == nil {
		return
	}
	ref := lc.findReference(v["ref"])
	if ref == nil {
		fail(w, http.StatusNotFound, msgResourceNotFound)
		return
	}
	if lc.contextID != "" {
		switch lc.deployed {
		case deployedTerminating:
			fail(w, http.StatusConflict, "Can't remove Cluster Reference: the Logical Cloud is being terminated")
			return
		case deployedInstantiating:
			fail(w, http.StatusConflict, "Can't remove Cluster Reference: the Logical Cloud is instantiating, please wait and then terminate.")
			return
		case deployedInstantiateFailed:
			fail(w, http.StatusConflict, "Can't remove Cluster Reference: the Logical Cloud has failed instantiating, for safety please terminate and try again")
			return
		case deployedInstantiated, deployedTerminated, deployedTerminateFailed:
			// Allowed; on an instantiated cloud it takes effect with /update.
		default:
			fail(w, http.StatusConflict, "Failure removing Cluster Reference: the Logical Cloud isn't in an expected status so not taking any action.")
			return
		}
	}
	lc.references = slices.DeleteFunc(lc.references, func(x *clusterReference) bool { return x == ref })
	w.WriteHeader(http.StatusNoContent)
}

// getReferenceKubeconfig returns a stand-in level-1 user kubeconfig.
func (e *Emulator) getReferenceKubeconfig(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	lc := e.lcOr404(w, v)
	if lc == nil {
		return
	}
	ref := lc.findReference(v["ref"])
	switch {
	case ref == nil:
		fail(w, http.StatusNotFound, msgRefNotFound)
	case lc.statusCtxID == "":
		fail(w, http.StatusConflict, "Logical Cloud hasn't been instantiated")
	case lc.body.Spec.Level == "0":
		fail(w, http.StatusInternalServerError, "Error getting private key from logical cloud")
	default:
		w.Header().Set("Content-Type", "application/yaml")
		w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprintf(w, "apiVersion: v1\nkind: Config\ncurrent-context: %[1]s\ncontexts:\n- name: %[1]s\n  context: {cluster: %[2]s, user: %[3]s, namespace: %[4]s}\n",
			lc.body.Metadata.Name, ref.Spec.Cluster, lc.body.Spec.User.UserName, lc.body.Spec.Namespace)
	}
}

func (lc *logicalCloud) findPermission(name string) *userPermission {
	i := slices.IndexFunc(lc.permissions, func(up *userPermission) bool { return up.Metadata.Name == name })
	if i < 0 {
		return nil
	}
	return lc.permissions[i]
}

func (e *Emulator) createPermission(w http.ResponseWriter, r *http.Request, v map[string]string) {
	lc := e.lcOr404(w, v)
	if lc == nil {
		return
	}
	var body userPermission
	if !decodeBody(w, r, &body, msgEmptyBody) {
		return
	}
	var s schema
	s.metadata(body.Metadata)
	// dcm re-marshals the Go struct before validating: a missing list is null.
	s.array(body.Spec.APIGroups)
	s.array(body.Spec.Resources)
	s.array(body.Spec.Verbs)
	if !s.check(w) {
		return
	}
	if lc.findPermission(body.Metadata.Name) != nil {
		fail(w, http.StatusConflict, "User Permission already exists")
		return
	}
	lc.permissions = append(lc.permissions, &body)
	writeJSON(w, http.StatusCreated, body)
}

func (e *Emulator) listPermissions(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	lc := e.lcOr404(w, v)
	if lc == nil {
		return
	}
	var out []userPermission // nil: dcm answers null for none
	for _, up := range lc.permissions {
		out = append(out, *up)
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) getPermission(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	lc := e.lcOr404(w, v)
	if lc == nil {
		return
	}
	up := lc.findPermission(v["up"])
	if up == nil {
		fail(w, http.StatusNotFound, msgPermissionNotFound)
		return
	}
	writeJSON(w, http.StatusOK, up)
}

func (e *Emulator) deletePermission(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	lc := e.lcOr404(w, v)
	if lc == nil {
		return
	}
	if lc.findPermission(v["up"]) == nil {
		fail(w, http.StatusNotFound, msgPermissionNotFound)
		return
	}
	lc.permissions = slices.DeleteFunc(lc.permissions, func(up *userPermission) bool { return up.Metadata.Name == v["up"] })
	w.WriteHeader(http.StatusNoContent)
}

func (lc *logicalCloud) findQuota(name string) *quota {
	i := slices.IndexFunc(lc.quotas, func(q *quota) bool { return q.Metadata.Name == name })
	if i < 0 {
		return nil
	}
	return lc.quotas[i]
}

func (e *Emulator) createQuota(w http.ResponseWriter, r *http.Request, v map[string]string) {
	lc := e.lcOr404(w, v)
	if lc == nil {
		return
	}
	var body quota
	if !decodeBody(w, r, &body, msgEmptyBody) {
		return
	}
	var s schema
	s.metadata(body.Metadata)
	if !s.check(w) {
		return
	}
	switch {
	case lc.body.Spec.Level == "0":
		fail(w, http.StatusBadRequest, "Cluster Quotas not allowed for Logical Cloud Level 0")
	case lc.findQuota(body.Metadata.Name) != nil:
		fail(w, http.StatusConflict, "Quota already exists")
	default:
		lc.quotas = append(lc.quotas, &body)
		writeJSON(w, http.StatusCreated, body)
	}
}

func (e *Emulator) listQuotas(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	lc := e.lcOr404(w, v)
	if lc == nil {
		return
	}
	var out []quota // nil: dcm answers null for none
	for _, q := range lc.quotas {
		out = append(out, *q)
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) getQuota(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	lc := e.lcOr404(w, v)
	if lc == nil {
		return
	}
	q := lc.findQuota(v["quota"])
	if q == nil {
		fail(w, http.StatusNotFound, msgQuotaNotFound)
		return
	}
	writeJSON(w, http.StatusOK, q)
}

func (e *Emulator) deleteQuota(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	lc := e.lcOr404(w, v)
	if lc == nil {
		return
	}
	if lc.findQuota(v["quota"]) == nil {
		fail(w, http.StatusNotFound, msgQuotaNotFound)
		return
	}
	lc.quotas = slices.DeleteFunc(lc.quotas, func(q *quota) bool { return q.Metadata.Name == v["quota"] })
	w.WriteHeader(http.StatusNoContent)
}

func (lc *logicalCloud) findKvPair(name string) *kvPair {
	i := slices.IndexFunc(lc.kvPairs, func(kv *kvPair) bool { return kv.Metadata.Name == name })
	if i < 0 {
		return nil
	}
	return lc.kvPairs[i]
}

// createLCKvPair stores a logical cloud's kv-pairs; EMCO itself never reads
// them, but they are children that block the cloud's delete.
func (e *Emulator) createLCKvPair(w http.ResponseWriter, r *http.Request, v map[string]string) {
	lc := e.lcOr404(w, v)
	if lc == nil {
		return
	}
	var body kvPair
	if !decodeBody(w, r, &body, msgEmptyBody) {
		return
	}
	var s schema
	s.metadata(body.Metadata)
	if !s.check(w) {
		return
	}
	if lc.findKvPair(body.Metadata.Name) != nil {
		fail(w, http.StatusConflict, "Key Value already exists")
		return
	}
	lc.kvPairs = append(lc.kvPairs, &body)
	writeJSON(w, http.StatusCreated, body)
}

func (e *Emulator) listLCKvPairs(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	lc := e.lcOr404(w, v)
	if lc == nil {
		return
	}
	var out []kvPair // nil: dcm answers null for none
	for _, kv := range lc.kvPairs {
		out = append(out, *kv)
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) getLCKvPair(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	lc := e.lcOr404(w, v)
	if lc == nil {
		return
	}
	kv := lc.findKvPair(v["kv"])
	if kv == nil {
		fail(w, http.StatusNotFound, msgKvPairNotFound)
		return
	}
	writeJSON(w, http.StatusOK, kv)
}

func (e *Emulator) deleteLCKvPair(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	lc := e.lcOr404(w, v)
	if lc == nil {
		return
	}
	if lc.findKvPair(v["kv"]) == nil {
		fail(w, http.StatusNotFound, msgKvPairNotFound)
		return
	}
	lc.kvPairs = slices.DeleteFunc(lc.kvPairs, func(kv *kvPair) bool { return kv.Metadata.Name == v["kv"] })
	w.WriteHeader(http.StatusNoContent)
}
