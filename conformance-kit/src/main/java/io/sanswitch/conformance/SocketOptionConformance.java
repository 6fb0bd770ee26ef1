package io.sanswitch.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.testing.Checks;
import io.sanswitch.transport.TransportCapabilities;

/**
 * Socket options through the engine (docs/rules.md NS-options): the engine answers the size
 * options itself, read-only; every other option is the backend's, which answers exactly those it
 * declares in {@link BackendUnderTest#keptOptions()}.
 */
public abstract class SocketOptionConformance extends KitTestBase {

    /** A size option the engine answers, and what it must answer (empty: not on this backend). */
    private record Size(String name, int option, Integer expected) {
    }

    /** Every option the SPI names that the engine hands to the backend. */
    private record Named(String name, int level, int option) {
    }

    private static final List<Named> BACKEND_OPTIONS = List.of(
            new Named("SO_DEBUG", Winsock.SOL_SOCKET, Winsock.SO_DEBUG),
            new Named("SO_LINGER", Winsock.SOL_SOCKET, Winsock.SO_LINGER),
            new Named("SO_GROUP_ID", Winsock.SOL_SOCKET, Winsock.SO_GROUP_ID),
            new Named("SO_GROUP_PRIORITY", Winsock.SOL_SOCKET, Winsock.SO_GROUP_PRIORITY),
            new Named("TCP_NODELAY", Winsock.IPPROTO_TCP, Winsock.TCP_NODELAY),
            new Named("SO_RCVBUF", Winsock.SOL_SOCKET, Winsock.SO_RCVBUF),
            new Named("SO_SNDBUF", Winsock.SOL_SOCKET, Winsock.SO_SNDBUF));

    /** A fresh socket, and both ends of a connection: a backend may keep options apart until it connects. */
    private List<SocketHandle> socketsOfEveryState(List<String> names) throws Exception {
        a.startup();
        b.startup();
        KitSwitch.Event accepts = new KitSwitch.Event();
        InetSocketAddress at = freeAddress();
        SocketHandle listener = b.listen(at, 4, accepts);
        KitProvider.Pair p = a.connectTo(b, listener, accepts, at);
        names.addAll(List.of("fresh", "connecting side", "accepted side"));
        return List.of(a.socket(), p.client(), p.server());
    }

    private KitProvider providerOf(int index) {
        return index == 2 ? b : a;
    }

    /** What the SPI documents for a size the backend declares with 0 for "no limit" (SanServiceProvider.getSockOpt). */
    private static int documented(int declared) {
        return declared == 0 ? Integer.MAX_VALUE : declared;
    }

    @Test
    @Checks({"NS-options", "RD-options"})
    void theEngineAnswersTheSizesFromTheBackendsCapabilitiesAndSettingOneIsWsaENoProtoOptAndChangesNothing()
            throws Exception {
        List<String> names = new ArrayList<>();
        List<SocketHandle> sockets = socketsOfEveryState(names);
        TransportCapabilities declared = a.transport.capabilities();
        List<Size> sizes = List.of(
                new Size("SO_MAX_MSG_SIZE", Winsock.SO_MAX_MSG_SIZE, documented(declared.maxMessageSize())),
                new Size("SO_MAX_RDMA_SIZE", Winsock.SO_MAX_RDMA_SIZE,
                        declared.rdma() ? documented(declared.maxRdmaSize()) : null),
                new Size("SO_RDMA_THRESHOLD_SIZE", Winsock.SO_RDMA_THRESHOLD_SIZE,
                        declared.rdma() ? declared.rdmaThresholdSize() : null));
        for (int i = 0; i < sockets.size(); i++) {
            SocketHandle s = sockets.get(i);
            KitProvider p = providerOf(i);
            for (Size size : sizes) {
                String what = size.name() + " of the " + names.get(i) + " socket";
                Executable get = () -> p.engine.getSockOpt(s, Winsock.SOL_SOCKET, size.option());
                if (size.expected() == null) {
                    assertFails(WsaError.WSAENOPROTOOPT, get, what + " without RDMA");
                } else {
                    assertEquals(size.expected(), p.engine.getSockOpt(s, Winsock.SOL_SOCKET, size.option()), what);
                }
                for (int tried : new int[] {1, Integer.MAX_VALUE}) {
                    assertFails(WsaError.WSAENOPROTOOPT,
                            () -> p.engine.setSockOpt(s, Winsock.SOL_SOCKET, size.option(), tried),
                            "setting " + what + " to " + tried);
                }
                if (size.expected() == null) {
                    assertFails(WsaError.WSAENOPROTOOPT, get, what + " after the refused sets");
                } else {
                    assertEquals(size.expected(), p.engine.getSockOpt(s, Winsock.SOL_SOCKET, size.option()),
                            what + " after the refused sets");
                }
            }
        }
    }

    @Test
    @Checks("NS-options")
    void theBackendKeepsTheOptionsItDeclaresAndAnswersEveryOtherWithWsaENoProtoOpt() throws Exception {
        List<String> names = new ArrayList<>();
        List<SocketHandle> sockets = socketsOfEveryState(names);
        List<KeptOption> kept = backend().keptOptions();
        for (int i = 0; i < sockets.size(); i++) {
            SocketHandle s = sockets.get(i);
            KitProvider p = providerOf(i);
            for (KeptOption k : kept) {
                int[] read = new int[k.sets().length];
                for (int n = 0; n < k.sets().length; n++) {
                    p.engine.setSockOpt(s, k.level(), k.option(), k.sets()[n]);
                    read[n] = p.engine.getSockOpt(s, k.level(), k.option());
                    String what = k + ": read " + read[n] + " after setting " + k.sets()[n] + " on the " + names.get(i) + " socket";
                    if (!k.atLeast()) {
                        assertEquals(k.reads()[n], read[n], what);
                        continue;
                    }
                    assertTrue(read[n] >= k.reads()[n], what);
                    if (n > 0 && k.sets()[n] != k.sets()[n - 1]) {
                        assertEquals(k.sets()[n] > k.sets()[n - 1], read[n] > read[n - 1],
                                what + " (after " + read[n - 1] + " for " + k.sets()[n - 1] + ": an ignored set)");
                    }
                }
            }
            for (Named o : BACKEND_OPTIONS) {
                if (kept.stream().anyMatch(k -> k.is(o.level(), o.option()))) {
                    continue;
                }
                String what = o.name() + ", which " + backend().name() + " does not declare kept, on the "
                        + names.get(i) + " socket";
                assertFails(WsaError.WSAENOPROTOOPT, () -> p.engine.getSockOpt(s, o.level(), o.option()), "get " + what);
                assertFails(WsaError.WSAENOPROTOOPT, () -> p.engine.setSockOpt(s, o.level(), o.option(), 1), "set " + what);
            }
        }
    }

    private static void assertFails(WsaError expected, Executable call, String what) {
        WsaException e = assertThrows(WsaException.class, call, what + ": expected " + expected);
        assertEquals(expected, e.error(), what + ": " + e.getMessage());
    }
}
