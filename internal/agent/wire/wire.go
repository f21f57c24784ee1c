// Package wire is the language scn and its agent speak over the SSH
// session's stdin and stdout: one JSON object per line, each a Msg. scn is
// the control plane — it holds the store's keys, mints short-lived
// presigned URLs when the agent asks, completes uploads and writes
// manifests — and the agent moves the bytes. Nothing sent here is secret
// beyond the URLs' signatures, which expire within minutes.
//
// A session, as the agent sees it:
//
//	agent → hello                      (version, os, arch)
//	scn   → create | restore           (the job, with how to reach the store)
//	agent → ready | unreachable        (after trying the store: a HEAD, or a probe file)
//	scn   → start | stop               (stop: scn streams the bytes itself instead)
//	agent → need {part}                (a URL: part n of the upload, 0 the GET)
//	scn   → grant {part, request|error}
//	agent → part {part, etag, size}    (one part uploaded)
//	agent → progress {done}
//	agent → entries {entries}          (a create: the next batch of entries, in
//	                                    archive order, sent while the bytes move)
//	agent → created {manifest} | restored {result} | failed {error}
//
// Every message the agent sends after hello carries net_sent and
// net_received: the bytes it has put on and taken off the network for
// its job so far. scn bills them to the machine as they arrive (a
// provider may bill its bandwidth), so a transfer that fails, or an agent
// that is killed, has still paid for what it moved.
//
// A create's manifest comes in pieces: its entries in entries messages as
// the agent records them, the rest (counts, sizes) in created, which
// carries no entries. scn decodes each piece as it arrives, so a workspace
// of 100,000 files does not leave all its JSON to the end of the transfer.
//
// A standby increment is two sessions, one per machine: the GPU's agent
// gets send (the same need/grant/part exchange as a create) and answers
// sent {size}; scn completes the object and starts the standby's agent,
// which got receive and was ready, with start {size, file}; it asks for
// the GET URL and answers received {size}.
//
//	scn   closes stdin: the agent exits. If stdin ends before that, scn is
//	gone: the agent stops, removes what it wrote, and exits.
//
// Both sides refuse a Version they do not speak; the binary is
// content-addressed, so a mismatch only happens with a hand-placed agent.
package wire

import (
	"encoding/json"
	"net/http"
)

// Version of the protocol.
const Version = 3

// Message types.
const (
	Hello       = "hello"
	Create      = "create"
	Restore     = "restore"
	Send        = "send"    // a standby increment: tar the listed paths into one object
	Receive     = "receive" // a standby increment: extract that object into a directory
	Ready       = "ready"
	Unreachable = "unreachable"
	Start       = "start"
	Stop        = "stop"
	Need        = "need"
	Grant       = "grant"
	Part        = "part"
	Progress    = "progress"
	Entries     = "entries"
	Created     = "created"
	Restored    = "restored"
	Sent        = "sent"     // size: bytes of the tar stream stored
	Received    = "received" // size: bytes of the tar stream extracted
	Failed      = "failed"
)

