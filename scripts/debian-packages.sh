# Sourced by run-demo.sh and run-tests.sh: installs from Debian's packages what the build needs
# and is missing (a Java 17 JDK, Maven, libucx0 for the RDMA provider, gcc + libucx-dev to build
# its JNI library), plus the packages the caller names as "command:package" pairs, when run as
# root; otherwise prints the one apt-get line to run and exits 2.
install_missing() {
  local need=() pair
  command -v javac >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null 2>&1 || need+=(maven)
  # libucp.so.0 is what the rdma bundle's JUCX library links against. (grep reads all of
  # ldconfig's output: with -q it could exit early and pipefail would see ldconfig's SIGPIPE.)
  dpkg -s libucx0 >/dev/null 2>&1 \
    || PATH="$PATH:/sbin:/usr/sbin" ldconfig -p 2>/dev/null | grep 'libucp\.so\.0 ' >/dev/null \
    || need+=(libucx0)
  # The rdma bundle compiles its JNI library against UCX's headers with gcc.
  [ -f /usr/include/ucp/api/ucp.h ] || need+=(libucx-dev)
  command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
  done
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "missing ${need[*]}: run 'sudo apt-get install -y ${need[*]}' first" >&2
      exit 2
    fi
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
  fi
}
