// Package web is the read-only status page: overview, logical cluster, cluster and history
// pages rendered from the manager's informer cache, with server-sent events that tell open
// pages to refresh when the cache changes. It never writes, never reads a Secret and sends
// no request to the API server per page view: everything comes from the cache the
// controllers already hold.
package web
