#!/usr/bin/env bash
# Builds scn from the action's own checkout (GITHUB_ACTION_PATH: the
# action's version is the scn version) and puts it on the job's PATH.
set -euo pipefail
bin="${RUNNER_TEMP:?}/scn-bin"
mkdir -p "$bin"
cd "${GITHUB_ACTION_PATH:?}"
CGO_ENABLED=0 go build -trimpath -o "$bin/scn" ./cmd/scn
echo "$bin" >>"${GITHUB_PATH:?}"
"$bin/scn" --version
