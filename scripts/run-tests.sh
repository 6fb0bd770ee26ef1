#!/usr/bin/env bash
# Runs every test of sanswitch on a Debian 12 machine. Installs what is missing first
# (a Java 17 JDK, Maven, and iproute2 for the network-namespace test, from Debian's packages)
# when run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v javac >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing ${need[*]}: run 'sudo apt-get install -y ${need[*]}' first" >&2
    exit 2
  fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi

exec mvn -B -ntp verify "$@"
