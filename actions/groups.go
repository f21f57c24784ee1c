package actions

import (
	"fmt"
	"slices"
	"strings"
)

// Grouper is implemented by a params struct whose parameters go together
// ("give files or from, not both"). Whether a parameter is given is known
// before anything runs, even when its value is computed, so the checker
// applies these rules statically; the decoder applies them again (scn do),
// the JSON Schema and the docs are generated from them.
type Grouper interface {
	ParamGroups() []Group
}

// Group is one rule over parameters, by their names (not aliases).
type Group struct {
	Rule   GroupRule
	Params []string
}

// GroupRule says how many of a group's parameters may be given.
type GroupRule int

const (
	ExactlyOne GroupRule = iota // one of them, no more
	AtMostOne                   // none or one
	AtLeastOne                  // one or more
)

// GroupsOf returns the rules of a params type (a pointer to a new value
// from Spec.NewParams), none when it declares none.
func GroupsOf(params any) []Group {
	if g, ok := params.(Grouper); ok {
		return g.ParamGroups()
	}
	return nil
}

// Describe says the rule for docs: "give exactly one of offer, offers, gpu".
func (g Group) Describe() string {
	list := strings.Join(g.Params, ", ")
	switch g.Rule {
	case ExactlyOne:
		return "give exactly one of " + list
	case AtMostOne:
		return "give at most one of " + list
	}
	return "give at least one of " + list
}

// GroupError is a broken group rule: Given lists the group's parameters
// that were given, in the group's order.
type GroupError struct {
	Group Group
	Given []string
}

func (e *GroupError) Error() string {
	either := orList(e.Group.Params)
	if len(e.Given) == 0 {
		return "give " + either
	}
	if len(e.Group.Params) == 2 {
		return fmt.Sprintf("give %s, not both", either)
	}
	return fmt.Sprintf("give only one of %s, not %s", strings.Join(e.Group.Params, ", "), andList(e.Given))
}

// CheckGroups applies groups to the parameters given (field names).
func CheckGroups(groups []Group, given func(name string) bool) error {
	for _, g := range groups {
		var in []string
		for _, p := range g.Params {
			if given(p) {
				in = append(in, p)
			}
		}
		switch {
		case len(in) == 0 && g.Rule != AtMostOne,
			len(in) > 1 && g.Rule != AtLeastOne:
			return &GroupError{Group: g, Given: in}
		}
	}
	return nil
}

func orList(names []string) string  { return joinLast(names, " or ") }
func andList(names []string) string { return joinLast(names, " and ") }

func joinLast(names []string, last string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	n := len(names)
	return strings.Join(slices.Clone(names[:n-1]), ", ") + last + names[n-1]
}
