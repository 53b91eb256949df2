package loader

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad: whatever the bytes, Load does not panic, and returns a set or an ErrorList whose
// every entry has a file and a line.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/seed/*.yaml")
	canonical, _ := filepath.Glob("../../api/testdata/canonical/*.yaml")
	for _, p := range append(seeds, canonical...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte(lcHead + "metadata: {name: m}\nspec:\n  clusters:\n    - cluster: {name: a, metadata: {spec: {clustercatalog: c}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := Load(map[string][]byte{"f.yaml": data}, Options{FleetNamespace: "starlab"})
		if err == nil {
			if set == nil {
				t.Fatal("no set and no error")
			}
			return
		}
		if set != nil {
			t.Fatal("both a set and an error")
		}
		list, ok := err.(ErrorList)
		if !ok || len(list) == 0 {
			t.Fatalf("error is not a non-empty ErrorList: %T %v", err, err)
		}
		for _, e := range list {
			if e.Pos.File != "f.yaml" || e.Pos.Line < 1 || e.Pos.Column < 1 {
				t.Fatalf("error without a position: %q", e.Error())
			}
		}
	})
}
