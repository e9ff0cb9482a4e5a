# seed-shoot [--timeout MS] CMD ARGS...: runs CMD in an ephemeral VM through the node's shoot
# endpoint (docs/api.md "POST /shoot"), printing its stdout and stderr as they come, and exits
# with the command's exit code: 124 when it timed out (after printing what it wrote), 125 when
# the endpoint refused or failed (its reason on stderr). Needs bash, curl, jq, base64 and sed;
# runtime.nix wraps it with writeShellApplication, and src/api/shoot's test runs it as is.
set -euo pipefail
timeout=30000
if [ "${1:-}" = "--timeout" ]; then timeout=$2; shift 2; fi
[ $# -gt 0 ] || { echo "usage: seed-shoot [--timeout MS] COMMAND [ARGS...]" >&2; exit 2; }
url=${SEED_SHOOT_URL:-}
if [ -z "$url" ] && [ -r /run/seed/env ]; then
  url=$(sed -n 's/^SEED_SHOOT_URL=//p' /run/seed/env)
fi
[ -n "$url" ] || { echo "seed-shoot: SEED_SHOOT_URL is not set (is seed.shoot.enable on?)" >&2; exit 2; }
body=$(jq -cn --argjson timeout "$timeout" '{command: $ARGS.positional, timeout: $timeout}' --args "$@")

# The NDJSON form: {"stdout":…} / {"stderr":…} lines as the output comes (with "encoding":
# "base64" when the bytes are not UTF-8), the status line last; empty lines are heartbeats. A
# refusal is one problem document with a `detail`; a failure after the start {"error":…}.
status=""
while IFS= read -r line || [ -n "$line" ]; do  # a problem document has no final newline
  [ -n "$line" ] || continue
  stream=$(jq -r 'if has("stdout") then "stdout" elif has("stderr") then "stderr" else "" end' <<<"$line" 2>/dev/null || true)
  if [ -z "$stream" ]; then
    status=$line
    continue
  fi
  if [ "$(jq -r '.encoding // "utf-8"' <<<"$line")" = base64 ]; then
    text() { jq -j ".$stream" <<<"$line" | base64 -d; }
  else
    text() { jq -j ".$stream" <<<"$line"; }
  fi
  if [ "$stream" = stdout ]; then text; else text >&2; fi
done < <(curl -sS -N -X POST -H 'Content-Type: application/json' -H 'Accept: application/x-ndjson' \
           -d "$body" "$url/shoot" || echo '{"error":"the shoot endpoint '"$url"' did not answer (curl failed)"}')
[ -n "$status" ] || { echo "seed-shoot: the shoot endpoint $url gave no status" >&2; exit 125; }
problem=$(jq -r '.error // .detail // empty' <<<"$status" 2>/dev/null || echo "$status")
[ -z "$problem" ] || { echo "seed-shoot: $problem" >&2; exit 125; }
if [ "$(jq -r '.timedOut' <<<"$status")" = true ]; then
  echo "seed-shoot: the command timed out after $timeout ms" >&2
  exit 124
fi
exit "$(jq -r '.exitCode' <<<"$status")"
