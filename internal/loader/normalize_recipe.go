package loader

// normalizeRecipe turns the recipe shapes of the seed into the canonical ClusterRecipe, in m
// (a catalog's or cluster's spec, or a logical-cluster member):
//   - infrastructure: {spec: {provider, profile, override}}, the cluster-sample's form;
//   - infrastructure: {spec: {provider: {name, profile, override}}}, the catalogs' form;
//   - network under infrastructure.spec, and software under network.spec (the catalogs);
//   - software items written {name, profile: <name>, type, revision}.
func normalizeRecipe(d *docErrors, m *node) {
	var nestedNetwork, nestedSoftware *node
	infra := m.get("infrastructure")
	if infra.isMap() {
		unwrapSpec(d, infra)
		if p := infra.get("provider"); p.isMap() {
			liftProvider(d, infra, p)
		}
		nestedNetwork = infra.take("network")
		nestedSoftware = infra.take("software")
		normalizeReference(d, infra)
	}
	if nestedNetwork != nil {
		moveInto(d, m, "network", nestedNetwork)
	}
	if network := m.get("network"); network.isMap() {
		unwrapSpec(d, network)
		if sw := network.take("software"); sw != nil {
			if nestedSoftware != nil {
				d.atNode(sw, "software is given twice, here and at line %d (%s); keep one", nestedSoftware.at.Line, nestedSoftware.path)
			} else {
				nestedSoftware = sw
			}
		}
		normalizeReference(d, network)
	}
	if nestedSoftware != nil {
		moveInto(d, m, "software", nestedSoftware)
	}
	if software := m.get("software"); software.isSeq() {
		for _, item := range software.items {
			if item.isMap() {
				unwrapSpec(d, item)
				normalizeReference(d, item)
			}
		}
	}
}

// liftProvider turns the catalogs' provider: {name, profile, override} into the canonical
// provider: <name> with profile and override beside it.
func liftProvider(d *docErrors, infra, provider *node) {
	name := provider.take("name")
	moveAll(d, provider, infra, "profile", "override")
	for i, k := range provider.keys {
		d.atNode(provider.vals[i], "unknown field %q%s; accepted: name, override, profile", k, didYouMean(k, []string{"name", "override", "profile"}))
	}
	infra.take("provider")
	if name != nil {
		infra.set("provider", name)
	}
}

// normalizeReference completes the profile reference of a recipe part: the seed writes a
// software profile as "profile: <name>" with type and revision beside it; "ApplicationTemplate"
// reads as Software.
func normalizeReference(d *docErrors, holder *node) {
	p := holder.get("profile")
	switch {
	case p.isScalar() && !p.isNull():
		ref := newMap(p)
		ref.set("name", p)
		for _, k := range []string{"type", "revision", "namespace"} {
			if v := holder.take(k); v != nil {
				ref.set(k, v)
			}
		}
		holder.set("profile", ref)
		canonicalType(ref.get("type"))
	case p.isMap():
		canonicalType(p.get("type"))
	}
}

// normalizeLogicalCluster moves the tenant (metadata.tenant, or the seed's "tenant" label) to
// spec.tenant and turns each member into the canonical shape.
func normalizeLogicalCluster(d *docErrors, meta, spec *node) {
	moveAll(d, meta, spec, "tenant")
	if labels := meta.get("labels"); labels.isMap() {
		if t := labels.get("tenant"); t.isScalar() && !t.isNull() {
			if existing := spec.get("tenant"); existing == nil {
				spec.set("tenant", copyScalar(t))
			} else if existing.str() != t.value {
				d.atNode(existing, "tenant %q differs from the tenant label %q (line %d); make them equal", existing.str(), t.value, t.at.Line)
			}
		}
	}
	if clusters := spec.get("clusters"); clusters.isSeq() {
		for _, item := range clusters.items {
			normalizeMember(d, item)
		}
	}
}

// normalizeMember turns "- cluster: {name, metadata: {labels, spec}, spec: {clustercatalog}}"
// into {name, labels, clusterCatalog, …}. The seed writes spec under the member's metadata;
// that is read like spec under the member.
func normalizeMember(d *docErrors, m *node) {
	if !m.isMap() {
		return
	}
	if c := m.take("cluster"); c != nil {
		if !c.isMap() {
			d.atValue(c, "must be a map with the member's name, metadata and spec, not %s", c.describe())
		} else {
			for i, k := range c.keys {
				moveInto(d, m, k, c.vals[i])
			}
		}
	}
	var specs []*node
	if s := m.take("spec"); s != nil {
		specs = append(specs, s)
	}
	if md := m.take("metadata"); md != nil {
		switch {
		case md.isNull():
		case !md.isMap():
			d.atValue(md, "must be a map with labels, not %s", md.describe())
		default:
			for i, k := range md.keys {
				switch v := md.vals[i]; k {
				case "labels", "name":
					moveInto(d, m, k, v)
				case "spec":
					specs = append(specs, v)
				default:
					d.atNode(v, "unknown field %q in a member's metadata%s; accepted: labels, name, spec", k, didYouMean(k, []string{"labels", "name", "spec"}))
				}
			}
		}
	}
	for _, s := range specs {
		switch {
		case s.isNull():
		case !s.isMap():
			d.atValue(s, "must be a map, not %s", s.describe())
		default:
			for i, k := range s.keys {
				moveInto(d, m, k, s.vals[i])
			}
		}
	}
	foldKey(d, m, "clusterCatalog")
	normalizeRecipe(d, m)
	normalizeExisting(d, m)
}
