package io.sanswitch.itests;

import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Map;
import java.util.TreeMap;

import io.sanswitch.api.SocketSwitch;

/**
 * What the core's switch tells of migration beyond the api (docs/migration.md sections 3, 4, 6): its
 * resume ports, the sessions it parked and the bytes it keeps for a resume. The service object is the core's {@code Switch}; its
 * public methods are read by reflection, since the core bundle exports no package with them. A
 * method gone fails the test by name rather than measure nothing.
 */
final class SwitchProbe {
    private final SocketSwitch sw;

    SwitchProbe(SocketSwitch sw) {
        this.sw = sw;
    }

    /** The TCP resume port announced in SESSION; 0 while none is open (migrate off, or no TCP provider). */
    int resumePort() {
        return (int) call("resumePort");
    }

    /** The RDMA resume port a RETURN announces; 0 while none listens over a running RDMA provider. */
    int returnPort() {
        return (int) call("returnPort");
    }

    /** Sessions parked by a move and waiting for their connector's dial. */
    int parkedSessions() {
        return (int) call("parkedSessions");
    }

    /** Bytes the open connections keep of what they sent and the peer has not acknowledged yet. */
    long retainedBytes() {
        return (long) call("retainedBytes");
    }

    /**
     * The memory registrations each open connection holds (its own count, which it gives back whole when
     * it ends), by the connection's description; read from the switch's private fields, a moment old
     * for a connection that is busy. What the switch counts beyond their sum is held by no open
     * connection: a leak.
     */
    Map<String, Integer> registrationsByConnection() {
        Map<String, Integer> held = new TreeMap<>();
        try {
            Field connections = sw.getClass().getDeclaredField("connections");
            connections.setAccessible(true);
            for (Object c : (Iterable<?>) connections.get(sw)) {
                Field live = c.getClass().getDeclaredField("liveRegistrations");
                live.setAccessible(true);
                held.merge(c.toString(), live.getInt(c), Integer::sum);
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new AssertionError("the switch's connections and their registrations cannot be read: " + e, e);
        }
        return held;
    }

    private Object call(String name) {
        try {
            Method m = sw.getClass().getMethod(name);
            return m.invoke(sw);
        } catch (NoSuchMethodException | IllegalAccessException e) {
            throw new AssertionError("the switch " + sw.getClass().getName() + " has no public " + name + "(): " + e, e);
        } catch (InvocationTargetException e) {
            throw new AssertionError(name + "() of the switch failed: " + e.getCause(), e.getCause());
        }
    }
}
