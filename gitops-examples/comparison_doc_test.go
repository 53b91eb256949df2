package examples

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every test docs/concepts.md names for a row of the seed's comparison exists, so the table
// cannot point at a test that was renamed or removed.
func TestComparisonRowsNameTestsThatExist(t *testing.T) {
	doc, err := os.ReadFile("../docs/concepts.md")
	require.NoError(t, err)
	_, table, ok := strings.Cut(string(doc), "## The seed's comparison, row by row")
	require.True(t, ok, "docs/concepts.md has the comparison section")
	table, _, _ = strings.Cut(table, "\n## ")
	named := regexp.MustCompile("`(Test[A-Za-z0-9_]+)`").FindAllStringSubmatch(table, -1)
	require.NotEmpty(t, named)

	defined := map[string]bool{}
	funcs := regexp.MustCompile(`(?m)^func (Test[A-Za-z0-9_]+)\(`)
	require.NoError(t, filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range funcs.FindAllStringSubmatch(string(b), -1) {
			defined[m[1]] = true
		}
		return nil
	}))
	for _, m := range named {
		assert.True(t, defined[m[1]], "docs/concepts.md names %s, which no _test.go defines", m[1])
	}
}
