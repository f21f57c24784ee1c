package ledger

import (
	"fmt"
	"os"
	"path/filepath"
)

// append writes one whole line (ending in '\n') and makes it durable.
//
// Why lines never interleave, even across processes:
//   - The file is opened O_APPEND and each line goes out in a single write(2),
//     so the kernel places it at the end of the file as one piece; on a local
//     Linux filesystem a regular-file write is not interleaved with another.
//   - POSIX promises less than that (and NFS does not honour O_APPEND), and
//     repairing a torn last line is a read-then-write that must not race, so
//     every append also holds an exclusive flock(2) on the file, and readers
//     hold a shared one: they never see a line half written by a live process.
//     flock belongs to the open file, so goroutines of one Ledger are
//     serialised by l.mu as well.
//
// Why a torn line cannot glue onto the next: a crash mid-write can leave a
// last line without its '\n'. Under the lock we look at the last byte, and if
// it is not '\n' we start our write with one, so the torn fragment becomes a
// line of its own that readers skip (or keep, if it was a complete object that
// only lacked its newline). Nothing already written is ever rewritten.
//
// Why it is durable: File.Sync (fsync(2)) runs before append returns, still
// under the lock; when this Ledger created the file, the directory is synced
// once too so the file's name survives a power cut.
func (l *Ledger) append(b []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file == nil {
		return os.ErrClosed
	}
	if err := lockFile(l.file, true); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer unlockFile(l.file)

	fi, err := l.file.Stat()
	if err != nil {
		return err
	}
	if size := fi.Size(); size > 0 {
		var last [1]byte
		if _, err := l.file.ReadAt(last[:], size-1); err != nil {
			return fmt.Errorf("read last byte: %w", err)
		}
		if last[0] != '\n' {
			b = append([]byte{'\n'}, b...)
		}
	}
	if _, err := l.file.Write(b); err != nil {
		return err
	}
	if err := l.sync(l.file); err != nil {
		return fmt.Errorf("fsync: %w", err)
	}
	if !l.dirOK {
		if err := syncDir(filepath.Dir(l.path)); err != nil {
			return fmt.Errorf("fsync directory: %w", err)
		}
		l.dirOK = true
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
