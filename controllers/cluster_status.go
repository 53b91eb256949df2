package controllers

import (
	"context"
	"fmt"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/version"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
)

// The CAPI v1beta2 Cluster conditions the L-KaaS Cluster mirrors (names as in
// sigs.k8s.io/cluster-api/api/core/v1beta2: InfrastructureReadyCondition,
// ClusterControlPlaneInitializedCondition, …). The ladder: infrastructure, control plane
// initialized (the moment for network add-ons), control plane available, workers, available.
const (
	capiInfrastructureReady     = "InfrastructureReady"
	capiControlPlaneInitialized = "ControlPlaneInitialized"
	capiControlPlaneAvailable   = "ControlPlaneAvailable"
	capiWorkersAvailable        = "WorkersAvailable"
	capiAvailable               = "Available"
	capiRollingOut              = "RollingOut"
	capiTopologyReconciled      = "TopologyReconciled"
)

var mirroredCAPIConditions = []string{
	capiInfrastructureReady, capiControlPlaneInitialized, capiControlPlaneAvailable, capiWorkersAvailable, capiAvailable,
}

var machineDeploymentGVK = schema.GroupVersionKind{Group: "cluster.x-k8s.io", Version: "v1beta2", Kind: "MachineDeployment"}

// capiState is what the cluster's CAPI objects report.
type capiState struct {
	// unreachable says why CAPI's ClusterResourceSets cannot reach the cluster although its
	// control plane runs (an existing cluster whose kubeconfig Secret CAPI cannot read).
	unreachable string
	exists      bool
	conditions  []metav1.Condition
	// failure is CAPI's terminal failure (the v1beta1 failureReason/Message, still reported).
	failure string
	// targetVersion is the version the control plane is asked to run (KCP spec.version, or the
	// topology's); controlPlaneVersion and workersVersion are what runs.
	targetVersion       string
	controlPlaneVersion string
	workersVersion      string
	// topology: the CAPI Cluster is a ClusterClass cluster (CAPI orders its upgrades);
	// topologyVersion is its spec.topology.version, the end of CAPI's own chain.
	topology        bool
	topologyVersion string
	// cpPlan and workersPlan are the versions CAPI's topology has still to write to the
	// control plane and to the workers (Cluster status.controlPlane/workers.upgradePlan);
	// topologyHeld is why CAPI's topology holds an upgrade (a blocking lifecycle hook, a
	// deferred MachineDeployment, a failed reconcile), from its TopologyReconciled condition.
	cpPlan, workersPlan []string
	topologyHeld        string
	// cpReplicas and cpUpToDate count the control-plane machines, and those at the spec.
	cpReplicas, cpUpToDate int64
	// hasWorkers: the cluster has MachineDeployments; workersTarget is the oldest version
	// they are asked to run (spec.template.spec.version).
	hasWorkers    bool
	workersTarget string
	// finalVersion and finalWorkers are what Git asks for at the end of a chained upgrade;
	// the cluster is not Ready before both run. Empty when unknown (no render).
	finalVersion, finalWorkers string
	// waiting says what an upgrade waits for (versionGate), for the conditions.
	waiting string
}

func (s *capiState) isTrue(t string) bool {
	for _, c := range s.conditions {
		if c.Type == t {
			return c.Status == metav1.ConditionTrue
		}
	}
	return false
}

