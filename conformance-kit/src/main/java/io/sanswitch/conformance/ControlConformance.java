package io.sanswitch.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.SocketHandle;
import io.sanswitch.spi.Winsock;
import io.sanswitch.spi.WsaError;
import io.sanswitch.spi.WsaException;
import io.sanswitch.testing.Checks;

/**
 * What a backend answers through the engine beyond the data itself: the address list, and the
 * order in which sends of very different sizes complete (a backend may switch protocols by size).
 */
public abstract class ControlConformance extends KitTestBase {

    private KitProvider.Pair pair() throws Exception {
        a.startup();
        b.startup();
        KitSwitch.Event accepts = new KitSwitch.Event();
        InetSocketAddress at = freeAddress();
        SocketHandle listener = b.listen(at, 4, accepts);
        return a.connectTo(b, listener, accepts, at);
    }

    @Test
    @Checks({"RD-address-list", "ERR-ioctl"})
    void theAddressListQueryAnswersTheAddressesOfTheHostsUpInterfaces() throws Exception {
        KitProvider.Pair p = pair();
        ByteBuffer out = ByteBuffer.allocate(4096);
        int written = a.engine.ioctl(p.client(), Winsock.SIO_ADDRESS_LIST_QUERY, null, out);
        assertEquals(out.position(), written, "the answered length is what was written");
        ByteBuffer in = out.flip();
        int count = in.getInt();
        Set<String> answered = new TreeSet<>();
        for (int i = 0; i < count; i++) {
            byte[] address = new byte[in.get()];
            in.get(address);
            assertTrue(address.length == 4 || address.length == 16, "address length " + address.length);
            answered.add(HexFormat.of().formatHex(address));
        }
        assertEquals(0, in.remaining(), "nothing after the " + count + " addresses");
        Set<String> up = new TreeSet<>();
        for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (ni.isUp()) {
                for (InetAddress address : Collections.list(ni.getInetAddresses())) {
                    up.add(HexFormat.of().formatHex(address.getAddress()));
                }
            }
        }
        assertEquals(up, answered, "the provider's local addresses");
        assertTrue(answered.contains(HexFormat.of().formatHex(backend().address().getAddress())),
                "the address the backend's sockets use is in the list");
        WsaException small = assertThrows(WsaException.class,
                () -> a.engine.ioctl(p.client(), Winsock.SIO_ADDRESS_LIST_QUERY, null, ByteBuffer.allocate(written - 1)));
        assertEquals(WsaError.WSAEFAULT, small.error(), "an output buffer one byte short");
    }

    @Test
    @Checks("OV-order")
    void sendsOfMixedSizesCompleteInTheOrderTheyWerePosted() throws Exception {
        KitProvider.Pair p = pair();
        // Sizes across every protocol switch a backend may make (inline, eager, rendezvous).
        int[] sizes = {1, 1 << 20, 7, 64 * 1024, 100, 4 << 20, 3, 8 * 1024, 1 << 16 | 1, 2, 256 * 1024, 1};
        Random random = new Random(21);
        List<Overlapped> posted = new ArrayList<>();
        List<byte[]> sent = new ArrayList<>();
        int total = 0;
        for (int round = 0; round < 3; round++) {
            for (int size : sizes) {
                byte[] data = new byte[size];
                random.nextBytes(data);
                sent.add(data);
                total += size;
                posted.add(a.send(p.client(), data, Overlapped.Mode.NOTIFY));
            }
        }
        byte[] received = b.receiveExactly(p.server(), total, 1 << 20);
        for (Overlapped ov : posted) {
            assertTrue(KitProvider.await(ov).isSuccess());
            assertEquals(1, a.upcalls.settledCompletionsOf(ov));
        }
        assertEquals(posted, a.upcalls.completionOrder, "sends completed in posting order");
        ByteBuffer all = ByteBuffer.wrap(received);
        for (byte[] data : sent) {
            byte[] part = new byte[data.length];
            all.get(part);
            assertArrayEquals(data, part);
        }
    }
}
