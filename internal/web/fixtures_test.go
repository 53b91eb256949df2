package web_test

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

// plantedSecret is written into a kubeconfig Secret; no page may ever show it.
const plantedSecret = "PLANTED-kubeconfig-token-5c0ff33"

func condition(t, status, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: t, Status: metav1.ConditionStatus(status), Reason: reason, Message: msg,
		LastTransitionTime: metav1.NewTime(time.Now().Add(-time.Minute))}
}

func fleet(ns, name string) *automationv1alpha1.Fleet {
	return &automationv1alpha1.Fleet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: automationv1alpha1.FleetSpec{
			SourceRef: automationv1alpha1.SourceReference{Kind: "GitRepository", Name: name},
			Interval:  metav1.Duration{Duration: time.Minute},
			WriteBack: &automationv1alpha1.WriteBack{Branch: "lkaas/status"},
		},
	}
}

// member is an L-KaaS Cluster as the LogicalCluster controller makes it.
func member(ns, lc, name, location string) *automationv1alpha1.Cluster {
	return &automationv1alpha1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{
			automationv1alpha1.LogicalClusterLabel: lc,
			automationv1alpha1.LocationLabel:       location,
			"automation.dcn.ssu.ac.kr/fleet-name":  "edge",
		}},
		Spec: automationv1alpha1.ClusterSpec{ClusterCatalog: "in-memory-catalog"},
	}
}

func clusterStatus(phase automationv1alpha1.ClusterPhase, cp, workers string, registered bool) automationv1alpha1.ClusterStatus {
	st := automationv1alpha1.ClusterStatus{
		Phase: phase, ControlPlaneVersion: cp, WorkersVersion: workers, SourceRevision: "main@sha1:" + sha("spec"),
		Conditions: []metav1.Condition{
			condition("InfrastructureReady", "True", "Ready", ""),
			condition("ControlPlaneInitialized", "True", "Initialized", ""),
		},
		Addons: []automationv1alpha1.AddonStatus{{Name: "calico", Kind: "ClusterResourceSet", Object: "calico-v1", Applied: true}},
	}
	if phase == automationv1alpha1.ClusterPhaseReady {
		st.Conditions = append(st.Conditions, condition("Ready", "True", "Ready", "cluster is Available"))
	} else {
		st.Conditions = append(st.Conditions, condition("Ready", "False", string(phase), "upgrading to v1.31.0"))
	}
	if registered {
		st.EMCO = &automationv1alpha1.EMCORegistration{Endpoint: "central", ClusterProvider: "dcn", Cluster: "x", Registered: true}
		st.Conditions = append(st.Conditions, condition("Registered", "True", "Registered", "registered with EMCO"))
	}
	return st
}

func logicalCluster(ns, name string, members ...intentv1.MemberCluster) *intentv1.LogicalCluster {
	return &intentv1.LogicalCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       intentv1.LogicalClusterSpec{Clusters: members},
	}
}

func sha(s string) string { return fmt.Sprintf("%040x", []byte(s))[:40] }

var _ = types.UID("")
var _ = context.Background
