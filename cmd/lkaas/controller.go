package main

import (
	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/dcn-ssu/lkaas/internal/manager"
)

func newControllerCommand() *cobra.Command {
	var opts manager.Options
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run the L-KaaS controller manager",
		Example: `  # against the current kubeconfig, with leader election
  lkaas controller --enable-leader-election

  # log as JSON at debug level
  lkaas controller --log-encoding=json --log-level=debug

  # a shard: only Fleets labelled sharding.fluxcd.io/key=shard1 (the main instance
  # runs with --watch-label-selector='!sharding.fluxcd.io/key')
  lkaas controller --watch-label-selector=sharding.fluxcd.io/key=shard1`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Validate(); err != nil {
				return usageError{err}
			}
			cfg, err := opts.RESTConfig()
			if err != nil {
				return err
			}
			mgr, err := manager.New(cfg, opts)
			if err != nil {
				return err
			}
			return mgr.Start(ctrl.SetupSignalHandler())
		},
	}
	opts.BindFlags(cmd.Flags())
	return cmd
}
