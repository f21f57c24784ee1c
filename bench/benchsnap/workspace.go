package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// minSize is the smallest workspace that still holds every kind of entry.
const minSize = 256 << 10

// The workspace looks like a training run's: mostly incompressible
// checkpoint shards, some mid-size compressible data, many small text files
// (logs, configs, code), an executable script, a symlink and an empty dir.
const (
	shareSmall  = 0.10 // many small text files, 512 B – 16 KiB
	shareMid    = 0.20 // a few compressible files
	largeFiles  = 4    // incompressible shards share the rest
	midFiles    = 4
	smallPerDir = 100
)

// workspaceInfo says what generate wrote.
type workspaceInfo struct {
	Bytes      int64 // file contents
	SmallFiles int
	MidFiles   int
	LargeFiles int
}

func (w workspaceInfo) String() string {
	return fmt.Sprintf("%s in %d files: %d small text, %d mid-size compressible, %d large incompressible; a symlink, an empty dir",
		mib(w.Bytes), w.SmallFiles+w.MidFiles+w.LargeFiles+1, w.SmallFiles, w.MidFiles, w.LargeFiles)
}

// generate writes a workspace of size bytes of file contents under root,
// the same for the same seed.
func generate(root string, size int64, seed uint64) (workspaceInfo, error) {
	g := &generator{root: root, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), seed: seed}
	info := workspaceInfo{}
	script := []byte("#!/bin/sh\n# resumes training from the latest checkpoint\nexec python train.py --resume checkpoints/latest.bin \"$@\"\n")
	if err := g.write("run.sh", 0o755, func(w *bufio.Writer) error { _, err := w.Write(script); return err }); err != nil {
		return info, err
	}
	info.Bytes += int64(len(script))

	smallBudget := int64(float64(size) * shareSmall)
	for n := int64(0); n < smallBudget; info.SmallFiles++ {
		fileSize := min(512+g.rng.Int64N(16<<10-512), smallBudget-n)
		name := fmt.Sprintf("logs/run-%03d/step-%05d.txt", info.SmallFiles/smallPerDir, info.SmallFiles)
		if err := g.write(name, 0o644, func(w *bufio.Writer) error { return g.text(w, fileSize) }); err != nil {
			return info, err
		}
		n += fileSize
	}
	info.Bytes += smallBudget

	midBudget := int64(float64(size) * shareMid)
	for i := range midFiles {
		fileSize := part(midBudget, midFiles, i)
		if err := g.write(fmt.Sprintf("data/train-%d.jsonl", i), 0o644, func(w *bufio.Writer) error { return g.jsonl(w, fileSize) }); err != nil {
			return info, err
		}
		info.MidFiles++
	}
	info.Bytes += midBudget

	largeBudget := size - info.Bytes
	for i := range largeFiles {
		fileSize := part(largeBudget, largeFiles, i)
		stream := rand.NewChaCha8(g.chachaSeed(i))
		if err := g.write(fmt.Sprintf("checkpoints/shard-%d.bin", i), 0o644, func(w *bufio.Writer) error { return random(w, stream, fileSize) }); err != nil {
			return info, err
		}
		info.LargeFiles++
	}
	info.Bytes += largeBudget

	if err := os.Symlink("shard-0.bin", filepath.Join(root, "checkpoints", "latest.bin")); err != nil {
		return info, fmt.Errorf("workspace symlink: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(root, "cache", "empty"), 0o755); err != nil {
		return info, fmt.Errorf("workspace empty dir: %w", err)
	}
	return info, nil
}

// part is the i-th of n near-equal shares of total.
func part(total int64, n, i int) int64 {
	p := total / int64(n)
	if i == n-1 {
		p = total - p*int64(n-1)
	}
	return p
}

type generator struct {
	root string
	rng  *rand.Rand
	seed uint64
}

func (g *generator) chachaSeed(i int) [32]byte {
	var s [32]byte
	copy(s[:], strconv.FormatUint(g.seed, 16))
	s[31] = byte(i)
	return s
}

func (g *generator) write(name string, mode os.FileMode, fill func(*bufio.Writer) error) error {
	p := filepath.Join(g.root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("workspace %s: %w", name, err)
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return fmt.Errorf("workspace %s: %w", name, err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = fill(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("workspace %s: %w", name, err)
	}
	return nil
}

var words = []string{"loss", "step", "epoch", "lr", "grad_norm", "tokens", "warmup", "eval", "checkpoint",
	"saved", "batch", "throughput", "gpu", "memory", "allocated", "scheduler", "cosine", "val", "train",
	"accuracy", "perplexity", "optimizer", "adamw", "weight_decay", "dropout", "attention", "layer", "head"}

// text writes n bytes of log lines: repetitive words and varying numbers,
// which LZ4 shrinks a few times, like real logs.
func (g *generator) text(w *bufio.Writer, n int64) error {
	line := make([]byte, 0, 256)
	for n > 0 {
		line = line[:0]
		line = append(line, "2026-03-"...)
		line = strconv.AppendInt(line, 10+g.rng.Int64N(20), 10)
		line = append(line, " step="...)
		line = strconv.AppendInt(line, g.rng.Int64N(1_000_000), 10)
		for range 4 + g.rng.IntN(8) {
			line = append(line, ' ')
			line = append(line, words[g.rng.IntN(len(words))]...)
			line = append(line, '=')
			line = strconv.AppendFloat(line, g.rng.Float64()*10, 'f', 4, 64)
		}
		line = append(line, '\n')
		chunk := line[:min(int64(len(line)), n)]
		if _, err := w.Write(chunk); err != nil {
			return err
		}
		n -= int64(len(chunk))
	}
	return nil
}

// jsonl writes n bytes of JSON records, a dataset shard.
func (g *generator) jsonl(w *bufio.Writer, n int64) error {
	line := make([]byte, 0, 512)
	for id := 0; n > 0; id++ {
		line = append(line[:0], `{"id":`...)
		line = strconv.AppendInt(line, int64(id), 10)
		line = append(line, `,"label":"`...)
		line = append(line, words[g.rng.IntN(len(words))]...)
		line = append(line, `","tokens":[`...)
		for j := range 16 + g.rng.IntN(32) {
			if j > 0 {
				line = append(line, ',')
			}
			line = strconv.AppendInt(line, g.rng.Int64N(50_000), 10)
		}
		line = append(line, "]}\n"...)
		chunk := line[:min(int64(len(line)), n)]
		if _, err := w.Write(chunk); err != nil {
			return err
		}
		n -= int64(len(chunk))
	}
	return nil
}

// random writes n incompressible bytes.
func random(w *bufio.Writer, src *rand.ChaCha8, n int64) error {
	buf := make([]byte, 1<<20)
	for n > 0 {
		b := buf[:min(int64(len(buf)), n)]
		src.Read(b)
		if _, err := w.Write(b); err != nil {
			return err
		}
		n -= int64(len(b))
	}
	return nil
}

// mib formats a byte count for people.
func mib(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
