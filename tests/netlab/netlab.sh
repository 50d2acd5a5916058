#!/usr/bin/env bash
# `npm run netlab`: the Linux NAT lab (tools/netlab/run.ts) with a cleanup trap. Needs root (network namespaces,
# veth, iptables). Without root it skips with a message (exit 0) — except under CI, where it must run.
# Whatever happens (error, Ctrl-C, kill), the trap kills the lab's processes by pid and deletes every network
# namespace of this run (prefix p2pl-<pid>); nothing outside those namespaces is touched.
set -uo pipefail
cd "$(dirname "$0")/../.."

if [ "$(id -u)" != 0 ]; then
  if [ -n "${CI:-}" ]; then echo "netlab: needs root (network namespaces, iptables), and CI must run it" >&2; exit 1; fi
  echo "netlab: skipped: needs root (network namespaces, veth, iptables); run it as root (CI does)"
  exit 0
fi
for tool in ip iptables python3; do
  command -v "$tool" >/dev/null || { echo "netlab: $tool not found (apt-get install iproute2 iptables python3)" >&2; exit 1; }
done
[ -e /dev/net/tun ] || { echo "netlab: /dev/net/tun missing (needed for the delay line when the kernel has no netem)" >&2; exit 1; }
[ -f build/firmware.wasm ] || { echo "netlab: build/firmware.wasm not found: run npm run build first" >&2; exit 1; }

PREFIX="p2pl-$$"
cleanup() {
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${PREFIX}-"); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

node --import tsx tools/netlab/run.ts --prefix "$PREFIX" "$@"
