package main

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/actions/builtin"
	"github.com/scnlabs/scn/internal/assembly"
	"github.com/scnlabs/scn/runner"
)

// Dynamic completion for `scn completion bash|zsh|fish` (cobra's own
// command): the shell asks the hidden `scn __complete ARGS...` for
// candidates, so they come from the registry, scn.yaml, the scenarios
// named on the line and the state directory as they are now. Candidates
// carry a description after a tab, which zsh and fish show.

// addCompletions wires the completion functions onto root's commands.
func addCompletions(root *cobra.Command, g *globals) {
	_ = root.RegisterFlagCompletionFunc("target", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		cfg, err := assembly.LoadConfig(g.config)
		if err != nil {
			cfg = nil // a broken scn.yaml still completes the built-in targets
		}
		return cfg.Names(), cobra.ShellCompDirectiveNoFileComp
	})
	for _, c := range root.Commands() {
		switch c.Name() {
		case "run", "plan", "validate":
			c.ValidArgsFunction = scenarioFiles
			if c.Flags().Lookup("var") != nil {
				_ = c.RegisterFlagCompletionFunc("var", completeVars)
			}
		case "do":
			c.ValidArgsFunction = oneActionName(false)
			_ = c.RegisterFlagCompletionFunc("with", completeWith)
		case "actions":
			c.ValidArgsFunction = oneActionName(true)
		case "report":
			c.ValidArgsFunction = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
				return runIDs(g), cobra.ShellCompDirectiveDefault // run ids, and directories
			}
		}
	}
}

// scenarioFiles completes YAML files (and directories on the way).
func scenarioFiles(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
}

// oneActionName completes the one argument naming an action (and, with
// families, a family); nothing after it.
func oneActionName(families bool) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return actionNames(families), cobra.ShellCompDirectiveNoFileComp
	}
}

// actionNames lists every action with its summary; withFamilies adds the
// families (scn actions snapshot).
func actionNames(withFamilies bool) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range builtin.Registry().All() {
		if f, _, ok := strings.Cut(s.Name, "."); withFamilies && ok && !seen[f] {
			seen[f] = true
			out = append(out, f+"\tthe "+f+".* actions")
		}
		out = append(out, s.Name+"\t"+s.Summary)
	}
	return out
}

// completeWith completes --with of `scn do ACTION`: the action's parameter
// names as "name=", then an enum's or a bool's values after the "=".
func completeWith(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	spec, ok := builtin.Registry().Get(args[0])
	if !ok {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	fields := actions.FieldsOf(spec.Params)
	if name, _, typed := strings.Cut(toComplete, "="); typed {
		for _, f := range fields {
			if f.Name != name && !slices.Contains(f.Aliases, name) {
				continue
			}
			values := f.Enum
			if f.Type != nil && f.Type.Kind() == reflect.Bool {
				values = []string{"true", "false"}
			}
			var out []string
			for _, v := range values {
				out = append(out, name+"="+v)
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, f := range fields {
		out = append(out, f.Name+"=\t"+firstSentence(f.Doc))
	}
	return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
}

// completeVars completes --var with the vars the scenarios given on the
// line declare, as "name=".
func completeVars(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if strings.Contains(toComplete, "=") {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	seen := map[string]bool{}
	for _, file := range args {
		sc, _ := runner.LoadFile(file) // a scenario with mistakes still has its vars
		if sc == nil {
			continue
		}
		for _, v := range sc.Vars {
			if seen[v.Name] {
				continue
			}
			seen[v.Name] = true
			out = append(out, v.Name+"=\t"+firstSentence(v.Description))
		}
	}
	return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
}

// runIDs lists the runs under STATE-DIR/runs, newest first.
func runIDs(g *globals) []string {
	entries, err := os.ReadDir(filepath.Join(g.absState(), "runs"))
	if err != nil {
		return nil
	}
	var out []string
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].IsDir() {
			out = append(out, entries[i].Name())
		}
	}
	return out
}

// firstSentence is a description short enough for a completion menu.
func firstSentence(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if i := strings.Index(s, "; "); i > 0 {
		s = s[:i]
	}
	return s
}
