package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	extgogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
	"github.com/dcn-ssu/lkaas/internal/apply"
	"github.com/dcn-ssu/lkaas/internal/gitstatus"
	lkaasscheme "github.com/dcn-ssu/lkaas/internal/scheme"
)

type statusOptions struct {
	kubeconfig    string
	namespace     string
	allNamespaces bool
	gitURL        string
	branch        string
	dir           string
	path          string
}

func newStatusCommand() *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use:   "status [FLEET]",
		Short: "Show Fleets as a tree: logical clusters, members, phase, version, EMCO registration",
		Long: `Show what L-KaaS observed, as a tree per Fleet: its logical clusters with their members
(wave, phase, Kubernetes version, EMCO registration) and its standalone clusters.

It reads the objects from the management cluster (the current kubeconfig), or the status
documents L-KaaS writes to Git: from a checkout (--dir) or by cloning the status branch
(--git).`,
		Example: `  # every Fleet of the current namespace, from the management cluster
  lkaas status

  # one Fleet, or all namespaces
  lkaas status starlab -n starlab
  lkaas status -A

  # from the status branch, without access to the cluster
  lkaas status --git https://git.example.com/org/fleet.git --branch lkaas/status

  # from a checkout of the status branch
  lkaas status --dir ./fleet-status`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fleet := ""
			if len(args) == 1 {
				fleet = args[0]
			}
			docs, dir, err := o.documents(cmd.Context(), fleet)
			if err != nil {
				return err
			}
			tree := gitstatus.Tree(dir, docs)
			if tree == "" {
				return exitCodeError{code: exitFailure, error: errors.New("no Fleet status found")}
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), tree)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "Path to a kubeconfig; defaults to $KUBECONFIG, then ~/.kube/config.")
	f.StringVarP(&o.namespace, "namespace", "n", "", "Namespace of the Fleets; defaults to the kubeconfig's.")
	f.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "Show the Fleets of every namespace.")
	f.StringVar(&o.gitURL, "git", "", "Clone this repository's status branch instead of reading the cluster.")
	f.StringVar(&o.branch, "branch", "lkaas/status", "Status branch to clone with --git.")
	f.StringVar(&o.dir, "dir", "", "Read a checkout of the status branch instead of reading the cluster.")
	f.StringVar(&o.path, "path", gitstatus.DefaultDir, "Status directory inside the repository (a Fleet's spec.writeBack.path).")
	cmd.MarkFlagsMutuallyExclusive("git", "dir")
	return cmd
}

// documents gathers status documents from Git or from the cluster; the tree is built from
// them either way, so both read the same.
func (o *statusOptions) documents(ctx context.Context, fleet string) (map[string][]byte, string, error) {
	switch {
	case o.dir != "":
		docs, err := readStatusDir(o.dir, o.path, fleet)
		return docs, o.path, err
	case o.gitURL != "":
		tmp, err := os.MkdirTemp("", "lkaas-status-")
		if err != nil {
			return nil, "", err
		}
		defer os.RemoveAll(tmp)
		_, err = extgogit.PlainCloneContext(ctx, tmp, false, &extgogit.CloneOptions{URL: o.gitURL,
			ReferenceName: plumbing.NewBranchReferenceName(o.branch), SingleBranch: true, Depth: 1})
		if err != nil {
			return nil, "", fmt.Errorf("cloning %s of %s: %w", o.branch, o.gitURL, err)
		}
		docs, err := readStatusDir(tmp, o.path, fleet)
		return docs, o.path, err
	}
	docs, err := o.fromCluster(ctx, fleet)
	return docs, gitstatus.DefaultDir, err
}

// readStatusDir reads the status documents of a checkout, keeping one Fleet's if fleet is set.
func readStatusDir(root, dir, fleet string) (map[string][]byte, error) {
	clean, err := gitstatus.Dir(dir)
	if err != nil {
		return nil, usageError{err}
	}
	tree, err := gitstatus.ReadTree(root, clean)
	if err != nil {
		return nil, err
	}
	docs := map[string][]byte{}
	for name, data := range tree {
		if owner, ok := gitstatus.FleetOf(data); ok && (fleet == "" || strings.HasSuffix(owner, "/"+fleet)) {
			docs[name] = data
		}
	}
	return docs, nil
}

// fromCluster renders the documents of the Fleets the kubeconfig shows.
func (o *statusOptions) fromCluster(ctx context.Context, fleet string) (map[string][]byte, error) {
	loading := clientcmd.NewDefaultClientConfigLoadingRules()
	loading.ExplicitPath = o.kubeconfig
	kc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(loading, &clientcmd.ConfigOverrides{})
	cfg, err := kc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	ns := o.namespace
	if ns == "" && !o.allNamespaces {
		if ns, _, err = kc.Namespace(); err != nil {
			return nil, err
		}
	}
	if o.allNamespaces {
		ns = ""
	}
	c, err := client.New(cfg, client.Options{Scheme: lkaasscheme.New()})
	if err != nil {
		return nil, err
	}
	var fleets automationv1alpha1.FleetList
	if err := c.List(ctx, &fleets, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing Fleets: %w", err)
	}
	docs := map[string][]byte{}
	for i := range fleets.Items {
		f := &fleets.Items[i]
		if fleet != "" && f.Name != fleet {
			continue
		}
		selector := client.MatchingLabels{apply.FleetNameLabel: f.Name, apply.FleetNamespaceLabel: f.Namespace}
		var clusters automationv1alpha1.ClusterList
		var lcs intentv1.LogicalClusterList
		if err := c.List(ctx, &clusters, selector); err != nil {
			return nil, err
		}
		if err := c.List(ctx, &lcs, selector); err != nil {
			return nil, err
		}
		fleetDocs, err := gitstatus.Documents(gitstatus.DefaultDir, gitstatus.Snapshot{Fleet: f, Clusters: clusters.Items, LogicalClusters: lcs.Items})
		if err != nil {
			return nil, err
		}
		for p, d := range fleetDocs {
			docs[p] = d
		}
	}
	return docs, nil
}
