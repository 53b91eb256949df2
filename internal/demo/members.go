package demo

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

// progress is what the demo shows of the logical cluster: its line, and one row per member.
type progress struct {
	logicalCluster *intentv1.LogicalCluster // nil until the Fleet applied it
	clusters       map[string]*automationv1alpha1.Cluster
}

// readProgress reads the logical cluster and its members' Clusters.
func readProgress(ctx context.Context, c client.Reader) (progress, error) {
	p := progress{clusters: map[string]*automationv1alpha1.Cluster{}}
	var lc intentv1.LogicalCluster
	err := c.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: LogicalClusterName}, &lc)
	if apierrors.IsNotFound(err) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	p.logicalCluster = &lc
	for _, m := range lc.Status.Members {
		var cl automationv1alpha1.Cluster
		err := c.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: m.Name}, &cl)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return p, err
		}
		p.clusters[m.Name] = &cl
	}
	return p, nil
}

// ready says whether the logical cluster is Ready with every member Ready and registered,
// and its logical cloud instantiated.
func (p progress) ready() bool {
	lc := p.logicalCluster
	if lc == nil || lc.Status.Phase != automationv1alpha1.ClusterPhaseReady ||
		lc.Status.TotalMembers == 0 || lc.Status.ReadyMembers != lc.Status.TotalMembers {
		return false
	}
	for _, m := range lc.Status.Members {
		if !m.Registered {
			return false
		}
	}
	return lc.Status.EMCO != nil && lc.Status.EMCO.DeployedStatus == "Instantiated"
}

// render writes the logical cluster's line and the member table.
func (p progress) render(w io.Writer) {
	lc := p.logicalCluster
	if lc == nil {
		fmt.Fprintf(w, "logical cluster %s/%s: not applied yet\n", Namespace, LogicalClusterName)
		return
	}
	cloud := "-"
	if e := lc.Status.EMCO; e != nil {
		cloud = fmt.Sprintf("%s/%s %s", e.Project, e.LogicalCloud, orDash(e.DeployedStatus))
	}
	wave := ""
	if lc.Status.CurrentWave != nil {
		wave = fmt.Sprintf(", rolling wave %d", *lc.Status.CurrentWave)
	}
	fmt.Fprintf(w, "logical cluster %s/%s: %s, %d/%d members ready%s, EMCO logical cloud %s\n",
		Namespace, lc.Name, orDash(string(lc.Status.Phase)), lc.Status.ReadyMembers, lc.Status.TotalMembers, wave, cloud)
	// The Ready message mostly counts members, as the line above does; show it when it says
	// something else (a failure, a wave waiting).
	if msg := conditions.GetMessage(lc, meta.ReadyCondition); msg != "" && !strings.HasSuffix(msg, "members Ready") {
		fmt.Fprintf(w, "  %s\n", msg)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  MEMBER\tWAVE\tPHASE\tKUBERNETES\tEMCO")
	for _, m := range lc.Status.Members {
		cl := p.clusters[m.Name]
		phase := orDash(string(m.Phase))
		if m.Pending {
			phase += " (waits for its wave)"
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\n", m.Name, m.Wave, phase, version(cl, m), registration(cl))
	}
	_ = tw.Flush()
	// Below the table, what an upgrading or failed member waits for or why it refused.
	for _, m := range lc.Status.Members {
		cl := p.clusters[m.Name]
		if cl == nil || m.Phase != automationv1alpha1.ClusterPhaseUpgrading && m.Phase != automationv1alpha1.ClusterPhaseFailed {
			continue
		}
		if msg := conditions.GetMessage(cl, meta.ReadyCondition); msg != "" {
			fmt.Fprintf(w, "  %s: %s\n", m.Name, msg)
		}
	}
}

// version is the member's control-plane version, and the workers' when they differ (during an
// upgrade the control plane goes first).
func version(cl *automationv1alpha1.Cluster, m intentv1.MemberStatus) string {
	if cl == nil {
		return orDash(m.KubernetesVersion)
	}
	cp, workers := cl.Status.ControlPlaneVersion, cl.Status.WorkersVersion
	if workers != "" && workers != cp {
		return fmt.Sprintf("%s (workers %s)", orDash(cp), workers)
	}
	return orDash(cp)
}

// registration is where EMCO holds the member, or why not yet.
func registration(cl *automationv1alpha1.Cluster) string {
	if cl == nil {
		return "-"
	}
	if e := cl.Status.EMCO; e != nil && e.Registered {
		return fmt.Sprintf("registered %s/%s", e.ClusterProvider, e.Cluster)
	}
	if c := conditions.Get(cl, "Registered"); c != nil {
		return c.Reason
	}
	return "-"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
