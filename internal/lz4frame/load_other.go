//go:build purego || !(amd64 || arm64 || 386 || ppc64le || riscv64 || loong64 || wasm)

package lz4frame

import "encoding/binary"

// Elsewhere (big-endian or strict-alignment machines) the loads are
// checked and little-endian, which match lengths rely on. So they are with
// -tags purego, which make test and the fuzzer use: an index outside the
// block, which an unchecked load would read without a sound, panics there.

func load64(b []byte, i int) uint64     { return binary.LittleEndian.Uint64(b[i:]) }
func load32(b []byte, i int) uint32     { return binary.LittleEndian.Uint32(b[i:]) }
func store64(b []byte, i int, v uint64) { binary.LittleEndian.PutUint64(b[i:], v) }
func load8(b []byte, i int) byte        { return b[i] }
