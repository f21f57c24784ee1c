package report

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/journal"
)

// TestJournalDocCoversEveryField: docs/journal.md is the public contract
// of the journal, so every JSON field of every journal type must appear in
// it as `name`.
func TestJournalDocCoversEveryField(t *testing.T) {
	doc, err := os.ReadFile("../../docs/journal.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type, string)
	walk = func(ty reflect.Type, path string) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || ty.PkgPath() != reflect.TypeFor[journal.Journal]().PkgPath() || seen[ty] {
			return
		}
		seen[ty] = true
		for f := range ty.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			if !strings.Contains(string(doc), "`"+name+"`") {
				t.Errorf("docs/journal.md does not document %s.%s (`%s`)", path, f.Name, name)
			}
			walk(f.Type, path+"."+f.Name)
		}
	}
	walk(reflect.TypeFor[journal.Journal](), "Journal")
	if len(seen) < 10 {
		t.Fatalf("walked only %d journal types: the walk is broken", len(seen))
	}
}
