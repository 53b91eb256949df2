// Package controllers holds one thin reconciler per L-KaaS kind, plus the EMCO registrar and
// the status writer. They wire the rooms under internal/ (loader, resolve, render, apply, emco,
// gitstatus) and keep business logic there, where unit tests reach it.
package controllers
