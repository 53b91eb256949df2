// Package versionrules holds Kubernetes' rules for moving a cluster from one version to
// another, as one pure function that `lkaas validate`, `lkaas plan` and the Cluster controller
// share:
//
//   - no downgrade of a running control plane, minor or patch (etcd and the storage versions
//     of the API only move forward);
//   - no skipped minor: a jump of more than one minor runs as steps, one per minor, each
//     through the highest patch of that minor the platform team lists in Git; a minor with no
//     listed version refuses the jump and is named;
//   - workers are never newer than their control plane and at most three minors behind it
//     (Kubernetes' kubelet skew policy).
//
// It reads and writes nothing; the callers say where a version came from.
package versionrules

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MaxWorkerSkew is how many minors a kubelet may be behind its API server (Kubernetes' version
// skew policy since v1.28).
const MaxWorkerSkew = 3

// Rule names a rule, in messages and in machine-readable output.
type Rule string

const (
	// RuleVersionFormat: a version must read vMAJOR.MINOR.PATCH.
	RuleVersionFormat Rule = "version-format"
	// RuleNoDowngrade: a running control plane never moves to an older version.
	RuleNoDowngrade Rule = "no-downgrade"
	// RuleNoMinorSkip: a jump of more than one minor needs a list of intermediate versions.
	RuleNoMinorSkip Rule = "no-minor-skip"
	// RuleMissingIntermediateMinor: the list has no version of a minor the jump crosses.
	RuleMissingIntermediateMinor Rule = "missing-intermediate-minor"
	// RuleWorkersNotNewer: workers never run a newer version than their control plane.
	RuleWorkersNotNewer Rule = "workers-not-newer"
	// RuleWorkerSkew: workers are at most MaxWorkerSkew minors behind their control plane.
	RuleWorkerSkew Rule = "worker-skew"
)

// Field says which desired value a refusal is about, so callers can point at its line.
type Field string

const (
	// FieldVersion is the cluster's kubernetesVersion (its control plane's).
	FieldVersion Field = "kubernetesVersion"
	// FieldWorkerVersion is the workers' version when it is set apart from the control plane's.
	FieldWorkerVersion Field = "workerKubernetesVersion"
	// FieldChain is the list of intermediate versions; Index says which entry.
	FieldChain Field = "kubernetesVersions"
)

// Version is a Kubernetes release, vMAJOR.MINOR.PATCH.
type Version struct{ Major, Minor, Patch int }

var versionPattern = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)

// Parse reads "v1.35.0"; anything else (no "v", a pre-release, a short form) is refused.
func Parse(s string) (Version, error) {
	m := versionPattern.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("%q is not a version like v1.35.0 (v<major>.<minor>.<patch>)", s)
	}
	var v Version
	for i, into := range []*int{&v.Major, &v.Minor, &v.Patch} {
		n, err := strconv.Atoi(m[i+1])
		if err != nil {
			return Version{}, fmt.Errorf("%q: %v", s, err)
		}
		*into = n
	}
	return v, nil
}

func (v Version) String() string { return fmt.Sprintf("v%d.%d.%d", v.Major, v.Minor, v.Patch) }

// MinorString is "v1.36".
func (v Version) MinorString() string { return fmt.Sprintf("v%d.%d", v.Major, v.Minor) }

