// Package lz4frame writes LZ4 frames, the format of the lz4 command line
// tool (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md), in
// independent 1 MiB blocks compressed in parallel. A snapshot's stream is
// compressed here, on every path: by scn's agent on the machine and by scn
// itself when it streams over SSH.
//
// Why not pierrec/lz4's writer, which scn used until 2026-12-06 and still
// reads every frame with: on the text a workspace holds (JSONL, logs) its
// block compressor runs at ~190 MB/s per core where the reference C
// implementation (`lz4 -1`) runs at ~440, and a snapshot is CPU-bound on a
// small machine. This compressor is the reference's greedy fast scan,
// with its default 4096-entry hash table (so the ratio is `lz4 -1`'s) and
// loads without bounds checks on the little-endian machines the agent is
// built for (make test and the fuzzer also run it with -tags purego, its
// loads checked, so a read outside a block fails there); ~370 MB/s on the
// same text. Blocks that would not shrink are
// stored raw (the format's uncompressed-block bit), so checkpoints and
// other incompressible data cost a scan of a few KiB, not a compression.
//
// Frames carry the content checksum (xxh32 of the uncompressed stream,
// checked by `lz4 -d` and by pierrec's reader) but no per-block checksums,
// as `lz4 -1` writes them: a snapshot's damage is found by the content
// checksum and, file by file, by the manifest's hashes.
package lz4frame
