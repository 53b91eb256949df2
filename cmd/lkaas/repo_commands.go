package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/dcn-ssu/lkaas/internal/fleetrepo"
	"github.com/dcn-ssu/lkaas/internal/loader"
	"github.com/dcn-ssu/lkaas/internal/plan"
	"github.com/dcn-ssu/lkaas/internal/render"
	"github.com/dcn-ssu/lkaas/internal/tenancy"
)

// repoFlags are the flags every command that reads a fleet repository shares.
type repoFlags struct {
	namespace      string
	shared         []string
	root           string
	fetchTemplates bool
	set            map[string]string
	extraKinds     []string
}

func (f *repoFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.namespace, "namespace", "n", "default", "Namespace of documents that name none.")
	cmd.Flags().StringSliceVar(&f.shared, "shared-profile-namespaces", []string{"default"}, "Namespaces whose profiles any cluster may use.")
	cmd.Flags().StringVar(&f.root, "root", "", "Repository root that template paths are relative to (default: DIR).")
	cmd.Flags().StringToStringVar(&f.set, "set", nil, "Template variables that a Fleet would take from its variablesFrom, as NAME=VALUE (repeatable).")
	cmd.Flags().BoolVar(&f.fetchTemplates, "fetch-templates", false, "Download templates given by url (cached in ~/.cache/lkaas/templates).")
	cmd.Flags().StringSliceVar(&f.extraKinds, "extra-allowed-kind", nil, "Kinds the Fleet's spec.extraAllowedKinds adds to what templates may produce, as Kind.group (repeatable).")
}

func (f *repoFlags) options(render bool) (fleetrepo.Options, error) {
	if err := tenancy.ValidateKinds(f.extraKinds); err != nil {
		return fleetrepo.Options{}, usageError{fmt.Errorf("--extra-allowed-kind: %w", err)}
	}
	o := fleetrepo.Options{Root: f.root, Namespace: f.namespace, SharedProfileNamespaces: f.shared, Render: render, Variables: f.set,
		ExtraKinds: tenancy.ParseKinds(f.extraKinds)}
	if f.fetchTemplates {
		cache, err := os.UserCacheDir()
		if err != nil {
			return o, err
		}
		o.Fetcher = newTemplateFetcher(filepath.Join(cache, "lkaas", "templates"))
	}
	return o, nil
}

func newTemplateFetcher(dir string) render.TemplateFetcher {
	return render.NewHTTPFetcher(dir, &http.Client{Timeout: time.Minute})
}

// reportProblems prints one "path:line:col: message" line per problem and ends with exit 1.
func reportProblems(w io.Writer, err error) error {
	var list loader.ErrorList
	if !errors.As(err, &list) {
		return err
	}
	for _, e := range list {
		fmt.Fprintln(w, e.Error())
	}
	return exitCodeError{code: exitFailure}
}

func oneDir(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("%s takes one directory, got %d arguments", cmd.CommandPath(), len(args))}
	}
	if fi, err := os.Stat(args[0]); err != nil || !fi.IsDir() {
		return usageError{fmt.Errorf("%s is not a directory", args[0])}
	}
	return nil
}

func newValidateCommand() *cobra.Command {
	var flags repoFlags
	cmd := &cobra.Command{
		Use:   "validate DIR",
		Short: "Check that a fleet repository loads, resolves and renders",
		Long: `validate reads every YAML file under DIR, keeps the L-KaaS documents, and checks that each
is well formed and that every cluster and logical-cluster member resolves and renders.
It exits 0 when all is well, 1 with one "path:line:col: message" line per problem on
stderr, and 2 for usage errors. It needs no cluster and fetches nothing unless asked.`,
		Example: `  lkaas validate ./fleet
  lkaas validate . --namespace starlab --fetch-templates`,
		Args: oneDir,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := flags.options(true)
			if err != nil {
				return err
			}
			b, err := fleetrepo.BuildDir(cmd.Context(), args[0], opts)
			if err != nil {
				return reportProblems(cmd.ErrOrStderr(), err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid: %d cluster(s), %d logical cluster(s), %d profile(s), %d catalog(s)\n",
				args[0], len(b.Plans), len(b.Set.LogicalClusters), len(b.Set.Profiles), len(b.Set.Catalogs))
			for _, key := range sortedKeys(b.Unrendered) {
				fmt.Fprintf(cmd.OutOrStdout(), "note: %s was not rendered: %s\n", key, b.Unrendered[key])
			}
			return nil
		},
	}
	flags.bind(cmd)
	return cmd
}

