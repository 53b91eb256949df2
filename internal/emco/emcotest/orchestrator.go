package emcotest

import (
	"net/http"
	"slices"
)

func (e *Emulator) findProject(name string) *projectEntry {
	i := slices.IndexFunc(e.projects, func(p *projectEntry) bool { return p.body.Metadata.Name == name })
	if i < 0 {
		return nil
	}
	return e.projects[i]
}

func (e *Emulator) listProjects(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	var out []project // nil: EMCO answers null when there are no projects
	for _, p := range e.projects {
		out = append(out, p.body)
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) createProject(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	var body project
	if !decodeBody(w, r, &body, msgEmptyBody) {
		return
	}
	var s schema
	s.metadata(body.Metadata)
	if !s.check(w) {
		return
	}
	if e.findProject(body.Metadata.Name) != nil {
		fail(w, http.StatusConflict, "Project already exists")
		return
	}
	e.projects = append(e.projects, &projectEntry{body: body})
	writeJSON(w, http.StatusCreated, body)
}

func (e *Emulator) getProject(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	p := e.findProject(v["project"])
	if p == nil {
		fail(w, http.StatusNotFound, "Project not found")
		return
	}
	writeJSON(w, http.StatusOK, p.body)
}

// putProject is an upsert answering 200; PUT skips schema validation in EMCO.
func (e *Emulator) putProject(w http.ResponseWriter, r *http.Request, v map[string]string) {
	var body project
	if !decodeBody(w, r, &body, msgEmptyBody) {
		return
	}
	if body.Metadata.Name != v["project"] {
		fail(w, http.StatusBadRequest, msgMismatchedName)
		return
	}
	if p := e.findProject(body.Metadata.Name); p != nil {
		p.body = body
	} else {
		e.projects = append(e.projects, &projectEntry{body: body})
	}
	writeJSON(w, http.StatusOK, body)
}

func (e *Emulator) deleteProject(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	p := e.findProject(v["project"])
	switch {
	case p == nil:
		// The handler reads the project first, so not the generic "requested resource" text.
		fail(w, http.StatusNotFound, "Project not found")
	case len(p.clouds) > 0:
		fail(w, http.StatusConflict, msgHasChildren)
	default:
		e.projects = slices.DeleteFunc(e.projects, func(x *projectEntry) bool { return x == p })
		w.WriteHeader(http.StatusNoContent)
	}
}

func (e *Emulator) findController(name string) *controller {
	i := slices.IndexFunc(e.controllers, func(c *controller) bool { return c.Metadata.Name == name })
	if i < 0 {
		return nil
	}
	return e.controllers[i]
}

func (e *Emulator) listControllers(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	out := []controller{}
	for _, c := range e.controllers {
		out = append(out, *c)
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) validController(w http.ResponseWriter, c controller) bool {
	var s schema
	s.metadata(c.Metadata)
	if c.Spec.Host == "" {
		s = append(s, "host is required")
	}
	if c.Spec.Port == 0 {
		s = append(s, "port is required")
	}
	return s.check(w)
}

func (e *Emulator) createController(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	var body controller
	if !decodeBody(w, r, &body, msgEmptyBody) || !e.validController(w, body) {
		return
	}
	if e.findController(body.Metadata.Name) != nil {
		fail(w, http.StatusConflict, "Controller already exists")
		return
	}
	e.controllers = append(e.controllers, &body)
	writeJSON(w, http.StatusCreated, body)
}

func (e *Emulator) getController(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	c := e.findController(v["name"])
	if c == nil {
		fail(w, http.StatusNotFound, "Controller not found")
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (e *Emulator) putController(w http.ResponseWriter, r *http.Request, v map[string]string) {
	var body controller
	if !decodeBody(w, r, &body, msgEmptyBody) {
		return
	}
	if body.Metadata.Name != v["name"] {
		fail(w, http.StatusBadRequest, msgMismatchedName)
		return
	}
	if !e.validController(w, body) {
		return
	}
	if c := e.findController(body.Metadata.Name); c != nil {
		*c = body
	} else {
		e.controllers = append(e.controllers, &body)
	}
	writeJSON(w, http.StatusCreated, body)
}

func (e *Emulator) deleteController(w http.ResponseWriter, _ *http.Request, v map[string]string) {
	c := e.findController(v["name"])
	if c == nil {
		fail(w, http.StatusNotFound, "Controller not found")
		return
	}
	e.controllers = slices.DeleteFunc(e.controllers, func(x *controller) bool { return x == c })
	w.WriteHeader(http.StatusNoContent)
}
