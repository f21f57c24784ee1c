//go:build !purego && (amd64 || arm64 || 386 || ppc64le || riscv64 || loong64 || wasm)

package lz4frame

import "unsafe"

// On little-endian machines that load unaligned words natively, the
// compressor's loads skip Go's bounds checks (a third of its time on text):
// compress keeps every index within the block, as its comments say why.

func load64(b []byte, i int) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))
}

func load32(b []byte, i int) uint32 {
	return *(*uint32)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))
}

func store64(b []byte, i int, v uint64) {
	*(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i)) = v
}

func load8(b []byte, i int) byte {
	return *(*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))
}
