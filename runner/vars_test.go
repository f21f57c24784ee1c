package runner_test

import (
	"context"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/secret"
	"github.com/scnlabs/scn/runner"
)

// Vars: --var values typed like their defaults, required and secret vars.

func TestVarsFromCommandLine(t *testing.T) {
	src := `
name: vars
vars:
  n: 3
  gpu: RTX_4090
  token: { secret: true, default: "${{ env.TEST_TOKEN }}" }
  must: { required: true }
steps:
  - { id: a, action: log, with: { message: "${{ vars.gpu }} ${{ vars.n + 1 }} ${{ vars.token }} ${{ vars.must }}" } }
`
	c := checkSrc(t, "v.yaml", src, &world{})
	opts := runner.Options{Masker: secret.New(), Env: map[string]string{"TEST_TOKEN": "s3cr3t-value"}, Vars: map[string]string{"gpu": "4090", "n": "5", "must": "x"}}
	r, err := runner.New(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	j := r.Run(context.Background())
	if got := step(t, j, "a").Logs; len(got) != 1 || got[0] != "4090 6 *** x" {
		t.Errorf("logs %q", got)
	}
	if j.Vars["token"] != "***" {
		t.Errorf("secret var shown in journal vars: %v", j.Vars["token"])
	}

	for _, bad := range []map[string]string{{"n": "many", "must": "x"}, {"nn": "1", "must": "x"}, {}} {
		opts.Vars = bad
		if _, err := runner.New(c, opts); err == nil {
			t.Errorf("vars %v accepted", bad)
		}
	}
	// A required var given empty is as good as not given.
	opts.Vars = map[string]string{"must": ""}
	_, err = runner.New(c, opts)
	if want := "--var must: var must is required: --var must= gives it no value\n    hint: pass a value: --var must=..."; err == nil || err.Error() != want {
		t.Errorf("required var given empty: %v\nwant %s", err, want)
	}
}

// A --var is read whole, as its default's type: "0,30" for a price is an
// error, not 0 (which max_price takes for "no limit").
func TestVarsFromCommandLineAreReadWhole(t *testing.T) {
	src := `
name: vars
vars: { n: 3, price: 1.0 }
steps:
  - { id: a, action: log, with: { message: "${{ vars.n }} ${{ vars.price }}" } }
`
	c := checkSrc(t, "v.yaml", src, &world{})
	for _, tc := range []struct{ n, price, want string }{
		{" 7 ", "0.3", "7 0.3"},
		{"3", "2", "3 2"},
		{"2.5", "1", "whole number like the default 3, got \"2.5\" (write the default as 3.0"},
		{"1e3", "1", "whole number like the default 3, got \"1e3\""},
		{"3x", "1", "whole number like the default 3, got \"3x\""},
		{"3", "0,30", "a number like the default 1, got \"0,30\" (the decimal separator is a dot"},
		{"3", "NaN", "a number like the default 1, got \"NaN\""},
		{"3", "0.3usd", "a number like the default 1, got \"0.3usd\""},
	} {
		r, err := runner.New(c, runner.Options{Vars: map[string]string{"n": tc.n, "price": tc.price}})
		if err != nil {
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("--var n=%q price=%q: %v; want %q", tc.n, tc.price, err, tc.want)
			}
			continue
		}
		j := r.Run(context.Background())
		if got := step(t, j, "a").Logs; len(got) != 1 || got[0] != tc.want {
			t.Errorf("--var n=%q price=%q: logged %q; want %q", tc.n, tc.price, got, tc.want)
		}
	}
}
