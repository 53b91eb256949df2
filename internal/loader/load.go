package loader

import (
	"encoding/json"
	"sort"

	"sigs.k8s.io/controller-runtime/pkg/client"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

// Load reads an in-memory tree: files maps slash-separated paths, relative to the tree's root,
// to their contents. Only YAML files outside hidden directories are read, as LoadDir does.
// It returns the whole set, or an ErrorList with every problem of the tree (never both):
// a fleet is applied all or nothing.
func Load(files map[string][]byte, opts Options) (*Set, error) {
	names := make([]string, 0, len(files))
	for name := range files {
		if isFleetFile(name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)

	l := newLoading(opts)
	for _, name := range names {
		l.file(name, files[name])
	}
	return l.result()
}

// loading is the state of one Load: the documents kept so far and the problems found.
type loading struct {
	opts Options
	errs ErrorList
	set  Set
	seen map[objectKey]Origin // where each object was first declared
	// hold, when set, takes each document instead of keep (a Cache parsing one file).
	hold func(heldDoc)
}

func newLoading(opts Options) *loading {
	if opts.DefaultNamespace == "" {
		opts.DefaultNamespace = "default"
	}
	return &loading{opts: opts, seen: map[objectKey]Origin{}}
}

func (l *loading) file(name string, data []byte) {
	for _, doc := range splitDocuments(name, data, &l.errs) {
		l.document(doc)
	}
}

// document takes one YAML document through the stages: classify, lift, normalize, check
// against the schema, decode, place in a namespace, validate, and keep.
func (l *loading) document(doc rawDoc) {
	key, ok := classify(doc, &l.errs)
	if !ok {
		return
	}
	origin := &Origin{Fields: map[string]Position{}, Written: map[string]string{}}
	d := &docErrors{errs: &l.errs, kind: key.kind, name: documentName(doc.root), origin: origin}

	lift := newLifter(doc.file, &l.errs, d.kind, d.name)
	start := Position{File: doc.file, Line: doc.root.Line, Column: doc.root.Column}
	root := lift.lift(doc.root, start, "")
	if root == nil {
		return
	}
	origin.Pos = start
	normalize(d, key, root)

	plain, ok := (&checker{docErrors: d, origin: origin}).value(schemas[key], root, "")
	if !ok {
		return
	}
	obj, err := decodeObject(key, plain)
	if err != nil {
		d.at("", "cannot decode the document: %v", err)
		return
	}
	l.placeInNamespace(d, obj)
	validator{d}.object(obj)
	if l.hold != nil {
		l.hold(heldDoc{key: key, obj: obj, kind: d.kind, name: d.name, origin: origin})
		return
	}
	l.keep(d, key, obj)
}

// object validates a document on its own.
func (v validator) object(obj client.Object) {
	switch o := obj.(type) {
	case *automationv1alpha1.InfrastructureProfile:
		v.profile(o)
	case *automationv1alpha1.ClusterCatalog:
		v.catalog(o)
	case *automationv1alpha1.Cluster:
		v.cluster(o)
	case *intentv1.LogicalCluster:
		v.logicalCluster(o)
	case *automationv1alpha1.Fleet:
		v.fleet(o)
	}
}

// heldDoc is a valid-on-its-own document not yet in a set (see Cache).
type heldDoc struct {
	key        kindKey
	obj        client.Object
	kind, name string
	origin     *Origin
}

// keep adds a document to the set, checking that no other document declares it.
func (l *loading) keep(d *docErrors, key kindKey, obj client.Object) {
	origin := d.origin
	switch o := obj.(type) {
	case *automationv1alpha1.InfrastructureProfile:
		l.set.Profiles = append(l.set.Profiles, Doc[*automationv1alpha1.InfrastructureProfile]{Object: o, Origin: *origin})
	case *automationv1alpha1.ClusterCatalog:
		l.set.Catalogs = append(l.set.Catalogs, Doc[*automationv1alpha1.ClusterCatalog]{Object: o, Origin: *origin})
	case *automationv1alpha1.Cluster:
		l.set.Clusters = append(l.set.Clusters, Doc[*automationv1alpha1.Cluster]{Object: o, Origin: *origin})
	case *intentv1.LogicalCluster:
		l.set.LogicalClusters = append(l.set.LogicalClusters, Doc[*intentv1.LogicalCluster]{Object: o, Origin: *origin})
	case *automationv1alpha1.Fleet:
		l.set.Fleets = append(l.set.Fleets, Doc[*automationv1alpha1.Fleet]{Object: o, Origin: *origin})
	}
	l.checkUnique(d, key, obj)
}

// decodeObject turns the checked plain value into the API type. The schema check has already
// refused every value the decoder could choke on.
func decodeObject(key kindKey, plain any) (client.Object, error) {
	var obj client.Object
	switch key {
	case profileKey:
		obj = &automationv1alpha1.InfrastructureProfile{}
	case catalogKey:
		obj = &automationv1alpha1.ClusterCatalog{}
	case clusterKey:
		obj = &automationv1alpha1.Cluster{}
	case fleetKey:
		obj = &automationv1alpha1.Fleet{}
	case logicalClusterKey:
		obj = &intentv1.LogicalCluster{}
	}
	data, err := json.Marshal(plain)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// placeInNamespace gives a document without a namespace the Fleet's, or the default one; under
// a Fleet, another namespace is refused.
func (l *loading) placeInNamespace(d *docErrors, obj client.Object) {
	ns := obj.GetNamespace()
	switch {
	case ns == "" && l.opts.FleetNamespace != "":
		obj.SetNamespace(l.opts.FleetNamespace)
	case ns == "":
		obj.SetNamespace(l.opts.DefaultNamespace)
	case l.opts.FleetNamespace != "" && ns != l.opts.FleetNamespace:
		d.at("metadata.namespace", "namespace %q: a Fleet may only write into its own namespace %s; remove metadata.namespace or set it to %s",
			ns, l.opts.FleetNamespace, l.opts.FleetNamespace)
	}
}

// result sorts what was kept and returns it, or the problems.
func (l *loading) result() (*Set, error) {
	if len(l.errs) > 0 {
		l.errs.Sort()
		return nil, l.errs
	}
	sortDocs(l.set.Profiles)
	sortDocs(l.set.Catalogs)
	sortDocs(l.set.Clusters)
	sortDocs(l.set.LogicalClusters)
	sortDocs(l.set.Fleets)
	return &l.set, nil
}

func sortDocs[T client.Object](docs []Doc[T]) {
	sort.SliceStable(docs, func(i, j int) bool {
		a, b := docs[i].Object, docs[j].Object
		if a.GetNamespace() != b.GetNamespace() {
			return a.GetNamespace() < b.GetNamespace()
		}
		return a.GetName() < b.GetName()
	})
}