func newRenderCommand() *cobra.Command {
	var flags repoFlags
	var cluster, output string
	cmd := &cobra.Command{
		Use:   "render DIR",
		Short: "Print the Cluster API objects of every (or one) cluster of a fleet repository",
		Example: `  lkaas render ./fleet
  lkaas render ./fleet --cluster starlab/seoul-edge-cluster -o json`,
		Args: oneDir,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "yaml" && output != "json" {
				return usageError{fmt.Errorf("unknown output %q: want yaml or json", output)}
			}
			opts, err := flags.options(true)
			if err != nil {
				return err
			}
			if cluster != "" {
				opts.Only = []string{cluster}
			}
			b, err := fleetrepo.BuildDir(cmd.Context(), args[0], opts)
			if err != nil {
				return reportProblems(cmd.ErrOrStderr(), err)
			}
			objs := uniqueObjects(b)
			if output == "json" {
				list := map[string]any{"apiVersion": "v1", "kind": "List", "items": objs}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			return (&render.Result{Objects: objs}).WriteYAML(cmd.OutOrStdout())
		},
	}
	flags.bind(cmd)
	cmd.Flags().StringVar(&cluster, "cluster", "", "Only this cluster, as NAMESPACE/NAME.")
	cmd.Flags().StringVarP(&output, "output", "o", "yaml", "Output format: yaml or json.")
	return cmd
}

// uniqueObjects lists the rendered objects of the build's clusters in cluster order; add-on
// objects that clusters share appear once.
func uniqueObjects(b *fleetrepo.Build) []*unstructured.Unstructured {
	seen := map[string]bool{}
	var out []*unstructured.Unstructured
	for _, key := range sortedKeys(b.Rendered) {
		for _, o := range b.Rendered[key] {
			id := o.GetAPIVersion() + "/" + o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
			if seen[id] {
				continue
			}
			seen[id] = true
			out = append(out, o)
		}
	}
	return out
}

func newPlanCommand() *cobra.Command {
	var flags repoFlags
	var base, head, output string
	cmd := &cobra.Command{
		Use:   "plan [DIR] --base REF|DIR",
		Short: "Show what a change to a fleet repository will do",
		Long: `plan compares two versions of a fleet repository, each a directory or a Git revision of the
repository that holds DIR (default "."), and shows clusters and logical clusters added,
removed and changed, Kubernetes upgrades and the waves they roll in, and the diff of the
rendered Cluster API objects. Markdown output is fit to post on a pull request.

The base is taken for what runs: a change that breaks a Kubernetes version rule (a
downgrade, a minor skipped without a list of intermediate versions, a minor missing from
that list, workers newer than or more than three minors behind the control plane) is
marked BLOCKED with the rule and the path:line:col to fix, and plan exits 3 after
printing the report. Exit codes: 0 fine, 1 a side does not build, 2 usage, 3 blocked.`,
		Example: `  # in a pull request's CI
  lkaas plan --base origin/main -o markdown

  # two directories
  lkaas plan --base ./before --head ./after`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if base == "" {
				return usageError{errors.New("--base is required")}
			}
			format := plan.Format(output)
			if format != plan.Text && format != plan.Markdown && format != plan.JSON {
				return usageError{fmt.Errorf("unknown output %q: want text, markdown or json", output)}
			}
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			opts, err := flags.options(true)
			if err != nil {
				return err
			}
			// One model for both sides: the head is built from what changed since the base.
			model := fleetrepo.NewModel(opts)
			baseSnap, err := snapshotOf(cmd, model, dir, base, opts)
			if err != nil {
				return err
			}
			headSnap, err := snapshotOf(cmd, model, dir, head, opts)
			if err != nil {
				return err
			}
			report, err := plan.Compare(baseSnap, headSnap)
			if err != nil {
				return err
			}
			if err := report.Write(cmd.OutOrStdout(), format); err != nil {
				return err
			}
			if report.IsBlocked() {
				return exitCodeError{code: exitBlocked}
			}
			return nil
		},
	}
	flags.bind(cmd)
	cmd.Flags().StringVar(&base, "base", "", "The version before the change: a directory or a Git revision (e.g. origin/main).")
	cmd.Flags().StringVar(&head, "head", "", "The version after the change: a directory or a Git revision (default: DIR as it is on disk).")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "Output format: text, markdown or json.")
	return cmd
}

// snapshotOf builds one side of a plan: side is a directory, a Git revision of the repository
// holding dir, or empty for dir itself.
func snapshotOf(cmd *cobra.Command, model *fleetrepo.Model, dir, side string, opts fleetrepo.Options) (*plan.Snapshot, error) {
	label, fleetDir := side, side
	if side == "" {
		label, fleetDir = "working tree", dir
	} else if fi, err := os.Stat(side); err != nil || !fi.IsDir() {
		var workTree string
		root, at, cleanup, err := fleetrepo.CheckoutAt(dir, side, func(wt string) { workTree = wt })
		if err != nil {
			return nil, usageError{fmt.Errorf("--base/--head %q is neither a directory nor a revision: %w", side, err)}
		}
		defer cleanup()
		fleetDir = at
		if opts.Root != "" {
			abs, err := filepath.Abs(opts.Root)
			if err != nil {
				return nil, err
			}
			rel, err := filepath.Rel(workTree, abs)
			if err != nil || strings.HasPrefix(rel, "..") {
				return nil, usageError{fmt.Errorf("--root %s is outside the repository", opts.Root)}
			}
			opts.Root = filepath.Join(root, rel)
		}
	}
	b, err := model.BuildDirAt(cmd.Context(), fleetDir, opts.Root)
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s has problems:\n", label)
		return nil, reportProblems(cmd.ErrOrStderr(), err)
	}
	return b.Snapshot(label), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
