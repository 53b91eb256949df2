package resolve

// # Revisions
//
// A profile is one object per (namespace, spec.profileName, spec.type, spec.revision); the
// revision is a semantic version ("1.0.0", a leading "v" is allowed and ignored when
// comparing). A reference's revision is read in one of two ways:
//
//   - exact: a full version (MAJOR.MINOR.PATCH with optional pre-release and build). The
//     profile whose revision equals it, as a version, is taken: "v1.0.0" finds "1.0.0".
//   - range: anything else that github.com/Masterminds/semver/v3 parses as a constraint, e.g.
//     ">=1.0.0 <2.0.0" (space or comma means "and"), "~1.2" (>=1.2.0 <1.3.0), "^1"
//     (>=1.0.0 <2.0.0), "1.x", "a || b". The highest matching revision is taken. As in that
//     library, pre-release revisions match only ranges that name a pre-release themselves.
//
// A short version such as "1" or "1.2" is a range, not an exact revision.
//
// # Namespaces
//
// A reference without a namespace is looked up in the referrer's namespace, then in the
// shared profile namespaces in order (Options.SharedProfileNamespaces, default ["default"]);
// the first namespace that holds a matching revision wins, so a tenant's own revision shadows
// a shared one. A reference with a namespace must name the referrer's namespace or a shared
// one: tenants use their own profiles and the administrators' shared ones, nothing else. The
// referrer of a parent reference is the child profile.
//
// # Values and precedence
//
// Along a parent chain the child's values win over the parent's: maps merge key by key at
// every depth, while lists and scalars are replaced whole; a null removes the inherited key.
// The template or ClusterClass of a chain is the one named by the nearest profile (child
// first) that names either. For a cluster, lowest to highest precedence:
//
//	infrastructure profile chain < recipe infrastructure.override < Cluster/member spec.override
//	add-on profile chain < the add-on's override
//
// where the recipe is the catalog's (spec.clusterCatalog, in the cluster's namespace) with
// each inline part (infrastructure, network, software) replacing the catalog's part whole.
// Numbers in values stay json.Number, so integers and their spelling survive untouched.
//
// # Well-known values
//
// From the final infrastructure values: kubernetesVersion (required, vMAJOR.MINOR.PATCH),
// controlPlaneMachineCount (default 1) and workerMachineCount (default 0), both non-negative
// integers, or instead of workerMachineCount the cluster autoscaler's range
// workerMachineMinCount ≤ workerMachineMaxCount (both needed; the highest layer that sets
// any of the three worker keys decides, and one layer may not set a count and a range), controlplaneFlavor (or controlPlaneFlavor) and workerFlavor. podCIDR and
// serviceCIDR (a CIDR or a list of them) come from the network add-on's values, else from the
// infrastructure values. Each problem is reported at the document and field that set the value.
