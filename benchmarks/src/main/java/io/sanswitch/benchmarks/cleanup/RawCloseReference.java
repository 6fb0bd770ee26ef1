package io.sanswitch.benchmarks.cleanup;

import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The floor under the NIO cells: what the kernel and java.nio alone take to reset {@code n}
 * loopback connections the way the NIO backend does (registered with a selector, SO_LINGER 0,
 * closed, the selector left to deregister and close them), with no engine. Same far ends
 * ({@link CleanupPeer}), same machine, same run.
 */
final class RawCloseReference {
    private RawCloseReference() {
    }

    /** Median milliseconds over {@code repeats}. */
    static double medianMs(PeerProcess peer, int n, int repeats) throws IOException {
        double[] ms = new double[repeats];
        for (int r = 0; r < repeats; r++) {
            try {
                ms[r] = once(peer, n);
            } finally {
                peer.next();
            }
        }
        Arrays.sort(ms);
        return ms[(repeats - 1) / 2];
    }

    private static double once(PeerProcess peer, int n) throws IOException {
        List<SocketChannel> channels = new ArrayList<>(n);
        try (Selector selector = Selector.open()) {
            try {
                for (int i = 0; i < n; i++) {
                    SocketChannel c = SocketChannel.open(peer.address());
                    c.configureBlocking(false);
                    c.register(selector, SelectionKey.OP_READ);
                    channels.add(c);
                    if ((i + 1) % 512 == 0 && peer.awaitAccepted(i + 1) < i + 1) {
                        throw new IOException("the peer did not accept " + (i + 1) + " connections");
                    }
                }
                peer.awaitAccepted(n);
                long t0 = System.nanoTime();
                for (SocketChannel c : channels) {
                    c.keyFor(selector).cancel();
                    c.setOption(StandardSocketOptions.SO_LINGER, 0);
                    c.close();
                }
                selector.selectNow(); // deregisters the cancelled keys: the descriptors close here
                return (System.nanoTime() - t0) / 1e6;
            } finally {
                for (SocketChannel c : channels) {
                    c.close();
                }
            }
        }
    }
}
