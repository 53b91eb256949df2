package plan

import (
	"sort"

	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

// logicalClusterChanges reports, per logical cluster, members that join or leave and the
// waves in which changed members roll (lower waves first; within a wave, at most
// maxUnavailable members change at once).
func logicalClusterChanges(base, head []*intentv1.LogicalCluster, changedClusters map[string]bool) []LogicalClusterChange {
	bs, hs := indexLogicalClusters(base), indexLogicalClusters(head)
	var out []LogicalClusterChange
	for _, key := range unionKeys(bs, hs) {
		b, h := bs[key], hs[key]
		switch {
		case b == nil:
			out = append(out, LogicalClusterChange{Namespace: h.Namespace, Name: h.Name, Action: Added,
				MembersAdded: memberNames(h), Waves: waves(h, nil), MaxUnavailable: maxUnavailable(h)})
		case h == nil:
			out = append(out, LogicalClusterChange{Namespace: b.Namespace, Name: b.Name, Action: Removed,
				MembersRemoved: memberNames(b)})
		default:
			added, removed := membershipDelta(b, h)
			changed := waves(h, func(member string) bool { return changedClusters[h.Namespace+"/"+member] })
			if len(added) == 0 && len(removed) == 0 && len(changed) == 0 {
				continue
			}
			out = append(out, LogicalClusterChange{Namespace: h.Namespace, Name: h.Name, Action: Changed,
				MembersAdded: added, MembersRemoved: removed, Waves: changed, MaxUnavailable: maxUnavailable(h)})
		}
	}
	return out
}

func indexLogicalClusters(lcs []*intentv1.LogicalCluster) map[string]*intentv1.LogicalCluster {
	m := make(map[string]*intentv1.LogicalCluster, len(lcs))
	for _, lc := range lcs {
		m[lc.Namespace+"/"+lc.Name] = lc
	}
	return m
}

func memberNames(lc *intentv1.LogicalCluster) []string {
	names := make([]string, len(lc.Spec.Clusters))
	for i, m := range lc.Spec.Clusters {
		names[i] = m.Name
	}
	return names
}

func membershipDelta(b, h *intentv1.LogicalCluster) (added, removed []string) {
	inBase, inHead := map[string]bool{}, map[string]bool{}
	for _, n := range memberNames(b) {
		inBase[n] = true
	}
	for _, n := range memberNames(h) {
		inHead[n] = true
		if !inBase[n] {
			added = append(added, n)
		}
	}
	for _, n := range memberNames(b) {
		if !inHead[n] {
			removed = append(removed, n)
		}
	}
	return added, removed
}

// waves groups the members that match (all when match is nil) by wave, in spec order within
// a wave, lowest wave first.
func waves(lc *intentv1.LogicalCluster, match func(member string) bool) []Wave {
	byWave := map[int32][]string{}
	for _, m := range lc.Spec.Clusters {
		if match == nil || match(m.Name) {
			byWave[m.Wave] = append(byWave[m.Wave], m.Name)
		}
	}
	out := make([]Wave, 0, len(byWave))
	for w, members := range byWave {
		out = append(out, Wave{Wave: w, Members: members})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Wave < out[j].Wave })
	return out
}

func maxUnavailable(lc *intentv1.LogicalCluster) string {
	if lc.Spec.Rollout == nil || lc.Spec.Rollout.MaxUnavailable == nil {
		return "1"
	}
	return lc.Spec.Rollout.MaxUnavailable.String()
}
