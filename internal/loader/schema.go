package loader

import (
	"reflect"
	"sort"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	automationv1alpha1 "github.com/dcn-ssu/lkaas/api/automation/v1alpha1"
	intentv1 "github.com/dcn-ssu/lkaas/api/intent/v1"
)

// shape is what a schema node accepts.
type shape int

const (
	shapeObject      shape = iota // a struct: known fields only
	shapeValues                   // apiextensionsv1.JSON: a free-form map (Type=object)
	shapeMap                      // map[string]T
	shapeList                     // []T
	shapeString                   // string and named string types
	shapeInt                      // integers, with bits
	shapeBool                     // bool
	shapeFloat                    // floats
	shapeDuration                 // metav1.Duration: a Go duration string
	shapeIntOrString              // intstr.IntOrString
)

// schema describes the canonical form of a document. It is derived from the API types by
// reflection, so it cannot drift from what the CRDs store.
type schema struct {
	shape  shape
	bits   int                // shapeInt: 8, 16, 32 or 64
	fields map[string]*schema // shapeObject
	names  []string           // shapeObject: field names, sorted, for messages
	elem   *schema            // shapeMap, shapeList
}

var (
	durationType    = reflect.TypeOf(metav1.Duration{})
	intOrStringType = reflect.TypeOf(intstr.IntOrString{})
	valuesType      = reflect.TypeOf(apiextensionsv1.JSON{})
	timeType        = reflect.TypeOf(metav1.Time{})
)

// schemaOf derives the schema of a Go API type.
func schemaOf(t reflect.Type) *schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case durationType:
		return &schema{shape: shapeDuration}
	case intOrStringType:
		return &schema{shape: shapeIntOrString}
	case valuesType:
		return &schema{shape: shapeValues}
	case timeType:
		return &schema{shape: shapeString}
	}
	switch t.Kind() {
	case reflect.Struct:
		s := &schema{shape: shapeObject, fields: map[string]*schema{}}
		addStructFields(s, t)
		for name := range s.fields {
			s.names = append(s.names, name)
		}
		sort.Strings(s.names)
		return s
	case reflect.Map:
		return &schema{shape: shapeMap, elem: schemaOf(t.Elem())}
	case reflect.Slice:
		return &schema{shape: shapeList, elem: schemaOf(t.Elem())}
	case reflect.String:
		return &schema{shape: shapeString}
	case reflect.Bool:
		return &schema{shape: shapeBool}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &schema{shape: shapeInt, bits: t.Bits()}
	case reflect.Float32, reflect.Float64:
		return &schema{shape: shapeFloat}
	}
	panic("loader: no schema for " + t.String())
}

func addStructFields(s *schema, t reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) {
			addStructFields(s, f.Type)
			continue
		}
		if name == "" {
			name = f.Name
		}
		s.fields[name] = schemaOf(f.Type)
	}
}

// objectSchema is the canonical document of a kind: apiVersion, kind, metadata and spec.
func objectSchema(spec reflect.Type) *schema {
	meta := &schema{shape: shapeObject, fields: map[string]*schema{
		"name":        {shape: shapeString},
		"namespace":   {shape: shapeString},
		"labels":      {shape: shapeMap, elem: &schema{shape: shapeString}},
		"annotations": {shape: shapeMap, elem: &schema{shape: shapeString}},
	}, names: []string{"annotations", "labels", "name", "namespace"}}
	return &schema{shape: shapeObject, fields: map[string]*schema{
		"apiVersion": {shape: shapeString},
		"kind":       {shape: shapeString},
		"metadata":   meta,
		"spec":       schemaOf(spec),
	}, names: []string{"apiVersion", "kind", "metadata", "spec"}}
}

// schemas of the kept kinds, built once at start-up and read-only afterwards.
var schemas = map[kindKey]*schema{
	profileKey:        objectSchema(reflect.TypeOf(automationv1alpha1.InfrastructureProfileSpec{})),
	catalogKey:        objectSchema(reflect.TypeOf(automationv1alpha1.ClusterCatalogSpec{})),
	clusterKey:        objectSchema(reflect.TypeOf(automationv1alpha1.ClusterSpec{})),
	fleetKey:          objectSchema(reflect.TypeOf(automationv1alpha1.FleetSpec{})),
	logicalClusterKey: objectSchema(reflect.TypeOf(intentv1.LogicalClusterSpec{})),
}

// validDuration matches the CRDs' duration pattern ^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$ ("5m", "1h30m").
func validDuration(s string) bool {
	if s == "" {
		return false
	}
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 {
			return false
		}
		if i < len(s) && s[i] == '.' {
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j == i+1 {
				return false
			}
			i = j
		}
		s = s[i:]
		switch {
		case strings.HasPrefix(s, "ms"):
			s = s[2:]
		case strings.HasPrefix(s, "s"), strings.HasPrefix(s, "m"), strings.HasPrefix(s, "h"):
			s = s[1:]
		default:
			return false
		}
	}
	return true
}

// parsesAsDuration guards metav1.Duration's decoder, which would fail on overflow.
func parsesAsDuration(s string) bool {
	_, err := time.ParseDuration(s)
	return err == nil
}