// observe reads the CAPI objects from the cache and writes the cluster's status from them:
// the mirrored conditions, versions, kubeconfig Secret, add-ons, phase and Ready.
func (r *ClusterReconciler) observe(ctx context.Context, cluster *automationv1alpha1.Cluster, desired *desiredState) error {
	capi, err := r.capiCluster(ctx, cluster)
	if err != nil {
		return err
	}
	state, err := r.readCAPI(ctx, cluster, capi)
	if err != nil {
		return err
	}
	switch {
	case state.topology:
		// CAPI's topology runs the chain; the cluster says where it is in it, in the same words.
		state.finalVersion, state.finalWorkers = state.topologyVersion, state.topologyVersion
		state.waiting = topologyWaiting(state)
	case desired != nil && desired.plan != nil:
		state.waiting = upgradeWaiting(gateVersions(state, desired.plan), desired.gate)
		state.finalVersion, state.finalWorkers = desired.plan.KubernetesVersion, desired.plan.WorkerVersion()
	}
	for _, t := range mirroredCAPIConditions {
		c := findCondition(state.conditions, t)
		if c == nil {
			conditions.Delete(cluster, t)
			continue
		}
		conditions.Set(cluster, &metav1.Condition{Type: t, Status: c.Status, Reason: c.Reason, Message: c.Message,
			ObservedGeneration: cluster.Generation})
	}
	cluster.Status.ControlPlaneVersion = state.controlPlaneVersion
	cluster.Status.WorkersVersion = state.workersVersion
	cluster.Status.KubeconfigSecretName, err = r.kubeconfigSecretName(ctx, cluster)
	if err != nil {
		return err
	}
	if desired != nil {
		if err := r.observeAddons(ctx, cluster, desired, state); err != nil {
			return err
		}
	}

	waiting := waitingForWave(cluster)
	phase := clusterPhase(state, conditions.IsStalled(cluster), waiting, cluster.Status.RenderHash == cluster.Status.AppliedRenderHash)
	cluster.Status.Phase = phase
	r.markReadiness(cluster, phase, state, waiting)
	return nil
}

// upgradeWaiting says what the upgrade waits for after the pass's writes. The gate is asked
// again on what the cache shows now (after the writes: "control plane 0/1 at v1.35.3" rather
// than "rolling to v1.35.3"), unless the cache moved on under the pass and that answer would
// write other versions than the pass did: then the status says what the pass wrote, never
// what it did not ("workers rolling" while the MachineDeployments still ask for the old
// version). The watch event that brought the newer object queues the next pass, which
// writes them.
func upgradeWaiting(now versionGate, applied *versionGate) string {
	if applied != nil && (now.controlPlane != applied.controlPlane || now.workers != applied.workers) {
		return applied.waiting
	}
	return now.waiting
}

// clusterPhase is the one-word summary of the ladder; see docs/architecture.md.
func clusterPhase(s *capiState, stalled, waiting, upToDate bool) automationv1alpha1.ClusterPhase {
	switch {
	case stalled || s.failure != "":
		return automationv1alpha1.ClusterPhaseFailed
	case !s.exists || len(s.conditions) == 0:
		return automationv1alpha1.ClusterPhasePending
	case !s.isTrue(capiInfrastructureReady) || !s.isTrue(capiControlPlaneInitialized):
		return automationv1alpha1.ClusterPhaseProvisioning
	case !waiting && (versionsDiffer(s) || s.isTrue(capiRollingOut)):
		return automationv1alpha1.ClusterPhaseUpgrading
	case s.isTrue(capiAvailable) && upToDate && versionsMatch(s):
		return automationv1alpha1.ClusterPhaseReady
	default:
		// Up, but not Available, or Available while a member waits for its wave.
		return automationv1alpha1.ClusterPhaseProvisioned
	}
}

// versionsDiffer: a running version is known and is not the one asked for.
func versionsDiffer(s *capiState) bool {
	if s.finalVersion != "" && s.controlPlaneVersion != "" &&
		(s.controlPlaneVersion != s.finalVersion || s.workersVersion != "" && s.workersVersion != s.finalWorkers) {
		return true // a chained upgrade between steps is still upgrading
	}
	if s.targetVersion == "" {
		return false
	}
	return s.controlPlaneVersion != "" && s.controlPlaneVersion != s.targetVersion ||
		s.workersVersion != "" && s.workersVersion != s.workersWanted()
}

// workersWanted is the workers' version at the end: Git's when known, else the control plane's.
func (s *capiState) workersWanted() string {
	if s.finalWorkers != "" {
		return s.finalWorkers
	}
	return s.targetVersion
}

// versionsMatch: the control plane reports the version asked for, and so do the workers when
// there are any.
func versionsMatch(s *capiState) bool {
	if s.finalVersion != "" && s.controlPlaneVersion != s.finalVersion {
		return false
	}
	return s.targetVersion == "" ||
		s.controlPlaneVersion == s.targetVersion && (s.workersVersion == "" || s.workersVersion == s.workersWanted())
}

