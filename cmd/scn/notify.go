package main

import (
	"context"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/notify"
	"github.com/scnlabs/scn/internal/session"
)

// notifyFlags are `scn run`'s webhook options.
type notifyFlags struct {
	urls  []string // --notify
	on    string   // always | failure
	hooks []string // --notify, then SCN_NOTIFY's, once check passed
}

func (f *notifyFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVar(&f.urls, "notify", nil, "POST a JSON notice (Slack-compatible) to this webhook when each scenario ends (repeatable; env SCN_NOTIFY, comma-separated)")
	fl.StringVar(&f.on, "notify-on", "always", "when to notify: always, or failure (any run that did not pass)")
}

// check reads the URLs of --notify and SCN_NOTIFY into hooks, once, before
// anything loads or runs (bad input spends nothing); an error names a bad
// one by position only.
func (f *notifyFlags) check() error {
	hooks, err := f.webhooks()
	f.hooks = hooks
	return err
}

func (f *notifyFlags) webhooks() ([]string, error) {
	urls := append([]string(nil), f.urls...)
	for _, u := range strings.Split(os.Getenv("SCN_NOTIFY"), ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	if f.on != "always" && f.on != "failure" {
		return nil, exitWith(2, "--notify-on %q: write always or failure", f.on)
	}
	if err := notify.Check(urls); err != nil {
		return nil, exitWith(2, "%v", err)
	}
	return urls, nil
}

// notifyRuns sends each finished run's notice. The drill is over and may
// have been interrupted, so the sends get their own bounded context: the
// Sender's deadline per webhook, not the run's cancelled one.
func notifyRuns(ctx context.Context, s *session.Session, f *notifyFlags, journals []*journal.Journal) {
	if len(f.hooks) == 0 {
		return
	}
	snd := &notify.Sender{URLs: f.hooks, Mask: s.Mask(), Warn: s.Warn}
	ctx = context.WithoutCancel(ctx)
	for _, j := range journals {
		if f.on == "failure" && j.Status == journal.StatusPassed {
			continue
		}
		snd.Send(ctx, notify.FromJournal(j))
	}
}
