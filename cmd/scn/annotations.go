package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/scnlabs/scn/runner"
)

// GitHub Actions reads workflow commands from a step's output and shows
// `::error file=F,line=L,col=C::message` inline on the pull request's
// diff. The escaping is the Actions toolkit's (actions/toolkit,
// packages/core/src/command.ts: escapeData and escapeProperty): %, CR and
// LF in the message; also : and , in properties.

// writeGitHubAnnotations writes a failed load of file as workflow-command
// annotations: one ::error per diagnostic at its file, line and column,
// its hint on a second line of the message; an error without a position
// (an unreadable file) annotates the file.
func writeGitHubAnnotations(w io.Writer, file string, err error) {
	var ds runner.Diagnostics
	if !errors.As(err, &ds) {
		var d *runner.Diagnostic
		if errors.As(err, &d) {
			ds = runner.Diagnostics{d}
		}
	}
	if len(ds) == 0 {
		fmt.Fprintf(w, "::error file=%s,title=scn validate::%s\n", ghProperty(file), ghData(err.Error()))
		return
	}
	for _, d := range ds {
		props := []string{"file=" + ghProperty(d.Pos.File)}
		if d.Pos.File == "" {
			props[0] = "file=" + ghProperty(file)
		}
		if d.Pos.Line > 0 {
			props = append(props, fmt.Sprintf("line=%d", d.Pos.Line))
			if d.Pos.Col > 0 {
				props = append(props, fmt.Sprintf("col=%d", d.Pos.Col))
			}
		}
		props = append(props, "title=scn validate")
		msg := d.Msg
		if d.Hint != "" {
			msg += "\nhint: " + d.Hint
		}
		fmt.Fprintf(w, "::error %s::%s\n", strings.Join(props, ","), ghData(msg))
	}
}

func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
