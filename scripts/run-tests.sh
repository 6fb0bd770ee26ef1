#!/usr/bin/env bash
# Runs every test of sanswitch on a Debian 12 machine. Installs what is missing first
# (a Java 17 JDK, Maven, iproute2 for the network-namespace test, libucx0 for the RDMA backend, gcc + libucx-dev to build its JNI library
# and ucx-utils for its benchmark's ucx_perftest, from Debian's packages) when run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v javac >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
# libucp.so.0 is what the rdma bundle's JUCX library links against. (grep reads all of
# ldconfig's output: with -q it could exit early and pipefail would see ldconfig's SIGPIPE.)
has_libucp() {
  dpkg -s libucx0 >/dev/null 2>&1 \
    || PATH="$PATH:/sbin:/usr/sbin" ldconfig -p 2>/dev/null | grep 'libucp\.so\.0 ' >/dev/null
}
has_libucp || need+=(libucx0)
# The rdma bundle compiles its JNI library against UCX's headers with gcc.
[ -f /usr/include/ucp/api/ucp.h ] || need+=(libucx-dev)
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v ucx_perftest >/dev/null 2>&1 || need+=(ucx-utils)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing ${need[*]}: run 'sudo apt-get install -y ${need[*]}' first" >&2
    exit 2
  fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi

exec mvn -B -ntp verify "$@"
