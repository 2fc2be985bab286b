#!/usr/bin/env bash
# Runs a command inside the test network namespace "pbtest": only the loopback interface, so
# nothing a test starts (the Samba DC) or sends can reach beyond this machine. Idempotent.
# /etc/netns/pbtest/hosts maps the test DC's certificate name to loopback inside the namespace.
#   bash scripts/in-test-netns.sh npx jest test/primitives/active-directory.test.ts
set -euo pipefail
NS=${PB_TEST_NETNS:-pbtest}
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null 2>&1; then
  echo "in-test-netns: needs root and iproute2 to make the namespace; running without it" >&2
  exec "$@"
fi
if [ -n "${PB_IN_TEST_NETNS:-}" ]; then exec "$@"; fi
mkdir -p "/etc/netns/$NS"
printf '127.0.0.1 localhost dc1.procall.test dc1\n::1 localhost\n' > "/etc/netns/$NS/hosts"
ip netns list | grep -qw "^$NS" || ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
# Processes already in the namespace: another test run's, or leftovers of a run that was killed (its
# Samba DC then holds port 636 and the next run's DC cannot start). Named here; stopped only on request,
# because a second run in the same namespace would lose its DC.
left=$(ip netns pids "$NS" | tr '\n' ' ')
if [ -n "${left// /}" ]; then
  echo "in-test-netns: processes already run in namespace $NS:" >&2
  for p in $left; do echo "  $p $(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | cut -c1-120)" >&2; done
  if [ "${PB_TEST_NETNS_KILL_LEFTOVERS:-}" = 1 ]; then
    echo "in-test-netns: PB_TEST_NETNS_KILL_LEFTOVERS=1: stopping them" >&2
    kill $left 2>/dev/null || true
    sleep 3
    kill -9 $(ip netns pids "$NS") 2>/dev/null || true
  else
    echo "in-test-netns: if no other test run uses $NS, they are leftovers of a killed run: rerun with PB_TEST_NETNS_KILL_LEFTOVERS=1, or use another PB_TEST_NETNS" >&2
  fi
fi
exec ip netns exec "$NS" env PB_IN_TEST_NETNS="$NS" "$@"