func (r *ClusterReconciler) markReadiness(cluster *automationv1alpha1.Cluster, phase automationv1alpha1.ClusterPhase, s *capiState, waiting bool) {
	if conditions.IsStalled(cluster) {
		return // renderFailed has said why
	}
	switch {
	case phase == automationv1alpha1.ClusterPhaseReady:
		conditions.MarkTrue(cluster, meta.ReadyCondition, meta.SucceededReason, "Cluster is Available at %s", s.controlPlaneVersion)
		conditions.Delete(cluster, meta.ReconcilingCondition)
	case phase == automationv1alpha1.ClusterPhaseFailed:
		conditions.MarkFalse(cluster, meta.ReadyCondition, "Failed", "Cluster API reports a failure: %s", s.failure)
		conditions.MarkStalled(cluster, "Failed", "Cluster API reports a failure: %s", s.failure)
		conditions.Delete(cluster, meta.ReconcilingCondition)
	case waiting:
		conditions.MarkFalse(cluster, meta.ReadyCondition, ReasonWaitingForRollout, "render %s is waiting for its rollout wave", cluster.Status.RenderHash)
		conditions.MarkReconciling(cluster, ReasonWaitingForRollout, "render %s is waiting for its rollout wave", cluster.Status.RenderHash)
	default:
		msg := phaseMessage(phase, s)
		conditions.MarkFalse(cluster, meta.ReadyCondition, string(phase), "%s", msg)
		conditions.MarkReconciling(cluster, ReasonProgressing, "%s", msg)
	}
}

func phaseMessage(phase automationv1alpha1.ClusterPhase, s *capiState) string {
	switch phase {
	case automationv1alpha1.ClusterPhasePending:
		return "waiting for Cluster API to pick up the cluster"
	case automationv1alpha1.ClusterPhaseProvisioning:
		return "infrastructure and control plane are being provisioned"
	case automationv1alpha1.ClusterPhaseUpgrading:
		if s.waiting != "" {
			return fmt.Sprintf("upgrading to %s: %s", orUnknown(s.finalVersion), s.waiting)
		}
		return fmt.Sprintf("upgrading to %s (control plane %s, workers %s)", s.targetVersion, orUnknown(s.controlPlaneVersion), orUnknown(s.workersVersion))
	default:
		return "control plane initialized; waiting for the cluster to become Available"
	}
}

func orUnknown(v string) string {
	if v == "" {
		return "unknown"
	}
	return v
}

func findCondition(list []metav1.Condition, t string) *metav1.Condition {
	for i := range list {
		if list[i].Type == t {
			return &list[i]
		}
	}
	return nil
}

