package io.sanswitch.rdma;

import java.io.File;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs a child process in a network namespace of its own with only loopback up. For fuzzers that
 * hand UCX addresses with changed bytes: a changed byte inside a transport address can be some
 * real host's address, which UCX would try to reach; inside the namespace nothing but loopback
 * is reachable. Needs root and util-linux's {@code unshare} (both there in CI).
 */
final class IsolatedNetwork {
    private IsolatedNetwork() {
    }

    /** Why a namespace cannot be made here, or null when it can. */
    static String unavailableBecause() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "a network namespace needs root (this is " + System.getProperty("user.name") + ")";
        }
        if (!new File("/usr/bin/unshare").canExecute()) {
            return "/usr/bin/unshare is missing (util-linux)";
        }
        if (ip() == null) {
            return "ip is missing (iproute2)";
        }
        return null;
    }

    private static String ip() {
        for (String tool : new String[] {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
            if (new File(tool).canExecute()) {
                return tool;
            }
        }
        return null;
    }

    /** {@code command}, run inside a new network namespace in which loopback is up. */
    static List<String> wrap(List<String> command) {
        List<String> wrapped = new ArrayList<>(List.of("/usr/bin/unshare", "--net", "--", "/bin/sh", "-c",
                ip() + " link set lo up && exec \"$@\"", "sh"));
        wrapped.addAll(command);
        return wrapped;
    }
}
