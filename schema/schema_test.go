package schema_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/actions/builtin"
	"github.com/scnlabs/scn/schema"
)

// The checked-in schema must be exactly what the registry generates.
func TestSchemaMatchesRegistry(t *testing.T) {
	want := schema.Generate(builtin.Registry())
	got, err := os.ReadFile("scenario.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("schema/scenario.schema.json is out of date with the action registry: run `make schema` and commit it")
	}
}

func compile(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema.Generate(builtin.Registry())))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schema.ID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(schema.ID)
	if err != nil {
		t.Fatalf("the generated schema does not compile: %v", err)
	}
	return s
}

func yamlToJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every scenario in the repository validates against the schema, so an
// editor using it never flags a scenario scn accepts.
func TestScenariosValidateAgainstSchema(t *testing.T) {
	s := compile(t)
	var files []string
	for _, glob := range []string{"../scenarios/*.yaml", "../scenarios/examples/*.yaml", "../runner/testdata/pass/*.yaml"} {
		m, _ := filepath.Glob(glob)
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no scenarios found to validate")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(yamlToJSON(t, data)); err != nil {
			t.Errorf("%s does not validate against the schema: %v", f, err)
		}
	}
}

// The schema rejects what the checker rejects: a few representative cases.
func TestSchemaRejects(t *testing.T) {
	s := compile(t)
	cases := map[string]string{
		"unknown top key":   "name: x\nstepz: []\nsteps: [{action: log, with: {message: hi}}]",
		"unknown action":    "name: x\nsteps: [{action: lgo}]",
		"unknown parameter": "name: x\nsteps: [{action: log, with: {mesage: hi}}]",
		"missing required":  "name: x\nsteps: [{action: log, with: {}}]",
		"bad duration":      "name: x\nsteps: [{action: sleep, with: {duration: forever}}]",
		"bad enum":          "name: x\nsteps: [{action: http.request, with: {url: u, method: FETCH}}]",
		"no action":         "name: x\nsteps: [{id: a}]",
	}
	for name, src := range cases {
		if err := s.Validate(yamlToJSON(t, []byte(src))); err == nil {
			t.Errorf("%s: schema accepted %q", name, strings.ReplaceAll(src, "\n", " | "))
		}
	}
	ok := "name: x\nsteps: [{action: sleep, with: {duration: \"${{ vars.d }}\"}}, {assert: \"1 == 1\"}]"
	if err := s.Validate(yamlToJSON(t, []byte(ok))); err != nil {
		t.Errorf("schema rejected a valid scenario: %v", err)
	}
}

// docs/actions.md is generated from the registry too.
func TestActionsDocMatchesRegistry(t *testing.T) {
	var b strings.Builder
	actions.WriteMarkdown(&b, builtin.Registry())
	got, err := os.ReadFile("../docs/actions.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != b.String() {
		t.Fatal("docs/actions.md is out of date with the action registry: run `make docs` and commit it")
	}
}

// Generating twice gives the same bytes (no map-order noise in the file).
func TestSchemaIsDeterministic(t *testing.T) {
	first := schema.Generate(builtin.Registry())
	for range 20 {
		if !bytes.Equal(first, schema.Generate(builtin.Registry())) {
			t.Fatal("schema.Generate is not deterministic")
		}
	}
}
