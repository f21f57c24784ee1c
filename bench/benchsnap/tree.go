package main

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
)

// treeEntry is what must survive a snapshot and restore: type, permission
// bits, content (MD5) and link target. Times and owners are not compared:
// the tools differ on them by design and the bench is about the data.
type treeEntry struct {
	Path string
	Type string // file, dir, symlink
	Mode fs.FileMode
	Size int64
	MD5  string
	Link string
}

func (e treeEntry) String() string {
	switch e.Type {
	case "file":
		return fmt.Sprintf("file %04o %d bytes md5 %s", e.Mode, e.Size, e.MD5)
	case "symlink":
		return "symlink to " + e.Link
	}
	return fmt.Sprintf("%s %04o", e.Type, e.Mode)
}

// listTree describes every entry below root (not root itself), sorted by
// path, hashing files on all CPUs.
func listTree(root string) ([]treeEntry, error) {
	var entries []treeEntry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := treeEntry{Path: filepath.ToSlash(rel), Mode: info.Mode().Perm()}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			e.Type, e.Mode = "symlink", 0
			if e.Link, err = os.Readlink(p); err != nil {
				return err
			}
		case d.IsDir():
			e.Type = "dir"
		case d.Type().IsRegular():
			e.Type, e.Size = "file", info.Size()
		default:
			e.Type = "special " + d.Type().String()
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", root, err)
	}
	if err := hashFiles(root, entries); err != nil {
		return nil, err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })
	return entries, nil
}

// hashFiles fills in the MD5 of every file entry, one worker per CPU.
func hashFiles(root string, entries []treeEntry) error {
	jobs := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1<<20)
			for i := range jobs {
				sum, err := fileMD5(filepath.Join(root, filepath.FromSlash(entries[i].Path)), buf)
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					continue
				}
				entries[i].MD5 = sum
			}
		}()
	}
	for i, e := range entries {
		if e.Type == "file" {
			jobs <- i
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func fileMD5(p string, buf []byte) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.CopyBuffer(h, f, buf); err != nil {
		return "", fmt.Errorf("hashing %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// compareTrees lists how got differs from want (both sorted by path): at
// most max differences, then a count of the rest.
func compareTrees(want, got []treeEntry, max int) []string {
	var diffs []string
	n := 0
	add := func(format string, args ...any) {
		if n++; n <= max {
			diffs = append(diffs, fmt.Sprintf(format, args...))
		}
	}
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case j == len(got) || (i < len(want) && want[i].Path < got[j].Path):
			add("%s: missing (want %s)", want[i].Path, want[i])
			i++
		case i == len(want) || got[j].Path < want[i].Path:
			add("%s: unexpected %s", got[j].Path, got[j])
			j++
		default:
			if want[i] != got[j] {
				add("%s: got %s, want %s", want[i].Path, got[j], want[i])
			}
			i++
			j++
		}
	}
	if n > max {
		diffs = append(diffs, fmt.Sprintf("... and %d more differences", n-max))
	}
	return diffs
}
