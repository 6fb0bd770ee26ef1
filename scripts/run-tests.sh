#!/usr/bin/env bash
# Runs every test of sanswitch on a Debian 12 machine. Installs what is missing first
# (a Java 17 JDK, Maven, iproute2 for the network-namespace test, libucx0 for the RDMA backend, gcc + libucx-dev to build its JNI library
# and ucx-utils for its benchmark's ucx_perftest, from Debian's packages) when run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

. ./scripts/debian-packages.sh
install_missing ip:iproute2 ucx_perftest:ucx-utils

exec mvn -B -ntp verify "$@"