// Msg is one line. Type says which fields are set.
type Msg struct {
	Type string `json:"type"`

	// hello
	Version int    `json:"version,omitempty"`
	OS      string `json:"os,omitempty"`
	Arch    string `json:"arch,omitempty"`

	CreateJob  *CreateJob  `json:"create,omitempty"`
	RestoreJob *RestoreJob `json:"restore,omitempty"`
	SendJob    *SendJob    `json:"send,omitempty"`
	ReceiveJob *ReceiveJob `json:"receive,omitempty"`

	// need, grant, part: the part number (0: the object's GET URL)
	N int `json:"n,omitempty"`
	// need: the URL held failed as expired (or was refused): mint another
	Renew   bool     `json:"renew,omitempty"`
	Request *Request `json:"request,omitempty"` // grant
	ETag    string   `json:"etag,omitempty"`    // part
	// part; sent, received: the stream's bytes; start of a receive: the
	// object's size
	Size int64 `json:"size,omitempty"`

	Done int64 `json:"done,omitempty"` // progress: bytes of tar stream so far

	// start of a create or send into a shared folder: the file scn
	// reserved for the object, to write into; of a receive from one: the
	// object's file, to read
	File string `json:"file,omitempty"`

	// created: the data fields of the manifest, without its entries
	Manifest json.RawMessage `json:"manifest,omitempty"`
	// entries: a JSON array of the next snapshot entries, in archive order
	Entries json.RawMessage `json:"entries,omitempty"`
	// restored, and failed when the restore got as far as a verdict: a
	// snapshot.RestoreResult
	Result json.RawMessage `json:"result,omitempty"`

	Error string `json:"error,omitempty"` // unreachable, grant, failed

	// created, restored: the agent's peak resident set in bytes (Linux's
	// VmHWM; 0 where the system does not say), so scn can report what
	// the data plane cost the machine.
	PeakRSS int64 `json:"peak_rss,omitempty"`

	// every message but hello: the bodies of the job's HTTP requests the
	// agent sent and of the responses it read, retries included (headers
	// and TLS framing are not counted). A shared folder moves nothing
	// over the network.
	NetSent     int64 `json:"net_sent,omitempty"`
	NetReceived int64 `json:"net_received,omitempty"`
}

// Request is a presigned HTTP request. ValidFor is counted from when the
// agent receives it, so the machine's clock does not matter.
type Request struct {
	Method   string      `json:"method"`
	URL      string      `json:"url"`
	Header   http.Header `json:"header,omitempty"`
	ValidFor float64     `json:"valid_for"` // seconds
}

// Access says how the agent reaches the store for one object.
type Access struct {
	// Presigned: URLs from scn (Need/Grant), Probe a HEAD to try first;
	// CA is PEM of extra certificate authorities to trust (a private or
	// test endpoint; public stores need none).
	Presigned bool     `json:"presigned,omitempty"`
	Probe     *Request `json:"probe,omitempty"`
	CA        string   `json:"ca,omitempty"`
	// File: the object's file on a filesystem shared with scn (to read,
	// or reserved to write into), and a file holding ProbeToken to try
	// first.
	File       string `json:"file,omitempty"`
	ProbeFile  string `json:"probe_file,omitempty"`
	ProbeToken string `json:"probe_token,omitempty"`

	PartSize    int64 `json:"part_size,omitempty"`   // upload parts; downloads use up to 8 MiB of it
	Concurrency int   `json:"concurrency,omitempty"` // requests in flight
	Attempts    int   `json:"attempts,omitempty"`    // per request, first included
}

// CreateJob snapshots a directory of the machine into one object.
type CreateJob struct {
	Path    string   `json:"path"`
	Exclude []string `json:"exclude,omitempty"`
	Hash    string   `json:"hash"` // per-file hash algorithm
	Store   Access   `json:"store"`
}

// RestoreJob restores a snapshot into a directory of the machine.
type RestoreJob struct {
	Path     string          `json:"path"`
	Manifest json.RawMessage `json:"manifest"`
	Size     int64           `json:"size"` // of the data object
	Verify   bool            `json:"verify"`
	Store    Access          `json:"store"`
}

// SendJob archives the listed entries of a directory (paths relative to
// it, "./a/b", each named: no recursion) into one object, as the machine's
// tar writes them in POSIX format: a standby increment, read back by a
// ReceiveJob on the standby. An entry gone since it was listed is skipped;
// the next cycle sees its deletion.
type SendJob struct {
	Path  string   `json:"path"`
	Paths []string `json:"paths"`
	Store Access   `json:"store"`
}

// ReceiveJob extracts the object a SendJob stored into a directory (made
// if missing) with the machine's tar, keeping modes and times and leaving
// owners to whoever runs it. The object's size comes with Start.
type ReceiveJob struct {
	Path  string `json:"path"`
	Store Access `json:"store"`
}
