package runner

import (
	"fmt"
	"io"
	"strings"

	"github.com/scnlabs/scn/internal/markdown"
)

// WriteMarkdown prints the plan as GitHub-flavoured Markdown for a pull
// request comment (`scn plan --markdown`): what runs, what it creates and
// costs at most, what a passing run proves, and the cleanup order — what a
// reviewer needs to approve a drill before it spends money.
func (p *Plan) WriteMarkdown(w io.Writer) {
	sc := p.Scenario
	fmt.Fprintf(w, "### Plan: %s (%s) on target %s\n\n", markdown.Text(sc.Name), markdown.Code(sc.File), markdown.Text(p.Target))
	if sc.Description != "" {
		fmt.Fprintf(w, "%s\n\n", markdown.Text(sc.Description))
	}
	var limits []string
	if sc.Timeout > 0 {
		limits = append(limits, "timeout "+sc.Timeout.String())
	}
	if sc.Budget != nil {
		limits = append(limits, fmt.Sprintf("budget $%.2f", sc.Budget.MaxUSD))
	}
	cost := "**$0** (nothing paid)"
	switch {
	case p.Unbounded:
		cost = "**unbounded** — " + markdown.Text(p.CostNote)
	case p.WorstCost > 0:
		cost = fmt.Sprintf("**$%.4f** — %s", p.WorstCost, markdown.Text(p.CostNote))
	}
	fmt.Fprintf(w, "Worst-case cost: %s", cost)
	if len(limits) > 0 {
		fmt.Fprintf(w, " · %s", strings.Join(limits, ", "))
	}
	fmt.Fprint(w, "\n\n| # | step | action | what | notes |\n|---:|---|---|---|---|\n")
	for _, s := range p.Steps {
		what, title, notes := planRow(s, markdown.Code)
		if s.Section == "finally" {
			notes = append([]string{"finally (always runs)"}, notes...)
		}
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s |\n", s.Index, markdown.Code(displayID(s)), markdown.Code(what), markdown.Text(title), strings.Join(notes, "; "))
	}

	fmt.Fprint(w, "\n**What this drill proves**\n\n")
	checks := p.Checks()
	if len(checks) == 0 {
		fmt.Fprint(w, "Nothing: no `expect`, `assert` or `until` — a pass only says the steps ran.\n")
	}
	for _, c := range checks {
		fmt.Fprintf(w, "- %s %s: %s%s\n", markdown.Code(displayID(c.Step)), c.Kind, markdown.Code(c.Expr), markdown.Text(c.Note))
	}

	fmt.Fprint(w, "\n**Resources**\n\n")
	if len(p.Creates) == 0 {
		fmt.Fprint(w, "None: nothing is created.\n")
	} else {
		fmt.Fprint(w, "| kind | by step | price | cleanup |\n|---|---|---|---|\n")
	}
	for _, r := range p.Creates {
		price := "free"
		switch {
		case r.PricePerHour > 0 && r.PriceNote != "":
			price = fmt.Sprintf("≤ $%.4f/h (%s)", r.PricePerHour, markdown.Text(r.PriceNote))
		case r.PricePerHour > 0:
			price = fmt.Sprintf("≤ $%.4f/h", r.PricePerHour)
		case r.PriceNote != "":
			price = markdown.Text(r.PriceNote)
		}
		clean := "destroyed at the end"
		if r.Kept {
			clean = "**kept** (keep: true): remove it with `scn cleanup`"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.Kind, markdown.Code(displayID(r.Step)), price, clean)
	}
}
