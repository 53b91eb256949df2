package main

import (
	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/dcn-ssu/lkaas/internal/demo"
)

func newDemoCommand() *cobra.Command {
	opts := demo.Options{Wait: true}
	var noWait bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start a local management plane with the L-KaaS controller and the seed examples",
		Long: `demo builds what is missing (kube-apiserver, etcd: minutes on the first run), starts a
local management plane with the L-KaaS, Flux source and Cluster API CRDs, runs the L-KaaS
controller against it, applies the example fleet and prints how to reach it. Ctrl-C tears
everything down.`,
		Example: `  lkaas demo
  # in another shell, with the KUBECONFIG it prints:
  kubectl get lkaas -A`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Wait = !noWait
			opts.Out = cmd.OutOrStdout()
			return demo.Run(ctrl.SetupSignalHandler(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.StateDir, "state-dir", "", "Where the demo keeps its kubeconfig and logs (default: ~/.cache/lkaas/demo).")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "Tear down as soon as the plane is up and the examples are applied.")
	return cmd
}
