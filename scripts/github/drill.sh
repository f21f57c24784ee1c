#!/usr/bin/env bash
# Runs drills (action.yml, mode: drill), for a schedule or a manual run:
# scn run with a JUnit and an HTML report and every run's directory
# (journal, metrics, report) under SCN_RESULTS, which the action uploads
# as an artifact whatever the outcome. scn itself writes the job summary.
#
# Environment: SCN_SCENARIOS (globs), SCN_TARGET, SCN_RESULTS (default
# scn-results), SCN_ARGS (more scn run flags, e.g. --parallel 2 --max-cost
# 5), GITHUB_OUTPUT. Exit: scn run's (0 pass, 1 fail, 2 bad input).
set -uo pipefail
# shellcheck source=scripts/github/lib.sh
. "$(dirname "$0")/lib.sh"

scn=$(scn_bin)
scenario_files || exit 2
results=${SCN_RESULTS:-scn-results}
mkdir -p "$results"
read -r -a extra <<<"${SCN_ARGS:-}"

# --yes: a scheduled run has nobody to ask; the workflow is the consent.
"$scn" run "${files[@]}" --target "${SCN_TARGET:-local}" --yes \
	--junit "$results/junit.xml" --html "$results/report.html" --out "$results/runs" "${extra[@]}"
rc=$?
if [ -n "${GITHUB_OUTPUT:-}" ]; then
	echo "results=$results" >>"$GITHUB_OUTPUT"
fi
exit "$rc"
