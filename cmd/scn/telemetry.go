package main

import (
	"context"

	"github.com/scnlabs/scn/internal/event"
	"github.com/scnlabs/scn/internal/session"
	"github.com/scnlabs/scn/internal/telemetry"
)

// startTelemetry starts the OpenTelemetry exporter when the OTEL_*
// environment asks for one; nil otherwise. A exporter that cannot start
// is a warning: traces never stop a drill.
func startTelemetry(ctx context.Context, s *session.Session) *telemetry.Exporter {
	tel, err := telemetry.New(ctx, s.Mask(), s.Warn, version())
	if err != nil {
		s.Warn(err.Error() + ": running without traces")
		return nil
	}
	return tel
}

// runTrace is a run's trace sink; a sink that does nothing without an
// exporter (a nil *RunTrace must not hide in an interface).
func runTrace(tel *telemetry.Exporter, runID string) event.Sink {
	if tel == nil {
		return event.Discard{}
	}
	return tel.Run(runID)
}
