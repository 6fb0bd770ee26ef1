#!/usr/bin/env bash
# The main job in one command on a Debian 12 machine: installs what is missing (a Java 17 JDK,
# Maven, libucx0 for the RDMA provider and gcc + libucx-dev to build its JNI library, from Debian's packages) when run as root, builds the
# launcher, and runs its demo (exit 0 when every step behaved). Extra arguments go to the
# launcher, e.g. --verbose for the bundles' log lines.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v javac >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
# libucp.so.0 is what the rdma bundle's JUCX library links against (grep reads all of
# ldconfig's output, so pipefail never sees a SIGPIPE).
has_libucp() {
  dpkg -s libucx0 >/dev/null 2>&1 \
    || PATH="$PATH:/sbin:/usr/sbin" ldconfig -p 2>/dev/null | grep 'libucp\.so\.0 ' >/dev/null
}
has_libucp || need+=(libucx0)
# The rdma bundle compiles its JNI library against UCX's headers with gcc.
[ -f /usr/include/ucp/api/ucp.h ] || need+=(libucx-dev)
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing ${need[*]}: run 'sudo apt-get install -y ${need[*]}' first" >&2
    exit 2
  fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi

# Only what the launcher embeds is built; the tests are the other command's job.
mvn -B -ntp -q -pl launcher -am package -DskipTests
echo
# UCX's signal handlers must stay away from the JVM's (the launcher would otherwise restart
# itself with this set); UCX warns about the connections the demo resets on purpose.
UCX_ERROR_SIGNALS= UCX_LOG_LEVEL="${UCX_LOG_LEVEL:-error}" exec java -jar launcher/target/sanswitch-launcher.jar --demo "$@"
