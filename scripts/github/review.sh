#!/usr/bin/env bash
# Pull-request review of drills (action.yml, mode: review): scn validate
# with GitHub annotations (mistakes show on the diff), then scn plan as
# Markdown — steps, resources, worst-case cost, what each drill proves —
# into the job summary and one comment on the pull request, updated on
# every push. Nothing runs and nothing is rented.
#
# Environment: SCN_SCENARIOS (globs), SCN_TARGET (prices come from it),
# SCN_COMMENT (false: no comment), GITHUB_TOKEN, and what GitHub sets
# (GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_EVENT_PATH, GITHUB_REF,
# GITHUB_STEP_SUMMARY). Exit: scn validate's (2 when a file has a mistake).
set -uo pipefail
# shellcheck source=scripts/github/lib.sh
. "$(dirname "$0")/lib.sh"

scn=$(scn_bin)
scenario_files || exit 2
marker="<!-- scn-plan -->"
body=$(mktemp)
trap 'rm -f "$body"' EXIT

"$scn" validate --format github "${files[@]}"
valid=$?
{
	echo "$marker"
	if [ "$valid" -ne 0 ]; then
		echo "## ❌ scn: the drills have mistakes"
		echo
		echo "\`scn validate\` found problems: they are annotated on the diff (Files changed). Nothing was planned."
	else
		echo "## scn: what these drills will do"
		echo
		"$scn" plan --markdown --target "${SCN_TARGET:-local}" "${files[@]}" || valid=$?
	fi
} >"$body"

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
	tail -n +2 "$body" >>"$GITHUB_STEP_SUMMARY"
fi
pr=$(pr_number)
if [ "${SCN_COMMENT:-true}" = true ] && [ -n "$pr" ]; then
	# A fork's pull request gets a read-only token: say so, do not fail the review.
	comment_on_pr "$pr" "$marker" "$body" ||
		echo "::warning title=scn::could not comment on pull request #$pr (a fork's read-only token?): the plan is in the job summary"
fi
exit "$valid"
