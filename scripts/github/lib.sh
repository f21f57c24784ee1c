# shellcheck shell=bash
# Shared by the GitHub Action's scripts (action.yml at the repository root):
# which scn to run, which scenario files the action was given, and how to
# put a comment on the pull request. Sourced, not run.

# The scn binary: $SCN (install.sh puts scn on the PATH in a workflow).
scn_bin() { printf '%s\n' "${SCN:-scn}"; }

# scenario_files fills the array `files` with the files matching the
# whitespace-separated globs in $SCN_SCENARIOS ("**" crosses directories),
# in order, each once; a glob matching nothing is an error.
scenario_files() {
	files=()
	local pattern match
	local -a patterns matches
	shopt -s nullglob globstar
	read -r -a patterns <<<"${SCN_SCENARIOS:-scenarios/*.yaml}"
	for pattern in "${patterns[@]}"; do
		# The pattern is a glob on purpose: expand it, without word splitting.
		# shellcheck disable=SC2206
		matches=($pattern)
		if [ "${#matches[@]}" -eq 0 ]; then
			echo "::error title=scn::no scenario file matches ${pattern}"
			return 2
		fi
		for match in "${matches[@]}"; do
			case " ${files[*]} " in *" $match "*) ;; *) files+=("$match") ;; esac
		done
	done
	shopt -u nullglob globstar
}

# pr_number prints the pull request's number, from the event payload (the
# pull_request event) or the ref (refs/pull/N/merge); nothing otherwise.
pr_number() {
	local n=""
	if [ -n "${GITHUB_EVENT_PATH:-}" ] && [ -f "$GITHUB_EVENT_PATH" ]; then
		n=$(jq -r '.pull_request.number // empty' "$GITHUB_EVENT_PATH")
	fi
	if [ -z "$n" ] && [[ "${GITHUB_REF:-}" =~ ^refs/pull/([0-9]+)/ ]]; then
		n=${BASH_REMATCH[1]}
	fi
	printf '%s' "$n"
}

# github_api METHOD PATH [BODY-FILE] calls the GitHub REST API at
# $GITHUB_API_URL (a test points it at a local server) and prints the
# answer. The token goes to curl on stdin, never on its command line.
# Every call is bounded in time.
github_api() {
	local method=$1 path=$2 body=${3:-}
	local -a data=()
	[ -n "$body" ] && data=(--data-binary "@$body")
	printf 'header = "Authorization: Bearer %s"\n' "${GITHUB_TOKEN:?GITHUB_TOKEN is not set}" |
		curl --config - --fail-with-body --silent --show-error --max-time 30 --retry 2 \
			-X "$method" -H "Accept: application/vnd.github+json" -H "X-GitHub-Api-Version: 2022-11-28" \
			"${data[@]}" "${GITHUB_API_URL:-https://api.github.com}$path"
}

# comment_on_pr PR MARKER BODY-FILE puts the body on the pull request as
# one comment, updated in place on the next push: the comment whose body
# starts with MARKER (an HTML comment) is edited, else one is created.
# REST: GET and POST /repos/{owner}/{repo}/issues/{n}/comments, PATCH
# /repos/{owner}/{repo}/issues/comments/{id}
# (docs.github.com/en/rest/issues/comments).
comment_on_pr() {
	local pr=$1 marker=$2 body=$3 payload id
	payload=$(mktemp)
	jq -Rs '{body: .}' <"$body" >"$payload"
	id=$(github_api GET "/repos/$GITHUB_REPOSITORY/issues/$pr/comments?per_page=100" |
		jq -r --arg m "$marker" '[.[] | select(.body | startswith($m))][0].id // empty')
	if [ -n "$id" ]; then
		github_api PATCH "/repos/$GITHUB_REPOSITORY/issues/comments/$id" "$payload" >/dev/null
	else
		github_api POST "/repos/$GITHUB_REPOSITORY/issues/$pr/comments" "$payload" >/dev/null
	fi
	local rc=$?
	rm -f "$payload"
	return $rc
}
