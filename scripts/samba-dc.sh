#!/usr/bin/env bash
# A throw-away Samba 4 AD domain controller for the Active Directory tests and benchmark.
#   bash scripts/samba-dc.sh template        provision once into .tools/samba-template.tgz (cached, ~10 s)
#   bash scripts/samba-dc.sh unpack <dir>    copy the provisioned DC into <dir> (empty or missing)
#   bash scripts/samba-dc.sh start <dir>     start samba on <dir> and wait for LDAPS (certificate checked)
#   bash scripts/samba-dc.sh stop <dir>      stop the samba started on <dir>
#   bash scripts/samba-dc.sh env <dir>       print the connection facts as KEY=value lines
# `start` runs only inside the loopback-only test namespace: use scripts/in-test-netns.sh.
# Realm PROCALL.TEST, host dc1: the DC's certificate is issued to dc1.procall.test, which the
# namespace's hosts file maps to 127.0.0.1, so clients keep certificate checks on with private/tls/ca.pem.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=$PWD/.tools
TEMPLATE=$TOOLS/samba-template.tgz
STAMP=$TOOLS/samba-template.version
# Bump the first field when the provisioning options change: the cached tarball is rebuilt.
VERSION="3 $(samba --version 2>/dev/null || echo none)"
REALM=PROCALL.TEST DOMAIN=PROCALL HOST=dc1 FQDN=dc1.procall.test BASE_DN=DC=procall,DC=test
ADMIN_PASSWORD='Adm1n!Passw0rd'
say() { printf 'samba-dc: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# Paths inside the provisioned folder that smb.conf names; rewritten when the folder moves.
conf_opts() {
  local d=$1
  printf '%s\n' --option="interfaces=lo" --option="bind interfaces only=yes" --option="disable netbios=yes" \
    --option="log file=$d/log.%m" --option="pid directory=$d/run" --option="lock directory=$d/run/lock" \
    --option="winbindd socket directory=$d/run/winbindd" --option="ntp signd socket directory=$d/run/ntp_signd" \
    --option="dsdb:schema update allowed=true"
}

make_template() {
  command -v samba-tool >/dev/null || die "samba-tool is missing: run 'npm run setup' (Debian packages samba, samba-common-bin)"
  mkdir -p "$TOOLS"
  exec 9>"$TOOLS/samba-template.lock"
  flock 9
  if [ -f "$TEMPLATE" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$VERSION" ]; then return 0; fi
  local d; d=$(mktemp -d "$TOOLS/samba-provision.XXXXXX")
  say "provisioning the template domain controller (about 10 s)"
  local opts=(); mapfile -t opts < <(conf_opts "$d")
  # Provisioning opens no socket, so it may run outside the namespace.
  if ! samba-tool domain provision --realm="$REALM" --domain="$DOMAIN" --server-role=dc --dns-backend=NONE \
      --adminpass="$ADMIN_PASSWORD" --use-rfc2307 --targetdir="$d" --host-ip=127.0.0.1 --host-name="$HOST" \
      "${opts[@]}" >"$d.log" 2>&1; then
    tail -20 "$d.log" >&2; rm -rf "$d" "$d.log"; die "provisioning failed"
  fi
  rm -f "$d.log"
  printf '%s\n' "$d" > "$d/.pb-provisioned-at"
  tar -C "$d" -czf "$TEMPLATE.partial" .
  mv -f "$TEMPLATE.partial" "$TEMPLATE"
  printf '%s\n' "$VERSION" > "$STAMP"
  rm -rf "$d"
}

unpack() {
  local d=$1
  make_template
  mkdir -p "$d"
  [ -z "$(ls -A "$d")" ] || die "unpack: $d is not empty"
  tar -C "$d" -xzf "$TEMPLATE"
  local old; old=$(cat "$d/.pb-provisioned-at")
  d=$(cd "$d" && pwd)
  # smb.conf holds absolute paths of the provisioning folder; point them at the copy.
  sed -i "s|$old|$d|g" "$d/etc/smb.conf"
  printf '%s\n' "$d" > "$d/.pb-provisioned-at"
  mkdir -p "$d/run/lock"
}

start() {
  [ -n "${PB_IN_TEST_NETNS:-}" ] || die "refusing to start samba outside the test network namespace: run it as 'bash scripts/in-test-netns.sh bash scripts/samba-dc.sh start $1'"
  [ -d "$1" ] || die "start: $1 does not exist: run 'samba-dc.sh unpack $1' first"
  local d; d=$(cd "$1" && pwd)
  [ -f "$d/etc/smb.conf" ] || die "start: $d holds no domain controller: run 'samba-dc.sh unpack $d' first"
  if [ -f "$d/samba.pid" ] && kill -0 "$(cat "$d/samba.pid")" 2>/dev/null; then die "start: samba already runs on $d"; fi
  mkdir -p "$d/run/lock"
  # One DC per namespace: ports 389/636 on loopback are shared by everything inside it.
  if (exec 3<>/dev/tcp/127.0.0.1/636) 2>/dev/null; then die "start: port 636 is taken in this namespace (another DC still running? 'samba-dc.sh stop <its dir>')"; fi
  # Only the LDAP server: no KDC, DNS or SMB is needed to test LDAPS. One process (the tests) unless
  # PB_SAMBA_PROCESS_MODEL says otherwise: 'prefork' answers on several cores, as a real DC does (the benchmark).
  setsid samba -F --no-process-group -M "${PB_SAMBA_PROCESS_MODEL:-single}" --option='server services=ldap' -s "$d/etc/smb.conf" \
    >"$d/samba.out" 2>&1 < /dev/null &
  echo $! > "$d/samba.pid"
  local i
  for i in $(seq 1 300); do
    if LDAPTLS_CACERT="$d/private/tls/ca.pem" ldapsearch -LLL -x -H "ldaps://$FQDN" -b '' -s base dnsHostName >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "$(cat "$d/samba.pid")" 2>/dev/null || { tail -20 "$d/samba.out" >&2; die "samba exited during start"; }
    sleep 0.1
  done
  tail -20 "$d/samba.out" >&2
  die "LDAPS did not answer within 30 s"
}

stop() {
  local d=$1 pid
  [ -f "$d/samba.pid" ] || return 0
  pid=$(cat "$d/samba.pid")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$d/samba.pid"
}

print_env() {
  local d; d=$(cd "$1" && pwd)
  printf '%s\n' "URL=ldaps://$FQDN" "FQDN=$FQDN" "BASE_DN=$BASE_DN" "ADMIN_DN=CN=Administrator,CN=Users,$BASE_DN" \
    "ADMIN_PASSWORD=$ADMIN_PASSWORD" "CA_FILE=$d/private/tls/ca.pem" "SAM_LDB=$d/private/sam.ldb" "SMB_CONF=$d/etc/smb.conf"
}

cmd=${1:-}; shift || true
case "$cmd" in
  template) make_template ;;
  unpack) [ $# = 1 ] || die "usage: samba-dc.sh unpack <dir>"; unpack "$1" ;;
  start) [ $# = 1 ] || die "usage: samba-dc.sh start <dir>"; start "$1" ;;
  stop) [ $# = 1 ] || die "usage: samba-dc.sh stop <dir>"; stop "$1" ;;
  env) [ $# = 1 ] || die "usage: samba-dc.sh env <dir>"; print_env "$1" ;;
  *) die "usage: samba-dc.sh template | unpack <dir> | start <dir> | stop <dir> | env <dir>" ;;
esac
