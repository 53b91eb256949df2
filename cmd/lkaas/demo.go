package main

import (
	"github.com/spf13/cobra"

	"github.com/dcn-ssu/lkaas/internal/demo"
)

func newDemoCommand() *cobra.Command {
	opts := demo.Options{Wait: true}
	var noWait bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the seed's mec-cluster on a local management plane with real Flux and Cluster API",
		Long: `demo starts a local management plane: kube-apiserver, etcd, kube-controller-manager,
Flux source-controller and the Cluster API managers (CAPD's in-memory backend) as child
processes, a Git server and the EMCO emulator on loopback, and the L-KaaS controller. It pushes
the seed's mec-cluster (a central cluster and three edge clusters) to the Git server, creates
the tenant's GitRepository and Fleet, and shows the members (phase, Kubernetes version, EMCO
registration) until the logical cluster is Ready; then it prints what to try next and keeps
showing changes. Ctrl-C tears everything down.

The plane's tools are built by ` + "`make e2e-tools`" + ` (` + "`make demo`" + ` does it first).`,
		Example: `  make demo                 # builds what is missing, then runs lkaas demo
  lkaas demo --no-wait      # stop once the logical cluster is Ready
  lkaas demo --plane-only   # a bare plane to try your own fleet repository on
  # in another shell, with the KUBECONFIG it prints:
  lkaas status edge -n edge`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Wait = !noWait
			opts.Out = cmd.OutOrStdout()
			return demo.Run(demo.SignalContext(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.StateDir, "state-dir", "", "Where the demo keeps its kubeconfig, logs and Git repositories (default: ~/.cache/lkaas/demo; emptied first).")
	cmd.Flags().BoolVar(&opts.PlaneOnly, "plane-only", false, "Start the management plane, the Git server, the EMCO emulator and the controller, and push nothing.")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "Tear down as soon as the logical cluster is Ready.")
	return cmd
}
