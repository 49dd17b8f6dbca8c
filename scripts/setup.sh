#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine (run as root): installs the system tools Trellis
# drives and the npm dependencies. Prints nothing when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# command -> Debian package that provides it
declare -A need=(
  [etcd]=etcd-server
  [etcdctl]=etcd-client
  [nft]=nftables
  [ip]=iproute2
  [bridge]=iproute2
  [ping]=iputils-ping
  [curl]=curl
  [iperf3]=iperf3
  [nsenter]=util-linux
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing packages: ${missing[*]}; run this as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "setup: installing $pkgs"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs >/dev/null
fi

# npm ci only when the lock file changed since the last install.
stamp=node_modules/.trellis-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  echo "$want" >"$stamp"
fi
