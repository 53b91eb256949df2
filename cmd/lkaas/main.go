// Command lkaas is the one L-KaaS binary: the controller, the demo, and the tools people run
// on a fleet repository (validate, render, plan).
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes: 1 for a failed check or run, 2 for a usage error (as in most Unix tools), 3
// when `lkaas plan` finds a change that breaks a Kubernetes version rule (a downgrade, a
// skipped minor, workers out of skew): the pull-request check fails before merge.
const (
	exitFailure = 1
	exitUsage   = 2
	exitBlocked = 3
)

// usageError marks errors in how the command was called.
type usageError struct{ error }

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	root := newRootCommand()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var exit exitCodeError
	if errors.As(err, &exit) {
		if exit.error != nil {
			fmt.Fprintln(os.Stderr, "Error:", exit.error)
		}
		return exit.code
	}
	fmt.Fprintln(os.Stderr, "Error:", err)
	var usage usageError
	if errors.As(err, &usage) {
		fmt.Fprintf(os.Stderr, "Run '%s --help' for usage.\n", root.CommandPath())
		return exitUsage
	}
	return exitFailure
}

// exitCodeError ends the command with a chosen code; a nil error means the command has
// already said what went wrong.
type exitCodeError struct {
	code int
	error
}

func (e exitCodeError) Error() string {
	if e.error == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.error.Error()
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "lkaas",
		Short: "Logical Kubernetes-cluster-as-a-Service: clusters and logical clusters from Git",
		Long: `L-KaaS turns cluster specs kept in Git (profiles, catalogs, clusters, logical clusters)
into Cluster API clusters, registers them with EMCO, and writes their status back to Git.`,
		Example: `  # run the controller against the current kubeconfig
  lkaas controller

  # start a local management plane with the seed examples
  lkaas demo`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newControllerCommand(), newDemoCommand(), newEMCOEmulatorCommand(), newValidateCommand(), newRenderCommand(), newPlanCommand(), newStatusCommand(), newVersionCommand())
	return root
}

// noArgs refuses positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args)}
	}
	return nil
}
