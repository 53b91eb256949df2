package emco

import (
	"context"
	"net/http"
)

// GetProject reads a project (404 when absent).
func (c *Client) GetProject(ctx context.Context, name string) (*Project, error) {
	var out Project
	if err := c.getJSON(ctx, Orchestrator, p("projects", name), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListProjects lists projects; EMCO answers null when there are none.
func (c *Client) ListProjects(ctx context.Context) ([]Project, error) {
	var out []Project
	return out, c.getJSON(ctx, Orchestrator, p("projects"), nil, &out)
}

// CreateProject creates a project (409 when it exists).
func (c *Client) CreateProject(ctx context.Context, project Project) error {
	return c.sendJSON(ctx, Orchestrator, http.MethodPost, p("projects"), project, nil)
}

// DeleteProject deletes a project; EMCO refuses (409) while logical clouds remain.
func (c *Client) DeleteProject(ctx context.Context, name string) error {
	return c.delete(ctx, Orchestrator, p("projects", name))
}

// EnsureProject makes the project exist with the given metadata.
func (c *Client) EnsureProject(ctx context.Context, project Project) (Change, error) {
	name := project.Metadata.Name
	current, err := c.GetProject(ctx, name)
	switch {
	case IsNotFound(err):
		return created(c.CreateProject(ctx, project))
	case err != nil:
		return Unchanged, err
	case current.Metadata == project.Metadata:
		return Unchanged, nil
	}
	return Updated, c.sendJSON(ctx, Orchestrator, http.MethodPut, p("projects", name), project, nil)
}

// GetController reads an orchestrator controller entry.
func (c *Client) GetController(ctx context.Context, name string) (*Controller, error) {
	var out Controller
	if err := c.getJSON(ctx, Orchestrator, p("controllers", name), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteController removes an orchestrator controller entry.
func (c *Client) DeleteController(ctx context.Context, name string) error {
	return c.delete(ctx, Orchestrator, p("controllers", name))
}

// EnsureRsyncController registers rsync's gRPC endpoint under the name dcm
// looks for; without it every instantiate fails with 500.
func (c *Client) EnsureRsyncController(ctx context.Context, host string, port int) (Change, error) {
	if port == 0 {
		port = RsyncDefaultPort
	}
	want := Controller{Metadata: Metadata{Name: RsyncControllerName}, Spec: ControllerSpec{Host: host, Port: port}}
	current, err := c.GetController(ctx, RsyncControllerName)
	switch {
	case IsNotFound(err):
		return created(c.sendJSON(ctx, Orchestrator, http.MethodPost, p("controllers"), want, nil))
	case err != nil:
		return Unchanged, err
	case current.Spec.Host == host && current.Spec.Port == port:
		return Unchanged, nil
	}
	return Updated, c.sendJSON(ctx, Orchestrator, http.MethodPut, p("controllers", RsyncControllerName), want, nil)
}

// created turns the outcome of a POST into a Change: 409 means another writer
// created it first (contract §7: "409 ⇒ exists, fine").
func created(err error) (Change, error) {
	switch {
	case err == nil:
		return Created, nil
	case IsConflict(err):
		return Unchanged, nil
	}
	return Unchanged, err
}
