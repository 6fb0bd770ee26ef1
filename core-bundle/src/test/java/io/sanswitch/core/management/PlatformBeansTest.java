package io.sanswitch.core.management;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;

import javax.management.MBeanServer;
import javax.management.MBeanServerFactory;
import javax.management.ObjectName;

import org.junit.jupiter.api.Test;

class PlatformBeansTest {
    private final MBeanServer server = MBeanServerFactory.newMBeanServer();
    private final PlatformBeans beans = new PlatformBeans(server);

    /** The smallest valid MXBean. */
    public interface ProbeMXBean {
        int getValue();
    }

    @Test
    void namesAreInTheOneDomainAndQuotedOnlyWhereJmxNeedsIt() throws Exception {
        assertEquals(new ObjectName("io.sanswitch:type=Provider,name=ucx"), PlatformBeans.name("Provider", "ucx"));
        assertEquals(new ObjectName("io.sanswitch:type=Switch"), PlatformBeans.name("Switch", null));
        ObjectName odd = PlatformBeans.name("Provider", "a,b=c:*");
        assertEquals("a,b=c:*", ObjectName.unquote(odd.getKeyProperty("name")), "a backend's name comes back as it was");
        assertEquals(new ObjectName("io.sanswitch:type=Provider,name=ucx,service=42"),
                PlatformBeans.with(PlatformBeans.name("Provider", "ucx"), "service", "42"));
    }

    @Test
    void aSecondBeanOfTheSameNameTakesTheFallbackAndBothGoAgain() throws Exception {
        ObjectName preferred = PlatformBeans.name("Provider", "ucx");
        ObjectName fallback = PlatformBeans.with(preferred, "service", "7");
        ProbeMXBean probe = () -> 1;
        assertEquals(preferred, beans.register(probe, preferred, fallback));
        assertEquals(fallback, beans.register((ProbeMXBean) () -> 2, preferred, fallback));
        assertEquals(2, server.getAttribute(fallback, "Value"));
        assertNull(beans.register((ProbeMXBean) () -> 3, preferred, fallback), "both names taken: logged, not thrown");

        beans.unregister(preferred);
        beans.unregister(fallback);
        beans.unregister(fallback); // already gone: quiet
        beans.unregister(null);
        assertEquals(Set.of(), server.queryNames(new ObjectName("io.sanswitch:*"), null));
    }

    @Test
    void anObjectThatIsNoMBeanIsLoggedNotThrown() {
        assertNull(beans.register(new Object(), PlatformBeans.name("Switch", null), PlatformBeans.name("Switch", "x")));
        assertTrue(server.queryNames(null, null).stream().noneMatch(n -> "io.sanswitch".equals(n.getDomain())));
    }
}