// Compare is -1, 0 or 1 as v is older than, equal to or newer than o.
func (v Version) Compare(o Version) int {
	for _, d := range [][2]int{{v.Major, o.Major}, {v.Minor, o.Minor}, {v.Patch, o.Patch}} {
		if d[0] != d[1] {
			if d[0] < d[1] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// minorsBehind is how many minors v is behind o, within one major; another major counts as
// far behind (or ahead), since Kubernetes has never supported skew across majors.
func (v Version) minorsBehind(o Version) int {
	if v.Major != o.Major {
		if v.Major < o.Major {
			return 1 << 20
		}
		return -(1 << 20)
	}
	return o.Minor - v.Minor
}

// Running is what a cluster runs now; the zero value is a cluster not yet created.
type Running struct {
	// ControlPlane is the newest version the control plane runs or is rolling to (a
	// KubeadmControlPlane's spec.version once applied, or its status.version if newer).
	ControlPlane string
	// Workers are the versions the worker pools run (MachineDeployments' versions).
	Workers []string
}

// Desired is what Git asks for.
type Desired struct {
	// ControlPlane is the cluster's kubernetesVersion.
	ControlPlane string
	// Workers is the workers' version when Git sets it apart; empty means ControlPlane.
	Workers string
	// Chain lists the versions a jump of several minors may step through (the platform
	// team's list in Git); empty means no chained upgrade.
	Chain []string
}

// Refusal says which rule a change breaks, about which desired field, and why.
type Refusal struct {
	Rule  Rule
	Field Field
	// Index is the entry of FieldChain at fault, else -1.
	Index   int
	Message string
}

func (r *Refusal) Error() string { return fmt.Sprintf("%s (rule %s)", r.Message, r.Rule) }

// Decision is the outcome of Check: the control-plane versions to step through, or a refusal.
type Decision struct {
	// Steps are the control-plane versions in order, the desired one last; each step is one
	// control-plane rollout and then the workers. Empty when the control plane stays.
	Steps   []Version
	Refusal *Refusal
}

// Chained reports whether the change runs as more than one step.
func (d Decision) Chained() bool { return len(d.Steps) > 1 }

// StepStrings lists Steps as text.
func (d Decision) StepStrings() []string {
	out := make([]string, len(d.Steps))
	for i, s := range d.Steps {
		out[i] = s.String()
	}
	return out
}

func refuse(rule Rule, field Field, format string, args ...any) Decision {
	return Decision{Refusal: &Refusal{Rule: rule, Field: field, Index: -1, Message: fmt.Sprintf(format, args...)}}
}

// Check decides whether a cluster may go from what it runs to what Git asks for, and through
// which control-plane versions. A running version that does not parse is ignored (the caller
// reports what it read); a desired one is refused.
func Check(running Running, desired Desired) Decision {
	want, err := Parse(desired.ControlPlane)
	if err != nil {
		return refuse(RuleVersionFormat, FieldVersion, "kubernetesVersion %v", err)
	}
	workers := want
	if desired.Workers != "" {
		if workers, err = Parse(desired.Workers); err != nil {
			return refuse(RuleVersionFormat, FieldWorkerVersion, "workerKubernetesVersion %v", err)
		}
	}
	chain, refusal := parseChain(desired.Chain)
	if refusal != nil {
		return Decision{Refusal: refusal}
	}
	if d := checkSkew(want, workers); d != nil {
		return *d
	}

	current, err := Parse(running.ControlPlane)
	if err != nil { // not running yet (or unreadable): a new cluster starts where Git says
		return Decision{Steps: []Version{want}}
	}
	if want.Compare(current) < 0 {
		return refuse(RuleNoDowngrade, FieldVersion,
			"kubernetesVersion %s is older than %s, which the control plane runs: Kubernetes cannot downgrade a control plane (etcd and storage versions only move forward)",
			want, current)
	}
	// Workers move forward only too: a kubelet is not downgraded in place either.
	for _, w := range running.Workers {
		v, err := Parse(w)
		if err != nil || workers.Compare(v) >= 0 {
			continue
		}
		field, name := FieldVersion, "kubernetesVersion"
		if desired.Workers != "" {
			field, name = FieldWorkerVersion, "workerKubernetesVersion"
		}
		return refuse(RuleNoDowngrade, field, "%s %s is older than %s, which the workers run: workers are not downgraded either", name, workers, v)
	}

	if want.Compare(current) == 0 {
		return Decision{}
	}

	steps, d := stepsTo(current, want, chain, len(desired.Chain) > 0)
	if d != nil {
		return *d
	}
	// Workers move after each control-plane step, so only the first step meets the workers
	// as they run now.
	for _, w := range running.Workers {
		v, err := Parse(w)
		if err != nil {
			continue
		}
		if behind := v.minorsBehind(steps[0]); behind > MaxWorkerSkew {
			return refuse(RuleWorkerSkew, FieldVersion,
				"kubernetesVersion %s would put workers running %s %s behind the control plane: workers may be at most %d minors behind; upgrade the workers first",
				steps[0], v, minorsText(behind), MaxWorkerSkew)
		}
	}
	return Decision{Steps: steps}
}

// CheckDesired applies the rules that Git alone can show: well-formed versions and workers
// neither newer than nor too far behind their control plane.
func CheckDesired(desired Desired) *Refusal {
	return Check(Running{}, desired).Refusal
}

func checkSkew(controlPlane, workers Version) *Decision {
	if workers.Compare(controlPlane) > 0 {
		d := refuse(RuleWorkersNotNewer, FieldWorkerVersion,
			"workerKubernetesVersion %s is newer than the control plane's %s: workers never run a newer Kubernetes than their control plane",
			workers, controlPlane)
		return &d
	}
	if behind := workers.minorsBehind(controlPlane); behind > MaxWorkerSkew {
		d := refuse(RuleWorkerSkew, FieldWorkerVersion,
			"workerKubernetesVersion %s is %s behind the control plane's %s: workers may be at most %d minors behind",
			workers, minorsText(behind), controlPlane, MaxWorkerSkew)
		return &d
	}
	return nil
}

func minorsText(n int) string {
	if n >= 1<<20 {
		return "a major version"
	}
	if n == 1 {
		return "1 minor"
	}
	return fmt.Sprintf("%d minors", n)
}

func parseChain(list []string) ([]Version, *Refusal) {
	out := make([]Version, 0, len(list))
	for i, s := range list {
		v, err := Parse(s)
		if err != nil {
			return nil, &Refusal{Rule: RuleVersionFormat, Field: FieldChain, Index: i, Message: fmt.Sprintf("kubernetesVersions[%d] %v", i, err)}
		}
		out = append(out, v)
	}
	return out, nil
}

// stepsTo lists the control-plane versions from current (excluded) to want (included): one
// per minor, the highest listed patch of each intermediate minor.
func stepsTo(current, want Version, chain []Version, haveList bool) ([]Version, *Decision) {
	if want.Major != current.Major {
		d := refuse(RuleNoMinorSkip, FieldVersion,
			"kubernetesVersion %s changes the major version from %s: Kubernetes upgrades one minor at a time within a major", want, current)
		return nil, &d
	}
	var missing []string
	var out []Version
	for minor := current.Minor + 1; minor < want.Minor; minor++ {
		best, found := Version{}, false
		for _, v := range chain {
			if v.Major == want.Major && v.Minor == minor && (!found || v.Compare(best) > 0) {
				best, found = v, true
			}
		}
		if !found {
			missing = append(missing, Version{Major: want.Major, Minor: minor}.MinorString())
			continue
		}
		out = append(out, best)
	}
	if len(missing) > 0 {
		if !haveList {
			d := refuse(RuleNoMinorSkip, FieldVersion,
				"kubernetesVersion %s skips %s from %s, which the control plane runs: Kubernetes upgrades one minor at a time; list a version of each skipped minor in kubernetesVersions to upgrade in steps",
				want, minorList(missing), current)
			return nil, &d
		}
		d := refuse(RuleMissingIntermediateMinor, FieldChain,
			"kubernetesVersion %s from %s needs a step through %s, but kubernetesVersions lists no version of %s",
			want, current, minorList(missing), minorList(missing))
		return nil, &d
	}
	return append(out, want), nil
}

// minorList reads "v1.36" or "v1.36 and v1.37" or "v1.35, v1.36 and v1.37".
func minorList(minors []string) string {
	if len(minors) == 1 {
		return "minor " + minors[0]
	}
	return "minors " + strings.Join(minors[:len(minors)-1], ", ") + " and " + minors[len(minors)-1]
}
