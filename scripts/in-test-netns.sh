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
exec ip netns exec "$NS" env PB_IN_TEST_NETNS="$NS" "$@"
