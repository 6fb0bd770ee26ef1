package io.sanswitch.itests.peer;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.util.tracker.ServiceTracker;

import io.sanswitch.api.ProviderMove;
import io.sanswitch.api.SocketSwitch;
import io.sanswitch.api.SwitchServerSocket;
import io.sanswitch.api.SwitchSocket;

/**
 * The application end of {@code MigrationCyclesIT} in the child JVM's framework (the launcher's Felix),
 * a bundle the test builds from these classes and installs through the launcher's shell. Gogo
 * commands in scope {@code cycles}, each answering one line per fact for the test to parse:
 * <ul>
 * <li>{@code cycles:listen N}: migration on (ConfigAdmin, PID io.sanswitch.switch), a listener on
 * loopback, and N connections accepted; each starts with a 4-byte index, then carries a
 * {@link PatternStream} each way. Answers {@code listening PORT}. {@code cycles:listen N R}: the same,
 * this side's streams paced to R MiB/s each.</li>
 * <li>{@code cycles:sockets}: {@code socket INDEX PROVIDER RECEIVED MOVED_AT PAUSE HISTORY} per accepted
 * connection (the last move's start in epoch ms and its pause in ms, -1 when it never moved), then
 * {@code accepted N}.</li>
 * <li>{@code cycles:stall}: {@code stall MS ended EPOCH_MS gc MS failures N [...]}, the longest stall of
 * any receiver since the last call and when it ended, the time this JVM's collectors took since the
 * last call, and what went wrong so far.</li>
 * <li>{@code cycles:finish}: ends this side's streams, waits for the test's ends, and answers
 * {@code connection INDEX sent BYTES SHA received BYTES SHA} and {@code failures N ...}.</li>
 * </ul>
 */
public final class CyclesPeer implements BundleActivator {
    static final String SWITCH_PID = "io.sanswitch.switch";
    static final int MAX_CONNECTIONS = 64;
    private static final long WAIT_MILLIS = PatternStream.WAIT_MILLIS;

    private final PatternStream.Failures failures = new PatternStream.Failures();
    private final GcTime gc = new GcTime();
    private final List<Accepted> accepted = new java.util.concurrent.CopyOnWriteArrayList<>();
    private BundleContext context;
    private ServiceRegistration<?> commands;
    private volatile SwitchServerSocket listener;

    private record Accepted(int index, SwitchSocket socket, PatternStream.Sender sender, PatternStream.Receiver receiver) {
    }

    @Override
    public void start(BundleContext context) {
        this.context = context;
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("osgi.command.scope", "cycles");
        props.put("osgi.command.function", new String[] {"listen", "sockets", "stall", "finish"});
        commands = context.registerService(Object.class.getName(), this, props);
    }

    @Override
    public void stop(BundleContext context) {
        commands.unregister();
        if (listener != null) {
            listener.close();
        }
        for (Accepted a : accepted) {
            a.sender().stop();
            a.socket().close();
        }
    }

    public String listen(int connections) throws Exception {
        return listen(connections, 0);
    }

    /** As {@code cycles:listen N}, each of this side's streams paced to {@code mibPerSecond} MiB/s (0: unpaced). */
    public String listen(int connections, int mibPerSecond) throws Exception {
        if (mibPerSecond < 0) {
            return "error: a rate of " + mibPerSecond + " MiB/s";
        }
        if (connections < 1 || connections > MAX_CONNECTIONS) {
            return "error: connections " + connections + " out of [1, " + MAX_CONNECTIONS + "]";
        }
        SocketSwitch sw = awaitSwitch();
        configureMigration();
        InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        // ConfigAdmin delivers asynchronously: loopback as a SAN subnet shows the configuration is in
        // force (a listener listens over ucx only for a SAN address, docs/rules.md SW-subnet).
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
        SwitchServerSocket l = sw.listen(loopback, 16);
        while (!l.providers().contains("ucx")) {
            l.close();
            if (System.nanoTime() > deadline) {
                return "error: the switch does not listen over ucx on loopback: " + sw.providers();
            }
            Thread.sleep(20);
            l = sw.listen(loopback, 16);
        }
        listener = l;
        Thread acceptor = new Thread(() -> acceptAll(connections, (long) mibPerSecond << 20), "cycles-accept");
        acceptor.setDaemon(true);
        acceptor.start();
        return "listening " + l.localAddress().getPort() + " over " + l.providers();
    }

