package remote

import "io"

// Metered returns w telling wrote the size of each write as it goes
// through (w itself when wrote is nil): how the bytes a command streams
// reach a count — a transfer's progress, or the bill of the machine whose
// link they cross — while they move, not in one sum once it ended.
func Metered(w io.Writer, wrote func(n int64)) io.Writer {
	if wrote == nil {
		return w
	}
	return &meteredWriter{w: w, wrote: wrote}
}

type meteredWriter struct {
	w     io.Writer
	wrote func(n int64)
}

func (m *meteredWriter) Write(p []byte) (int, error) {
	n, err := m.w.Write(p)
	if n > 0 {
		m.wrote(int64(n))
	}
	return n, err
}
