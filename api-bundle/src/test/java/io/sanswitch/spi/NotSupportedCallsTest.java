package io.sanswitch.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.sanswitch.testing.Checks;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.junit.jupiter.api.Test;

/**
 * docs/rules.md NS-duplicate and NS-qos: the SPI offers no socket duplication and no quality of
 * service. Checked on its whole call surface (the provider's calls, the upcalls, the calls' error
 * lists, the SAN extensions, the ioctl codes), so that adding such a call fails here until the
 * rule in docs/rules.md is decided again. The FD_QOS event bits stay: they are event-mask bits
 * that are accepted and never recorded (docs/rules.md EV-select), not calls.
 */
class NotSupportedCallsTest {

    /** Every name a call of the SPI is known by. */
    static List<String> callNames() {
        List<String> names = new ArrayList<>();
        for (Class<?> api : List.of(SanServiceProvider.class, UpcallTable.class)) {
            for (Method m : api.getMethods()) {
                names.add(api.getSimpleName() + "." + m.getName());
            }
        }
        for (SpiCall c : SpiCall.values()) {
            names.add("SpiCall." + c.name());
        }
        for (SanExtension e : SanExtension.values()) {
            names.add("SanExtension." + e.name());
        }
        for (Field f : Winsock.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getName().startsWith("SIO_")) {
                names.add("Winsock." + f.getName());
            }
        }
        return names;
    }

    static List<String> namesContaining(List<String> names, String part) {
        return names.stream().filter(n -> n.toLowerCase(Locale.ROOT).contains(part)).toList();
    }

    @Test
    @Checks("NS-duplicate")
    void theSpiHasNoSocketDuplication() {
        assertEquals(List.of(), namesContaining(callNames(), "duplicat"),
                "a duplication call in the SPI: decide docs/rules.md NS-duplicate again (and test it) before adding one");
    }

    @Test
    @Checks("NS-qos")
    void theSpiHasNoQualityOfServiceCalls() {
        assertEquals(List.of(), namesContaining(callNames(), "qos"),
                "a quality-of-service call in the SPI: decide docs/rules.md NS-qos again (and test it) before adding one");
    }

    /** The scan sees what it looks for: the calls it must list, and the names the two checks refuse. */
    @Test
    void theScanCoversTheCallSurfaceAndWouldFindSuchANameInAnyCase() {
        List<String> names = callNames();
        for (String expected : List.of("SanServiceProvider.socket", "UpcallTable.createSocketHandle",
                "SpiCall.IOCTL", "SanExtension.RDMA_WRITE", "Winsock.SIO_ADDRESS_LIST_QUERY")) {
            assertEquals(List.of(expected), names.stream().filter(expected::equals).toList(), "scanned: " + expected);
        }
        List<String> planted = List.of("SanServiceProvider.duplicateSocket", "SpiCall.DUPLICATE_SOCKET",
                "SanServiceProvider.getQosByName", "Winsock.SIO_GET_QOS", "SanServiceProvider.send");
        assertEquals(List.of("SanServiceProvider.duplicateSocket", "SpiCall.DUPLICATE_SOCKET"),
                namesContaining(planted, "duplicat"));
        assertEquals(List.of("SanServiceProvider.getQosByName", "Winsock.SIO_GET_QOS"), namesContaining(planted, "qos"));
    }
}
