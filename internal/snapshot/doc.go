// Package snapshot moves a machine's workspace to object storage and back:
// Create streams `tar` from the instance through a stage that records every
// entry (path, type, size, mode, mtime, link, MD5) while passing the exact
// bytes on, compresses them as an LZ4 frame in parallel blocks and uploads
// snapshots/<name>/data.tar.lz4, then writes snapshots/<name>/manifest.json
// last: a name without a manifest is not a snapshot. Restore reads the
// manifest first, streams the data back through a tar filter that refuses
// anything that could escape the target directory and checks every entry
// and MD5 against the manifest, extracts into a staging directory inside
// the target and moves the result into place only once everything checked
// out; corrupt or tampered snapshots fail loudly and leave the target as it
// was. Nothing is staged in local temporary files.
//
// Memory is bounded whatever the workspace size, because every stage
// streams through a fixed number of fixed-size buffers. Create holds the
// LZ4 compressor's blocks (a few per core), the store's upload (for S3,
// Concurrency+2 parts of PartSize: the largest term; for a directory, one
// copy buffer), the pipes between the stages and a hashing buffer. Restore
// holds the store's download (for S3, Concurrency+1 ranges), the LZ4
// decompressor's blocks, one pipe and a copy buffer. Only what describes
// the entries grows with the workspace: the manifest (refused above
// 256 MiB) and, while Create runs, its index of paths and the manifest's
// JSON. The figures on a given machine come from BenchmarkSnapshotMemory
// (make bench): peak heap and RSS of Create and Restore with each store,
// the manifest's bytes per entry, and Create's peak on a workspace of
// tens of thousands of empty files. For a whole scn process on a 1 GiB
// workspace through S3, run make bench-snapshot; its test
// (bench/benchsnap) fails if scn's peak RSS reaches 256 MiB.
package snapshot

// MemoryLimit is the soft Go memory limit scn runs snapshots under (unless
// GOMEMLIMIT says otherwise): the streams' buffers are short-lived, so the
// collector keeps the process well under its 256 MiB promise without
// slowing the transfer.
const MemoryLimit = 160 << 20