    private void acceptAll(int connections, long bytesPerSecond) {
        try {
            for (int i = 0; i < connections; i++) {
                SwitchSocket s = listener.accept();
                int index = readIndex(s);
                if (index < 0 || index >= MAX_CONNECTIONS) {
                    s.abort();
                    throw new IllegalStateException("connection index " + index + " out of [0, " + MAX_CONNECTIONS + ")");
                }
                PatternStream.Receiver r = new PatternStream.Receiver("test " + index + " -> child", s, failures);
                PatternStream.Sender snd = new PatternStream.Sender("child " + index + " -> test", s, 1000 + index,
                        bytesPerSecond, failures);
                accepted.add(new Accepted(index, s, snd, r));
            }
        } catch (Throwable e) {
            failures.add("accept", e);
        }
    }

    private static int readIndex(SwitchSocket s) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(4);
        while (b.hasRemaining()) {
            int n = s.receive(b).toCompletableFuture().get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
            if (n < 0) {
                throw new IllegalStateException("end of stream before the connection's index");
            }
        }
        return b.flip().getInt();
    }

    public String sockets() {
        StringBuilder out = new StringBuilder();
        for (Accepted a : accepted) {
            ProviderMove move = a.socket().choice().move();
            out.append("socket ").append(a.index()).append(' ').append(a.socket().provider()).append(' ')
                    .append(a.receiver().received()).append(' ')
                    .append(move == null ? -1 : move.when().toEpochMilli()).append(' ')
                    .append(move == null ? -1 : move.pause().toMillis()).append(' ')
                    .append(a.socket().history()).append('\n');
        }
        return out.append("accepted ").append(accepted.size()).toString();
    }

    public String stall() {
        PatternStream.Stall longest = PatternStream.Stall.NONE;
        for (Accepted a : accepted) {
            longest = longest.max(a.receiver().takeLongestStall());
        }
        return "stall " + longest.millis() + " ended " + longest.endedAt() + " gc " + gc.take() + " failures "
                + failures.list().size() + " " + failures.list();
    }

    public String finish() throws Exception {
        for (Accepted a : accepted) {
            a.sender().stop();
        }
        StringBuilder out = new StringBuilder();
        for (Accepted a : accepted) {
            boolean ended = a.sender().awaitEnd(WAIT_MILLIS) && a.receiver().awaitEnd(WAIT_MILLIS);
            if (!ended || !a.receiver().complete()) {
                failures.add("finish", new IllegalStateException(a.sender() + " / " + a.receiver() + " did not end"));
            }
            out.append("connection ").append(a.index()).append(" sent ").append(a.sender().sent()).append(' ')
                    .append(a.sender().digest()).append(" received ").append(a.receiver().received()).append(' ')
                    .append(a.receiver().digest()).append('\n');
        }
        List<String> seen = new ArrayList<>(failures.list());
        out.append("failures ").append(seen.size());
        for (String f : seen) {
            out.append("\nfailure ").append(f.replace('\n', ' '));
        }
        return out.toString();
    }

    private SocketSwitch awaitSwitch() throws InterruptedException {
        ServiceTracker<SocketSwitch, SocketSwitch> tracker = new ServiceTracker<>(context, SocketSwitch.class, null);
        tracker.open();
        try {
            SocketSwitch sw = tracker.waitForService(WAIT_MILLIS);
            if (sw == null) {
                throw new IllegalStateException("no SocketSwitch within " + WAIT_MILLIS + " ms");
            }
            return sw;
        } finally {
            tracker.close();
        }
    }

    private void configureMigration() throws Exception {
        ServiceReference<ConfigurationAdmin> ref = context.getServiceReference(ConfigurationAdmin.class);
        if (ref == null) {
            throw new IllegalStateException("no ConfigurationAdmin in the child's framework");
        }
        try {
            Dictionary<String, Object> props = new Hashtable<>();
            props.put("sanSubnets", new String[] {"127.0.0.0/8"});
            props.put("migrate", true);
            props.put("resumeTimeoutMillis", 5_000);
            context.getService(ref).getConfiguration(SWITCH_PID, "?").update(props);
        } finally {
            context.ungetService(ref);
        }
    }
}
