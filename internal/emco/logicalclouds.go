package emco

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
)

func lcPath(project string, rest ...string) string {
	return p(append([]string{"projects", project, "logical-clouds"}, rest...)...)
}

// GetLogicalCloud reads a logical cloud (404 when absent).
func (c *Client) GetLogicalCloud(ctx context.Context, project, name string) (*LogicalCloud, error) {
	var out LogicalCloud
	if err := c.getJSON(ctx, DCM, lcPath(project, name), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListLogicalClouds lists a project's logical clouds; dcm answers null for none.
func (c *Client) ListLogicalClouds(ctx context.Context, project string) ([]LogicalCloud, error) {
	var out []LogicalCloud
	return out, c.getJSON(ctx, DCM, lcPath(project), nil, &out)
}

// CreateLogicalCloud creates a logical cloud (404 without the project, 409 when it exists).
func (c *Client) CreateLogicalCloud(ctx context.Context, project string, lc LogicalCloud) error {
	return c.sendJSON(ctx, DCM, http.MethodPost, lcPath(project), lc, nil)
}

// EnsureLogicalCloud makes the logical cloud exist with lc's metadata and spec.
// Level "" means "1", as in dcm. A level change is refused (ErrLevelChange).
// Other differences are written with PUT, which only changes dcm's record: an
// instantiated cloud picks them up on its next terminate and instantiate.
// For level 0 the namespace is not compared: dcm writes it at instantiate.
func (c *Client) EnsureLogicalCloud(ctx context.Context, project string, lc LogicalCloud) (Change, error) {
	if lc.Spec.Level == "" {
		lc.Spec.Level = LevelStandard
	}
	current, err := c.GetLogicalCloud(ctx, project, lc.Metadata.Name)
	switch {
	case IsNotFound(err):
		return created(c.CreateLogicalCloud(ctx, project, lc))
	case err != nil:
		return Unchanged, err
	}
	have := current.Spec
	if have.Level == "" {
		have.Level = LevelStandard
	}
	if have.Level != lc.Spec.Level {
		return Unchanged, fmt.Errorf("%w: %s/%s is level %s, wanted %s", ErrLevelChange, project, lc.Metadata.Name, have.Level, lc.Spec.Level)
	}
	if lc.Spec.Level == LevelAdmin {
		lc.Spec.Namespace = have.Namespace
	}
	if current.Metadata == lc.Metadata && have.Namespace == lc.Spec.Namespace && have.User == lc.Spec.User &&
		maps.Equal(have.Labels, lc.Spec.Labels) {
		return Unchanged, nil
	}
	return Updated, c.sendJSON(ctx, DCM, http.MethodPut, lcPath(project, lc.Metadata.Name), lc, nil)
}

// ListClusterReferences lists a logical cloud's references. dcm answers 400
// "No Cluster References associated" instead of an empty list; that is mapped to nil.
func (c *Client) ListClusterReferences(ctx context.Context, project, lc string) ([]ClusterReference, error) {
	var out []ClusterReference
	err := c.getJSON(ctx, DCM, lcPath(project, lc, "cluster-references"), nil, &out)
	if isNoClusterReferences(err) {
		return nil, nil
	}
	return out, err
}

// GetClusterReference reads one reference.
func (c *Client) GetClusterReference(ctx context.Context, project, lc, name string) (*ClusterReference, error) {
	var out ClusterReference
	if err := c.getJSON(ctx, DCM, lcPath(project, lc, "cluster-references", name), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateClusterReference adds a cluster to a logical cloud. dcm accepts a
// reference to a cluster clm does not know; the failure shows at instantiate.
func (c *Client) CreateClusterReference(ctx context.Context, project, lc string, ref ClusterReference) error {
	return c.sendJSON(ctx, DCM, http.MethodPost, lcPath(project, lc, "cluster-references"), ref, nil)
}

// DeleteClusterReference removes a reference; a missing one is not an error.
// On an instantiated cloud the change takes effect with UpdateLogicalCloud.
func (c *Client) DeleteClusterReference(ctx context.Context, project, lc, name string) error {
	return ignoreNotFound(c.delete(ctx, DCM, lcPath(project, lc, "cluster-references", name)))
}

// EnsureClusterReferences makes the logical cloud reference exactly want.
// References are added before any is removed, so an instantiated cloud never
// passes through "no references" on the way; emptying an instantiated cloud is
// refused with ErrWouldStrandLogicalCloud. dcm has no PUT for references: a
// changed one is deleted and re-created. Deploy the change with
// EnsureLogicalCloudDeployed.
func (c *Client) EnsureClusterReferences(ctx context.Context, project, lc string, want []ClusterReference) (Change, error) {
	have, err := c.ListClusterReferences(ctx, project, lc)
	if err != nil {
		return Unchanged, err
	}
	if len(want) == 0 && len(have) > 0 {
		st, err := c.LogicalCloudStatus(ctx, project, lc)
		if err != nil {
			return Unchanged, err
		}
		if st.IsInstantiated() {
			return Unchanged, fmt.Errorf("%w: %s/%s", ErrWouldStrandLogicalCloud, project, lc)
		}
	}
	byName := make(map[string]ClusterReference, len(have))
	for _, r := range have {
		byName[r.Metadata.Name] = r
	}
	change := Unchanged
	var replace []ClusterReference
	for _, r := range want {
		current, ok := byName[r.Metadata.Name]
		switch {
		case !ok:
			if err := c.createReference(ctx, project, lc, r); err != nil {
				return change, err
			}
			change = Updated
		case !sameReference(current, r):
			replace = append(replace, r)
		}
	}
	for _, r := range replace {
		if err := c.DeleteClusterReference(ctx, project, lc, r.Metadata.Name); err != nil {
			return change, busyIfConflict(err)
		}
		change = Updated
		if err := c.createReference(ctx, project, lc, r); err != nil {
			return change, err
		}
	}
	for _, r := range have {
		if slices.ContainsFunc(want, func(w ClusterReference) bool { return w.Metadata.Name == r.Metadata.Name }) {
			continue
		}
		if err := c.DeleteClusterReference(ctx, project, lc, r.Metadata.Name); err != nil {
			return change, busyIfConflict(err)
		}
		change = Updated
	}
	return change, nil
}

// createReference treats 409 as success only when the stored reference is the
// wanted one; dcm also answers 409 while the cloud is instantiating or terminating.
func (c *Client) createReference(ctx context.Context, project, lc string, ref ClusterReference) error {
	err := c.CreateClusterReference(ctx, project, lc, ref)
	if !IsConflict(err) {
		return err
	}
	if current, getErr := c.GetClusterReference(ctx, project, lc, ref.Metadata.Name); getErr == nil && sameReference(*current, ref) {
		return nil
	}
	return busyIfConflict(err)
}

func sameReference(a, b ClusterReference) bool {
	return a.Spec.ClusterProvider == b.Spec.ClusterProvider && a.Spec.Cluster == b.Spec.Cluster &&
		a.Spec.LoadBalancerIP == b.Spec.LoadBalancerIP
}

// busyIfConflict marks a 409 from a reference write as "the cloud is busy".
func busyIfConflict(err error) error {
	if IsConflict(err) {
		return fmt.Errorf("%w: %w", ErrLogicalCloudBusy, err)
	}
	return err
}

// ListUserPermissions lists a logical cloud's user permissions.
func (c *Client) ListUserPermissions(ctx context.Context, project, lc string) ([]UserPermission, error) {
	var out []UserPermission
	return out, c.getJSON(ctx, DCM, lcPath(project, lc, "user-permissions"), nil, &out)
}

// CreateUserPermission adds a user permission (409 when it exists). A nil
// list is sent as []: dcm refuses null for apiGroups, resources and verbs (400).
func (c *Client) CreateUserPermission(ctx context.Context, project, lc string, perm UserPermission) error {
	for _, list := range []*[]string{&perm.Spec.APIGroups, &perm.Spec.Resources, &perm.Spec.Verbs} {
		if *list == nil {
			*list = []string{}
		}
	}
	return c.sendJSON(ctx, DCM, http.MethodPost, lcPath(project, lc, "user-permissions"), perm, nil)
}

// DeleteUserPermission removes a user permission; a missing one is not an error.
func (c *Client) DeleteUserPermission(ctx context.Context, project, lc, name string) error {
	return ignoreNotFound(c.delete(ctx, DCM, lcPath(project, lc, "user-permissions", name)))
}

// EnsureUserPermissions makes a level-1 logical cloud carry exactly want. dcm
// has no PUT for permissions: a changed one is deleted and re-created.
// Level-1 clouds need one permission in their own namespace to instantiate.
func (c *Client) EnsureUserPermissions(ctx context.Context, project, lc string, want []UserPermission) (Change, error) {
	have, err := c.ListUserPermissions(ctx, project, lc)
	if err != nil {
		return Unchanged, err
	}
	change := Unchanged
	for _, w := range want {
		i := slices.IndexFunc(have, func(h UserPermission) bool { return h.Metadata.Name == w.Metadata.Name })
		if i >= 0 && samePermission(have[i], w) {
			continue
		}
		if i >= 0 {
			if err := c.DeleteUserPermission(ctx, project, lc, w.Metadata.Name); err != nil {
				return change, err
			}
		}
		if err := c.CreateUserPermission(ctx, project, lc, w); err != nil && !IsConflict(err) {
			return change, err
		}
		change = Updated
	}
	for _, h := range have {
		if slices.ContainsFunc(want, func(w UserPermission) bool { return w.Metadata.Name == h.Metadata.Name }) {
			continue
		}
		if err := c.DeleteUserPermission(ctx, project, lc, h.Metadata.Name); err != nil {
			return change, err
		}
		change = Updated
	}
	return change, nil
}

func samePermission(a, b UserPermission) bool {
	return a.Metadata == b.Metadata && a.Spec.Namespace == b.Spec.Namespace &&
		slices.Equal(a.Spec.APIGroups, b.Spec.APIGroups) && slices.Equal(a.Spec.Resources, b.Spec.Resources) &&
		slices.Equal(a.Spec.Verbs, b.Spec.Verbs)
}
