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
// Memory is bounded whatever the workspace size. With 2 cores, the default
// 16 MiB S3 parts and 4 parts in flight, Create holds at most: LZ4
// compression 2×(cores+1)×1 MiB blocks (6 MiB), the S3 upload
// (Concurrency+2)×PartSize (96 MiB; a directory store: a 32 KiB copy
// buffer), two 4 MiB pipes between the stages and a 256 KiB hashing
// buffer: about 112 MiB. Restore holds the S3 download
// (Concurrency+1)×8 MiB ranges (40 MiB), LZ4 decompression 2×(cores+2)×
// 1 MiB (8 MiB), one 4 MiB pipe and a 256 KiB copy buffer: about 53 MiB. Add to
// both the manifest, O(entries) (≈200 bytes per file or directory: 20 MB
// for 100,000 entries; manifests above 256 MiB are refused). Peak RSS can
// reach twice the live heap under the default GOGC; measured on a 1 GiB
// workspace through S3 (make bench-snapshot): 128–145 MiB after Create, below
// 256 MiB for the process after Create then Restore.
package snapshot

// MemoryLimit is the soft Go memory limit scn runs snapshots under (unless
// GOMEMLIMIT says otherwise): the streams' buffers are short-lived, so the
// collector keeps the process well under its 256 MiB promise without
// slowing the transfer.
const MemoryLimit = 160 << 20
