#!/usr/bin/env bash
# The main job in one command on a Debian 12 machine: installs what is missing (a Java 17 JDK,
# Maven, libucx0 for the RDMA provider and gcc + libucx-dev to build its JNI library, from Debian's packages) when run as root, builds the
# launcher, and runs its demo (exit 0 when every step behaved). Extra arguments go to the
# launcher, e.g. --verbose for the bundles' log lines.
set -euo pipefail
cd "$(dirname "$0")/.."

. ./scripts/debian-packages.sh
install_missing

# Only what the launcher embeds is built; the tests are the other command's job.
mvn -B -ntp -q -pl launcher -am package -DskipTests
echo
# UCX's signal handlers must stay away from the JVM's (the launcher would otherwise restart
# itself with this set); UCX warns about the connections the demo resets on purpose.
UCX_ERROR_SIGNALS= UCX_LOG_LEVEL="${UCX_LOG_LEVEL:-error}" exec java -jar launcher/target/sanswitch-launcher.jar --demo "$@"