// readCAPI gathers the CAPI Cluster's conditions, its control plane's versions and the
// oldest worker version, all from the cache.
func (r *ClusterReconciler) readCAPI(ctx context.Context, cluster *automationv1alpha1.Cluster, capi *unstructured.Unstructured) (*capiState, error) {
	s := &capiState{}
	if capi == nil {
		return s, nil
	}
	s.exists = true
	s.conditions = conditionsOf(capi)
	if reason, ok, _ := unstructured.NestedString(capi.Object, "status", "deprecated", "v1beta1", "failureReason"); ok && reason != "" {
		msg, _, _ := unstructured.NestedString(capi.Object, "status", "deprecated", "v1beta1", "failureMessage")
		s.failure = reason + ": " + msg
	}
	s.targetVersion, _, _ = unstructured.NestedString(capi.Object, "spec", "topology", "version")
	s.topology, s.topologyVersion = s.targetVersion != "", s.targetVersion
	if s.topology {
		s.cpPlan = upgradePlan(capi, "controlPlane")
		s.workersPlan = upgradePlan(capi, "workers")
		s.topologyHeld = topologyHeld(findCondition(s.conditions, capiTopologyReconciled))
	}

	cp, err := r.controlPlaneOf(ctx, capi)
	if err != nil {
		return nil, err
	}
	if cp != nil {
		if v, _, _ := unstructured.NestedString(cp.Object, "spec", "version"); v != "" {
			s.targetVersion = v
		}
		s.controlPlaneVersion, _, _ = unstructured.NestedString(cp.Object, "status", "version")
		s.cpReplicas, _, _ = unstructured.NestedInt64(cp.Object, "status", "replicas")
		s.cpUpToDate, _, _ = unstructured.NestedInt64(cp.Object, "status", "upToDateReplicas")
	}

	// The cluster's MachineDeployments (by the spec.clusterName index), read in place (no
	// deep copy: this loop only reads): copying them cost each pass as much memory as the
	// namespace's pools, which at 1,000 clusters was the largest part of the controller's heap
	// (docs/performance.md).
	var mds unstructured.UnstructuredList
	mds.SetGroupVersionKind(machineDeploymentGVK)
	if err := r.Cache.List(ctx, &mds, client.InNamespace(cluster.Namespace),
		client.MatchingFields{machineDeploymentClusterField: capi.GetName()}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	var oldest *version.Version
	for _, md := range mds.Items {
		s.hasWorkers = true
		if v, _, _ := unstructured.NestedString(md.Object, "spec", "template", "spec", "version"); v != "" {
			s.workersTarget = oldestVersion(s.workersTarget, v)
		}
		versions, _, _ := unstructured.NestedSlice(md.Object, "status", "versions")
		for _, v := range versions {
			m, _ := v.(map[string]any)
			raw, _ := m["version"].(string)
			parsed, err := version.ParseGeneric(raw)
			if err != nil {
				continue
			}
			if oldest == nil || parsed.LessThan(oldest) {
				oldest, s.workersVersion = parsed, raw
			}
		}
	}
	return s, nil
}

// controlPlaneOf reads the control plane object the CAPI Cluster references.
func (r *ClusterReconciler) controlPlaneOf(ctx context.Context, capi *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	ref, _, _ := unstructured.NestedStringMap(capi.Object, "spec", "controlPlaneRef")
	if ref["kind"] == "" || ref["name"] == "" {
		return nil, nil
	}
	mapping, err := r.Client.RESTMapper().RESTMapping(schema.GroupKind{Group: ref["apiGroup"], Kind: ref["kind"]})
	if err != nil {
		return nil, nil // the control plane provider is not installed: nothing to read
	}
	cp := &unstructured.Unstructured{}
	cp.SetGroupVersionKind(mapping.GroupVersionKind)
	if err := r.Cache.Get(ctx, client.ObjectKey{Namespace: capi.GetNamespace(), Name: ref["name"]}, cp); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return cp, nil
}

// upgradePlan reads a CAPI Cluster's status.<part>.upgradePlan: the versions its topology
// has still to write, in order.
func upgradePlan(capi *unstructured.Unstructured, part string) []string {
	raw, _, _ := unstructured.NestedSlice(capi.Object, "status", part, "upgradePlan")
	var out []string
	for _, item := range raw {
		if m, ok := item.(map[string]any); ok {
			if v, _ := m["version"].(string); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

func conditionsOf(u *unstructured.Unstructured) []metav1.Condition {
	raw, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	out := make([]metav1.Condition, 0, len(raw))
	for _, item := range raw {
		m, ok := item.(map[string]any)
		if !ok {
			continue
		}
		var c metav1.Condition
		if runtime.DefaultUnstructuredConverter.FromUnstructured(m, &c) == nil {
			out = append(out, c)
		}
	}
	return out
}

func controlPlaneInitialized(capi *unstructured.Unstructured) bool {
	if capi == nil {
		return false
	}
	c := findCondition(conditionsOf(capi), capiControlPlaneInitialized)
	return c != nil && c.Status == metav1.ConditionTrue
}

// kubeconfigSecretName is "<name>-kubeconfig" once CAPI has written that Secret. Only the
// Secret's metadata is cached: L-KaaS never holds the kubeconfig itself here.
func (r *ClusterReconciler) kubeconfigSecretName(ctx context.Context, cluster *automationv1alpha1.Cluster) (string, error) {
	name := cluster.Name + "-kubeconfig"
	s := &metav1.PartialObjectMetadata{}
	s.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := r.Cache.Get(ctx, client.ObjectKey{Namespace: cluster.Namespace, Name: name}, s); err != nil {
		if apierrors.IsNotFound(err) {
			return "", nil
		}
		return "", err
	}
	return name, nil
}
