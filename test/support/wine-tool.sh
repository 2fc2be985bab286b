#!/usr/bin/env bash
# Test support: runs `wine <args>` (Wine's reg.exe in a test prefix) for the PowerShell runner's
# tool vectors. A run that fails without a word (non-zero exit, nothing on stdout or stderr: Wine
# could not start the program) is retried up to twice; real failures of reg.exe print a message and
# pass through unchanged. Not for sc.exe, whose `sdshow` exits 1 silently as its normal answer. Seen once in a CI run: `reg export` of an existing key
# exited non-zero with no output. Every retry is logged to $PB_WINE_RETRY_LOG (default
# /tmp/pb-wine-retries.log); a third silent failure also says so on stderr.
set -u
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
rc=0
for attempt in 1 2 3; do
  wine "$@" >"$out" 2>"$err"
  rc=$?
  if [ "$rc" -eq 0 ] || [ -s "$out" ] || [ -s "$err" ]; then
    cat "$out"
    cat "$err" >&2
    exit "$rc"
  fi
  printf '%s wine %s: exit %s without output (attempt %s)\n' "$(date -Is)" "$*" "$rc" "$attempt" >> "${PB_WINE_RETRY_LOG:-/tmp/pb-wine-retries.log}"
  sleep 0.5
done
echo "wine $*: exit $rc three times without any output (Wine could not start the program)" >&2
exit "$rc"
