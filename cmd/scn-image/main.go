// Command scn-image builds scn's container image as an OCI archive without
// a container daemon (internal/image): `make image` runs it on the static
// binaries `make build` leaves in bin/. A build tool, not shipped.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/scnlabs/scn/internal/image"
)

func main() {
	var o image.Options
	out := flag.String("o", "bin/scn-image.tar", "the OCI archive to write")
	ref := flag.String("tag", "scn:latest", "the image's name in the archive (org.opencontainers.image.ref.name)")
	agents := flag.String("agents", "bin", "directory holding scn-agent-linux-* (all go beside scn)")
	flag.StringVar(&o.SCN, "scn", "", "the static linux scn binary (required)")
	flag.StringVar(&o.Scenarios, "scenarios", "scenarios", "directory of scenarios copied to /scenarios (\"\" for none)")
	flag.StringVar(&o.Arch, "arch", "amd64", "CPU architecture of the scn binary and the image")
	flag.StringVar(&o.Version, "version", "devel", "the version label")
	flag.Parse()
	if o.SCN == "" {
		fail(fmt.Errorf("-scn: name the static scn binary"))
	}
	// SOURCE_DATE_EPOCH (reproducible-builds.org) dates the image.
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		secs, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			fail(fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", s, err))
		}
		o.Created = time.Unix(secs, 0).UTC()
	}
	var err error
	if o.Agents, err = filepath.Glob(filepath.Join(*agents, "scn-agent-linux-*")); err != nil {
		fail(err)
	}
	img, err := image.Build(o)
	if err != nil {
		fail(err)
	}
	if err := image.WriteOCIArchive(*out, img, *ref); err != nil {
		fail(err)
	}
	d, _ := img.Digest()
	fmt.Printf("%s: %s (%s, linux/%s, %d agents)\n", *out, *ref, d, o.Arch, len(o.Agents))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "scn-image:", err)
	os.Exit(1)
}
