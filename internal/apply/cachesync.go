package apply

import (
	"context"
	"strconv"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log"
)

// written is an object Apply wrote and the resourceVersion the API server answered with.
type written struct {
	ref             ObjectRef
	resourceVersion string
}

// waitForCache returns once the informer cache holds every written object at (or past) the
// version Apply wrote, or when the timeout passes. Without it, a pass started right after this
// one could read the cache from before the write, see drift that is not there and re-apply.
// Running out of time is not an error: the worst outcome is one redundant, idempotent apply.
func (a *Applier) waitForCache(ctx context.Context, objs []written) {
	if a.opts.CacheSyncTimeout < 0 || len(objs) == 0 {
		return
	}
	deadline := time.Now().Add(a.opts.CacheSyncTimeout)
	const poll = 5 * time.Millisecond
	for _, w := range objs {
		for {
			obj, found, err := a.cached(ctx, w.ref)
			if err == nil && found && seen(obj.GetResourceVersion(), w.resourceVersion) {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				log.FromContext(ctx).V(1).Info("the cache has not caught up with applied objects; the next pass may re-apply some",
					"waited", a.opts.CacheSyncTimeout)
				return
			}
			time.Sleep(poll)
		}
	}
}

// seen reports whether the cache's resourceVersion is the written one or a later one.
// resourceVersions are opaque, but the API server's are increasing integers (etcd revisions).
func seen(cached, wrote string) bool {
	if cached == wrote {
		return true
	}
	c, err1 := strconv.ParseUint(cached, 10, 64)
	w, err2 := strconv.ParseUint(wrote, 10, 64)
	return err1 == nil && err2 == nil && c > w
}
