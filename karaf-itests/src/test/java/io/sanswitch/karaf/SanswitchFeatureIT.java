package io.sanswitch.karaf;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.ops4j.pax.exam.CoreOptions.maven;
import static org.ops4j.pax.exam.CoreOptions.options;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;
import static org.ops4j.pax.exam.CoreOptions.vmOptions;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.configureConsole;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.karafDistributionConfiguration;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.logLevel;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.PrivilegedActionException;
import java.security.PrivilegedExceptionAction;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.inject.Inject;
import javax.security.auth.Subject;

import org.apache.karaf.jaas.boot.principal.RolePrincipal;
import org.apache.karaf.jaas.boot.principal.UserPrincipal;

import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.api.console.SessionFactory;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.karaf.options.LogLevelOption.LogLevel;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

/**
 * The operator's path in Apache Karaf 4.4: feature:repo-add and feature:install sanswitch, the
 * san:* commands in Karaf's own shell (providers RUNNING on the switch's one reference), the
 * switch's SAN subnet set with config:property-set, and a hot swap with bundle:update of the rdma
 * bundle while san:bench (through the switch, pinned to ucx) and an application's connection are
 * open on it, with migrate set off (they end with the final cleanup's aborts); then bundle:stop (new
 * connections over tcp, saying why) and bundle:start (ucx again); last, migrate back at its default
 * (on), a bundle:update under a stream moves it to tcp and back.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class SanswitchFeatureIT {
    private static final long WAIT_MILLIS = 60_000;
    /** Read in both JVMs: failsafe's sets them, and config() passes them on to Karaf's. */
    private static final String VERSION = System.getProperty("sanswitch.version");
    private static final String KARAF = System.getProperty("sanswitch.karaf.version");

    @Inject
    private SessionFactory sessions;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() {
        String reactorRepo = System.getProperty("sanswitch.reactor.repo");
        String localRepo = System.getProperty("org.ops4j.pax.url.mvn.localRepository", "");
        String pid = "etc/org.ops4j.pax.url.mvn.cfg";
        List<Option> all = new ArrayList<>(List.of(
                karafDistributionConfiguration()
                        .frameworkUrl(maven().groupId("org.apache.karaf").artifactId("apache-karaf-minimal")
                                .type("tar.gz").version(KARAF))
                        .unpackDirectory(new File("target/karaf")).useDeployFolder(false),
                configureConsole().ignoreLocalConsole().ignoreRemoteShell(),
                logLevel(LogLevel.WARN),
                systemProperty("sanswitch.version").value(VERSION),
                // The reactor's artifacts first, before any stale SNAPSHOT in the local repository.
                editConfigurationFilePut(pid, "org.ops4j.pax.url.mvn.defaultRepositories",
                        "file:" + reactorRepo + "@id=reactor@snapshots,"
                                + "file:${karaf.home}/${karaf.default.repository}@id=system.repository@snapshots,"
                                + "file:${karaf.data}/kar@id=kar.repository@multi@snapshots"),
                // What Karaf's start script adds on JDK 9+ and the test container does not (docs/toolchain.md TC-7).
                vmOptions("--add-reads=java.xml=java.logging",
                        "--add-exports=java.base/org.apache.karaf.specs.locator=java.xml,ALL-UNNAMED",
                        "--patch-module", "java.base=lib/endorsed/org.apache.karaf.specs.locator-" + KARAF + ".jar",
                        "--patch-module", "java.xml=lib/endorsed/org.apache.karaf.specs.java.xml-" + KARAF + ".jar",
                        "--add-opens", "java.base/java.security=ALL-UNNAMED",
                        "--add-opens", "java.base/java.net=ALL-UNNAMED",
                        "--add-opens", "java.base/java.lang=ALL-UNNAMED",
                        "--add-opens", "java.base/java.util=ALL-UNNAMED",
                        "--add-opens", "java.naming/javax.naming.spi=ALL-UNNAMED",
                        "--add-opens", "java.rmi/sun.rmi.transport.tcp=ALL-UNNAMED",
                        "--add-exports=java.base/sun.net.www.protocol.file=ALL-UNNAMED",
                        "--add-exports=java.base/sun.net.www.protocol.http=ALL-UNNAMED",
                        "--add-exports=java.base/sun.net.www.protocol.https=ALL-UNNAMED",
                        "--add-exports=java.base/sun.net.www.protocol.jar=ALL-UNNAMED",
                        "--add-exports=java.base/sun.net.www.content.text=ALL-UNNAMED",
                        "--add-exports=jdk.naming.rmi/com.sun.jndi.url.rmi=ALL-UNNAMED",
                        "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED")));
        if (!localRepo.isEmpty()) {
            // pax-url ignores -Dmaven.repo.local (docs/toolchain.md TC-6)
            all.add(editConfigurationFilePut(pid, "org.ops4j.pax.url.mvn.localRepository", localRepo));
        }
        return options(all.toArray(new Option[0]));
    }

    /**
     * Runs one command in a new session of Karaf's shell; what it printed and returned. Karaf
     * registers its commands while its boot features still install after the probe started: a
     * command not found yet is retried, bounded.
     */
    private String run(String command) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
        while (true) {
            try {
                return runOnce(command);
            } catch (Exception e) {
                if (!e.getClass().getSimpleName().equals("CommandNotFoundException")) {
                    throw e;
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("the command of '" + command + "' not registered in Karaf's shell within "
                            + WAIT_MILLIS + " ms", e);
                }
                Thread.sleep(100);
            }
        }
    }

    /**
     * As an operator logged in with the admin role (Karaf checks roles for feature:install and
     * bundle:update): the session is made here, and its command runs on a fresh thread under
     * that subject, as Karaf's own test support does it. What it returns is what the session
     * printed, as {@code bin/client} shows it: a returned value is not part of it.
     */
    private String runOnce(String command) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        Session session = sessions.create(new ByteArrayInputStream(new byte[0]), out, out);
        ExecutorService thread = Executors.newSingleThreadExecutor();
        try {
            Future<Object> result = thread.submit(() -> {
                Subject admin = new Subject();
                admin.getPrincipals().add(new UserPrincipal("karaf"));
                for (String role : new String[] {"admin", "manager", "viewer", "systembundles"}) {
                    admin.getPrincipals().add(new RolePrincipal(role));
                }
                return Subject.doAs(admin, (PrivilegedExceptionAction<Object>) () -> session.execute(command));
            });
            Object r;
            try {
                r = result.get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                Throwable cause = e.getCause() instanceof PrivilegedActionException p ? p.getException() : e.getCause();
                throw cause instanceof Exception x ? x : new IllegalStateException(cause);
            }
            out.flush();
            // bin/client, its batch mode and ssh exec print what a command writes, never what it
            // returns: the san commands must say everything in their output.
            if (command.startsWith("san:") && r != null) {
                fail(command + " returned a value, which bin/client would not print: " + r);
            }
            return bytes.toString(StandardCharsets.UTF_8);
        } finally {
            thread.shutdownNow();
            session.close();
        }
    }

    /**
     * Runs {@code commands} (a config edit) until {@code san:switch} shows it in force, again after
     * each 10 s without: Karaf's file watcher can apply an earlier update's etc/ file after this one
     * and undo it (seen under load, also after one edit with one update); an operator would set it again.
     */
    private void configure(String commands, Predicate<String> inForce, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
        String last = "";
        while (System.nanoTime() < deadline) {
            run(commands);
            long retry = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < retry) {
                last = run("san:switch");
                if (inForce.test(last)) {
                    return;
                }
                Thread.sleep(100);
            }
            System.out.println("[config] not in force after 10 s, set again: " + what);
        }
        fail(what + " not in force; san:switch printed:\n" + last);
    }

    private String eventually(String command, Predicate<String> condition, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
        String last = run(command);
        while (!condition.test(last)) {
            if (System.nanoTime() > deadline) {
                fail(what + "; " + command + " printed:\n" + last);
            }
            Thread.sleep(100);
            last = run(command);
        }
        return last;
    }

    /** The SERVICE column of the provider row {@code name} in san:providers' output, or -1. */
    private static long serviceOf(String providers, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + "\\s+(\\d+)\\s").matcher(providers);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    private Bundle rdma() {
        for (Bundle b : context.getBundles()) {
            if ("io.sanswitch.rdma".equals(b.getSymbolicName())) {
                return b;
            }
        }
        return null;
    }

    /**
     * The switch as an application bundle uses it: its {@code SocketSwitch} service, a listener on
     * loopback that holds what it accepts, and connections to it. A class of its own, loaded only
     * once the feature is installed: the probe imports {@code io.sanswitch.api} dynamically.
     */
    static final class SwitchUser implements AutoCloseable {
        final io.sanswitch.api.SocketSwitch sw;
        final io.sanswitch.api.SwitchServerSocket listener;
        final List<io.sanswitch.api.SwitchSocket> held = new java.util.concurrent.CopyOnWriteArrayList<>();
        /** Notified whenever {@link #held} grows: connect() waits for it, never sleeps. */
        private final Object accepted = new Object();
        private final Thread acceptor;

        /** Waits for the switch, then listens on loopback once the SAN subnet is in force (ucx listens too). */
        SwitchUser(BundleContext context) throws Exception {
            org.osgi.util.tracker.ServiceTracker<io.sanswitch.api.SocketSwitch, io.sanswitch.api.SocketSwitch> t =
                    new org.osgi.util.tracker.ServiceTracker<>(context, io.sanswitch.api.SocketSwitch.class, null);
            t.open();
            sw = t.waitForService(WAIT_MILLIS);
            t.close();
            assertNotNull("no SocketSwitch service", sw);
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
            io.sanswitch.api.SwitchServerSocket l;
            while (true) {
                l = sw.listen(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 16);
                if (l.providers().containsAll(List.of("tcp", "ucx"))) {
                    break;
                }
                List<String> on = l.providers(); // before close, which empties it
                l.close(); // the configuration (sanSubnets) has not reached the switch yet
                assertTrue("loopback never became a SAN subnet: the listener listened on " + on + " only within "
                        + WAIT_MILLIS + " ms", System.nanoTime() < deadline);
                Thread.sleep(100);
            }
            listener = l;
            acceptor = new Thread(() -> {
                try {
                    while (true) {
                        held.add(listener.accept());
                        synchronized (accepted) {
                            accepted.notifyAll();
                        }
                    }
                } catch (io.sanswitch.spi.WsaException closed) {
                    // the listener closed
                }
            }, "karaf-it-acceptor");
            acceptor.start();
        }

        /** A new connection to the listener, as the switch chooses it. */
        io.sanswitch.api.SwitchSocket connect() throws Exception {
            int before = held.size();
            io.sanswitch.api.SwitchSocket s = sw.connect(listener.localAddress());
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
            synchronized (accepted) {
                long left;
                while (held.size() == before && (left = deadline - System.nanoTime()) > 0) {
                    TimeUnit.NANOSECONDS.timedWait(accepted, left);
                }
            }
            assertTrue("the listener accepted nothing", held.size() > before);
            return s;
        }

        /** The provider and reason of a fresh connection, closed again. */
        String choiceOfANewConnection() throws Exception {
            io.sanswitch.api.SwitchSocket s = connect();
            s.abort();
            return s.choice().provider() + " " + s.choice().reason();
        }

        @Override
        public void close() throws Exception {
            listener.close();
            acceptor.join(WAIT_MILLIS);
            for (io.sanswitch.api.SwitchSocket s : held) {
                s.abort();
            }
        }
    }

    @Test
    @io.sanswitch.testing.Checks({"LC-bundle-stop", "SW-withdrawn", "SW-subnet", "SW-join", "SW-migrate-trigger", "SW-migrate-visible", "SW-migrate-back"})
    public void featureInstallsTheCommandsShowTheProvidersAndABundleUpdateIsAHotSwap() throws Exception {
        assertNotNull("UCX_ERROR_SIGNALS did not reach Karaf's JVM", System.getenv("UCX_ERROR_SIGNALS"));
        String added = run("feature:repo-add mvn:io.sanswitch/features/" + VERSION + "/xml/features");
        assertTrue(added, run("feature:repo-list").contains("sanswitch-" + VERSION));
        run("feature:install sanswitch");
        assertTrue(run("feature:list -i").contains("sanswitch"));

        String providers = eventually("san:providers",
                t -> serviceOf(t, "ucx") > 0 && serviceOf(t, "tcp") > 0, "the ucx and tcp providers");
        assertTrue(providers, providers.startsWith("PROVIDER  SERVICE  STATE    REFS  SOCKETS  PENDING  GEN  CLEANUPS"));
        // Bundle start = startup: the switch holds one reference on each provider, nothing else does. Its one
        // socket on each is the switch's resume port (migrate on by default: docs/rules.md SW-migrate-port over
        // tcp, SW-migrate-back over ucx).
        providers = eventually("san:providers", t -> t.matches("(?s).*\\nucx\\s+\\d+\\s+RUNNING\\s+1\\s+1\\s+0\\s+1\\s+0\\n.*")
                && t.matches("(?s).*\\ntcp\\s+\\d+\\s+RUNNING\\s+1\\s+1\\s+0\\s+1\\s+0\\n.*"),
                "both providers RUNNING with the switch's one reference and its resume port");
        long oldUcx = serviceOf(providers, "ucx");
        assertEquals("No final cleanup yet\n", run("san:cleanup-history"));
        theSanCommandsAreKarafCommandsRegisteredOnceAndComplete();
        // Karaf's own help for its commands, from the command's annotations.
        String help = run("san:cleanup-history --help").replaceAll("\u001B\\[[0-9;]*m", "");
        assertTrue(help, help.matches("(?s).*\nSYNTAX\n\\s+san:cleanup-history \\[provider\\]\\s*\nARGUMENTS\n\\s+provider\n.*"));

        // No SAN subnet yet: san:route and a real connect agree on tcp, NOT_ON_SAN_SUBNET.
        String settings = run("san:switch");
        System.out.println(settings);
        assertTrue(settings, settings.matches("(?s)SETTING\\s+VALUE\\s+SOURCE\\n.*"));
        assertTrue(settings, settings.matches("(?s).*\\nsanSubnets\\s+none\\s+default\\n.*"));
        assertTrue(settings, settings.matches("(?s).*\\nrdmaPortOffset\\s+1\\s+default\\n.*"));
        assertTrue(settings, settings.matches("(?s).*\\nmigrate\\s+true\\s+default\\n.*"));
        assertTrue(settings, settings.matches("(?s).*\\nucx\\s+RDMA: peers on SAN subnets.*"));
        assertTrue(settings, settings.matches("(?s).*\\ntcp\\s+TCP: other peers, fallback.*"));
        assertEquals("tcp NOT_ON_SAN_SUBNET", routeAgreesWithAConnect());
        String refused = run("san:route db.example:5000");
        assertTrue(refused, refused.startsWith("'db.example:5000' is no HOST:PORT: 'db.example' is no literal IP address"));

        // Loopback made a SAN subnet through the switch's PID, as an operator would; and migrate turned off
        // there: the hot swap below shows what a withdrawal does to a connection between two switches
        // without migration (docs/rules.md LC-bundle-stop, SW-withdrawn); with it, the default, the
        // connection moves (aBundleUpdateUnderStreamsMovesThemByDefault). One edit, one update (configure).
        configure("config:edit io.sanswitch.switch; config:property-set sanSubnets 127.0.0.0/8; "
                + "config:property-set migrate false; config:update",
                t -> t.matches("(?s).*\\nsanSubnets\\s+127\\.0\\.0\\.0/8\\s+io\\.sanswitch\\.switch\\n.*")
                        && t.matches("(?s).*\\nmigrate\\s+false\\s+io\\.sanswitch\\.switch\\n.*"),
                "loopback a SAN subnet, migrate off");
        try (SwitchUser app = new SwitchUser(context)) {
            io.sanswitch.api.SwitchSocket held = app.connect();
            assertEquals("ucx SAN_SUBNET", held.choice().provider() + " " + held.choice().reason());
            String sanSettings = run("san:switch");
            assertTrue(sanSettings, sanSettings.matches("(?s).*\\nsanSubnets\\s+127\\.0\\.0\\.0/8\\s+io\\.sanswitch\\.switch\\n.*"));
            CompletableFuture<Integer> pending = held.receive(java.nio.ByteBuffer.allocate(16)).toCompletableFuture();

            // A bench in another session holds its pinned connection open on ucx, then the hot swap.
            CompletableFuture<String> bench = CompletableFuture.supplyAsync(() -> {
                try {
                    return run("san:bench ucx 30");
                } catch (Exception e) {
                    return e.toString();
                }
            });
            String sockets = eventually("san:sockets ucx", t -> t.lines().filter(l -> l.contains("CONNECTED")).count() == 4,
                    "the bench's two connected sockets and the application's two on ucx");
            System.out.println(sockets);
            assertEquals(sockets, 2, sockets.lines().filter(l -> l.contains(" LISTENING ")).count());
            assertTrue(sockets, sockets.contains("PINNED: the application asked for ucx"));
            assertTrue(sockets, sockets.contains("SAN_SUBNET: peer 127.0.0.1 on a SAN subnet"));
            assertTrue(sockets, sockets.contains("pinned to ucx (RDMA port +1)"));
            Bundle before = rdma();
            long revisionsBefore = before.adapt(org.osgi.framework.wiring.BundleRevisions.class).getRevisions().size();
            String updated = run("bundle:update " + before.getBundleId());
            String benchOutput = bench.get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
            assertTrue("bench after the update: " + benchOutput + "\nbundle:update printed: " + updated,
                    benchOutput.startsWith("san:bench on ucx failed: ") && benchOutput.contains("cleaned up during the bench"));
            try {
                pending.get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
                fail("the application's receive pending at the update completed");
            } catch (ExecutionException e) {
                assertEquals(String.valueOf(e.getCause()), io.sanswitch.spi.WsaError.WSA_OPERATION_ABORTED,
                        ((io.sanswitch.spi.WsaException) e.getCause()).error());
            }

            String after = eventually("san:providers", t -> serviceOf(t, "ucx") > 0 && serviceOf(t, "ucx") != oldUcx,
                    "a new ucx provider after bundle:update");
            assertNotEquals(oldUcx, serviceOf(after, "ucx"));
            assertEquals(Bundle.ACTIVE, rdma().getState());
            System.out.println("rdma bundle revisions before the update: " + revisionsBefore + "; san:providers after:\n" + after);

            String history = run("san:cleanup-history ucx");
            System.out.println(history);
            Matcher row = Pattern.compile("(?m)^\\S+ \\S+\\s+ucx\\s+" + oldUcx
                    + "\\s+1\\s+TRANSPORT_LEAVING\\s+(\\d+)\\s+(\\d+)\\s+[\\d.]+ (µs|ms|s)\\s+0$").matcher(history);
            assertTrue("no TRANSPORT_LEAVING row of service " + oldUcx + ":\n" + history, row.find());
            assertEquals("the bench's listener, client and accepted socket, the application's two and its listener's "
                    + "ucx socket reset", "6", row.group(2));

            // The updated provider joins the open listener; new connections are on ucx again, as
            // san:route says beforehand.
            assertEquals("ucx SAN_SUBNET", eventuallyChoice(app, "ucx SAN_SUBNET"));
            assertEquals("ucx SAN_SUBNET", routeAgrees(app));
            // While the rdma bundle is stopped, new connections go over tcp and say why.
            run("bundle:stop " + rdma().getBundleId());
            assertEquals("tcp RDMA_PROVIDER_DOWN", routeAgrees(app));
            io.sanswitch.api.SwitchSocket onTcp = app.connect();
            String tcpSockets = run("san:sockets tcp");
            System.out.println(tcpSockets);
            assertTrue(tcpSockets, tcpSockets.contains("RDMA_PROVIDER_DOWN: no RDMA provider running"));
            onTcp.abort();
            run("bundle:start " + rdma().getBundleId());
            assertEquals("ucx SAN_SUBNET", eventuallyChoice(app, "ucx SAN_SUBNET"));
            held.abort();
        }

        // The updated bundle is a new revision with its own class loader: JUCX's JNI library has to
        // load again, from that revision's copy of libjucx.so.
        String again = run("san:bench ucx 1");
        System.out.println(again);
        assertTrue("san:bench on the updated rdma bundle:\n" + again,
                again.matches("(?s)PROVIDER.*\\nucx\\s+\\d+\\.\\d (MiB|GiB)\\s+\\d+ ms\\s+\\d+\\.\\d MiB/s.*"));

        aRecentRdmaFailureRoutesToTcpAsSanRouteSays();
        aBundleUpdateUnderStreamsMovesThemByDefault();
    }

    /**
     * Issue 13 in Karaf: with {@code migrate} on, its default (the property deleted from the PID, as an
     * operator would take back the {@code migrate false} set above),
     * {@code bundle:update} of the rdma bundle under a connection streaming both ways moves it to tcp
     * (docs/migration.md section 4) and, the new revision started, back to ucx (section 6): no
     * application error, every byte where it belongs, {@code choice()} MOVED (provider returned), and
     * {@code san:sockets ucx} shows both moves.
     */
    private void aBundleUpdateUnderStreamsMovesThemByDefault() throws Exception {
        configure("config:edit io.sanswitch.switch; config:property-delete migrate; config:update",
                t -> t.matches("(?s).*\\nmigrate\\s+true\\s+default\\n.*"), "migrate on by default");
        try (SwitchUser app = new SwitchUser(context)) {
            io.sanswitch.api.SwitchSocket client = app.connect();
            io.sanswitch.api.SwitchSocket server = app.held.get(app.held.size() - 1);
            assertEquals("ucx SAN_SUBNET", client.choice().provider() + " " + client.choice().reason());
            PatternStream up = new PatternStream("client -> server", client, server);
            PatternStream down = new PatternStream("server -> client", server, client);
            long step = 4L << 20;
            up.awaitReceived(step);
            down.awaitReceived(step);
            String updated = run("bundle:update " + rdma().getBundleId());
            up.awaitReceived(up.received() + step);
            down.awaitReceived(down.received() + step);
            // The updated bundle starts at once: the connections move to tcp, then back to ucx
            // (docs/migration.md section 6); the streams' progress is the signal to look again.
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
            while (!(PatternStream.backOnUcx(client) && PatternStream.backOnUcx(server)) && System.nanoTime() < deadline) {
                up.awaitReceived(up.received() + (1 << 20));
            }
            for (io.sanswitch.api.SwitchSocket s : List.of(client, server)) {
                assertTrue("moved to tcp and back to ucx: " + s.history() + "\nbundle:update printed: " + updated,
                        PatternStream.backOnUcx(s) && PatternStream.wasOnTcp(s));
            }
            String sockets = run("san:sockets ucx");
            System.out.println(sockets);
            assertTrue(sockets, sockets.contains("; moved ucx -> tcp (provider withdrawn, paused "));
            assertTrue(sockets, sockets.contains("; moved tcp -> ucx (provider returned, paused "));
            up.end();
            down.end();
            System.out.println("[move] bundle:update under a stream: " + up + "; " + down + "; " + client.history());
            client.close();
        }
    }

    /**
     * One direction of a connection: a thread sends chunks whose every byte is a function of its
     * offset in the stream, another receives and checks each byte at its offset; any failure of
     * the application's calls is kept. Loaded only once the feature is installed (it names api types).
     */
    static final class PatternStream {
        /** Moved to tcp once. */
        static boolean wasOnTcp(io.sanswitch.api.SwitchSocket s) {
            for (io.sanswitch.api.ProviderChoice c : s.history()) {
                if ("tcp".equals(c.provider()) && c.reason() == io.sanswitch.api.ProviderChoice.Reason.MOVED) {
                    return true;
                }
            }
            return false;
        }

        /** On ucx again by a move back (docs/rules.md SW-migrate-back). */
        static boolean backOnUcx(io.sanswitch.api.SwitchSocket s) {
            io.sanswitch.api.ProviderChoice c = s.choice();
            return "ucx".equals(c.provider()) && c.move() != null
                    && c.move().cause() == io.sanswitch.api.ProviderMove.Cause.PROVIDER_RETURNED;
        }

        private static final int[] CHUNKS = {100, 70_000, 4096, 300_000, 1 << 20};
        private final String name;
        private final java.util.concurrent.atomic.AtomicLong sent = new java.util.concurrent.atomic.AtomicLong();
        private final java.util.concurrent.atomic.AtomicLong received = new java.util.concurrent.atomic.AtomicLong();
        private final List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final java.util.concurrent.CountDownLatch sending = new java.util.concurrent.CountDownLatch(1);
        private final java.util.concurrent.CountDownLatch receiving = new java.util.concurrent.CountDownLatch(1);
        /** Notified whenever {@link #received} grows or a failure is kept: awaitReceived waits for it, never sleeps. */
        private final Object progress = new Object();
        private volatile boolean stop;
        private volatile long longestPauseNanos;

        PatternStream(String name, io.sanswitch.api.SwitchSocket from, io.sanswitch.api.SwitchSocket to) {
            this.name = name;
            start(() -> send(from), sending);
            start(() -> receive(to), receiving);
        }

        static byte at(long offset) {
            return (byte) (offset ^ (offset >>> 9) ^ (offset >>> 17));
        }

        private void start(java.util.concurrent.Callable<Void> task, java.util.concurrent.CountDownLatch done) {
            Thread t = new Thread(() -> {
                try {
                    task.call();
                } catch (Throwable e) {
                    failures.add(e);
                    progressed();
                } finally {
                    done.countDown();
                }
            }, "karaf-it-" + name);
            t.setDaemon(true);
            t.start();
        }

        private Void send(io.sanswitch.api.SwitchSocket s) throws Exception {
            for (int round = 0; !stop; round++) {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocateDirect(CHUNKS[round % CHUNKS.length]);
                long first = sent.get();
                for (int i = 0; i < b.capacity(); i++) {
                    b.put(i, at(first + i));
                }
                while (b.hasRemaining()) {
                    s.send(b).toCompletableFuture().get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
                }
                sent.addAndGet(b.capacity());
            }
            return null;
        }

        private Void receive(io.sanswitch.api.SwitchSocket s) throws Exception {
            java.nio.ByteBuffer into = java.nio.ByteBuffer.allocate(1 << 20);
            long last = System.nanoTime();
            while (true) {
                CompletableFuture<Integer> pending = s.receive(into.clear()).toCompletableFuture();
                Integer n = null;
                long since = System.nanoTime();
                while (n == null) {
                    try {
                        n = pending.get(20, TimeUnit.MILLISECONDS);
                    } catch (java.util.concurrent.TimeoutException e) {
                        if (sending.getCount() == 0 && received.get() == sent.get()) {
                            return null; // all there; the receive still pending fails when the socket closes
                        }
                        assertTrue(name + ": nothing arrived for " + WAIT_MILLIS + " ms after " + received.get() + " bytes",
                                System.nanoTime() - since < TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS));
                    }
                }
                assertTrue(name + ": end of stream after " + received.get() + " bytes", n >= 0);
                long now = System.nanoTime();
                longestPauseNanos = Math.max(longestPauseNanos, now - last);
                last = now;
                long first = received.get();
                for (int i = 0; i < n; i++) {
                    if (into.get(i) != at(first + i)) {
                        throw new AssertionError(name + ": byte at offset " + (first + i) + " differs");
                    }
                }
                received.addAndGet(n);
                progressed();
            }
        }

        private void progressed() {
            synchronized (progress) {
                progress.notifyAll();
            }
        }

        long received() {
            return received.get();
        }

        void awaitReceived(long bytes) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
            synchronized (progress) {
                long left;
                while (received.get() < bytes && failures.isEmpty() && (left = deadline - System.nanoTime()) > 0) {
                    TimeUnit.NANOSECONDS.timedWait(progress, left);
                }
            }
            assertTrue(name + " failed: " + failures, failures.isEmpty());
            assertTrue(name + " stopped at " + received.get() + " bytes received, " + sent.get() + " sent",
                    received.get() >= bytes);
        }

        /** Stops sending, waits until everything sent arrived; no application call may have failed. */
        void end() throws Exception {
            stop = true;
            assertTrue(name + " did not end: " + this, sending.await(WAIT_MILLIS, TimeUnit.MILLISECONDS)
                    && receiving.await(WAIT_MILLIS, TimeUnit.MILLISECONDS));
            assertTrue(name + " failed: " + failures, failures.isEmpty());
            assertEquals(name, sent.get(), received.get());
        }

        @Override
        public String toString() {
            return name + " " + received.get() + " of " + sent.get() + " bytes, longest pause "
                    + longestPauseNanos / 1_000_000 + " ms";
        }
    }

    /**
     * A real fallback, then san:route and a real connect agree on RECENT_RDMA_FAILURE: a plain TCP
     * listener on a SAN address with nothing at its RDMA port, so the RDMA connect times out (a code
     * that falls back and is remembered). The connect timeout is lowered through the switch's PID to
     * keep this short, and both settings are taken back at the end.
     */
    private void aRecentRdmaFailureRoutesToTcpAsSanRouteSays() throws Exception {
        // One edit, one update: two property-sets in a row are two updates, and Karaf's file watcher
        // can apply the first one's etc/ file after the second (seen under load: the PID lost both).
        configure("config:edit io.sanswitch.switch; config:property-set connectTimeoutMillis 1000; "
                + "config:property-set rdmaFailureMemorySeconds 60; config:update",
                t -> t.matches("(?s).*\\nconnectTimeoutMillis\\s+1000\\s+io\\.sanswitch\\.switch\\n.*")
                        && t.matches("(?s).*\\nrdmaFailureMemorySeconds\\s+60\\s+io\\.sanswitch\\.switch\\n.*"),
                "the lowered connect timeout and the failure memory");
        try (SwitchUser app = new SwitchUser(context);
                java.net.ServerSocket plain = new java.net.ServerSocket(0, 4, java.net.InetAddress.getByName("127.0.0.2"))) {
            String peer = "127.0.0.2:" + plain.getLocalPort();
            java.net.InetSocketAddress at = new java.net.InetSocketAddress(plain.getInetAddress(), plain.getLocalPort());
            assertEquals("ucx SAN_SUBNET", routeOf(run("san:route " + peer), peer));
            try (io.sanswitch.api.SwitchSocket first = app.sw.connect(at)) {
                assertEquals("the RDMA connect to the port with no RDMA listener times out and falls back",
                        new io.sanswitch.api.ProviderChoice("tcp", io.sanswitch.api.ProviderChoice.Reason.FELL_BACK,
                                io.sanswitch.spi.WsaError.WSAETIMEDOUT), first.choice());
                plain.accept().close();
            }
            String route = run("san:route " + peer);
            assertEquals(route, "tcp RECENT_RDMA_FAILURE", routeOf(route, peer));
            Matcher left = Pattern.compile("failed with WSAETIMEDOUT[^;]*; straight to TCP for (\\d+\\.\\d) s more").matcher(route);
            assertTrue("san:route names the failure and the time left:\n" + route, left.find());
            double seconds = Double.parseDouble(left.group(1));
            assertTrue("time left within the configured 60 s:\n" + route, seconds > 0 && seconds <= 60);
            try (io.sanswitch.api.SwitchSocket next = app.sw.connect(at)) {
                assertEquals(route, "tcp RECENT_RDMA_FAILURE", next.choice().provider() + " " + next.choice().reason());
                plain.accept().close();
            }
        } finally {
            configure("config:edit io.sanswitch.switch; config:property-delete connectTimeoutMillis; "
                    + "config:property-delete rdmaFailureMemorySeconds; config:update",
                    t -> t.matches("(?s).*\\nconnectTimeoutMillis\\s+3000\\s+default\\n.*")
                            && t.matches("(?s).*\\nrdmaFailureMemorySeconds\\s+30\\s+default\\n.*"),
                    "the connect timeout and the failure memory back to their defaults");
        }
    }

    /**
     * Each san:* command once in Karaf's registry (core's Gogo functions stay out of a Karaf shell),
     * each a Karaf command with a completer; the completers offer the registered provider names,
     * the bench's seconds and the options, as a Tab in Karaf's console asks them.
     */
    private void theSanCommandsAreKarafCommandsRegisteredOnceAndComplete() throws Exception {
        List<org.apache.karaf.shell.api.console.Command> san = sessions.getRegistry().getCommands().stream()
                .filter(c -> "san".equals(c.getScope())).toList();
        assertEquals(String.valueOf(san), List.of("bench", "cleanup-history", "providers", "route", "sockets", "switch"),
                san.stream().map(org.apache.karaf.shell.api.console.Command::getName).sorted().toList());
        for (org.apache.karaf.shell.api.console.Command c : san) {
            assertNotNull("san:" + c.getName() + " has no completer: a plain Gogo function?", c.getCompleter(true));
        }
        Session session = sessions.create(new ByteArrayInputStream(new byte[0]), System.out, System.err);
        try {
            assertEquals(List.of("tcp", "ucx"), complete(session, "san:sockets", ""));
            assertEquals(List.of("ucx"), complete(session, "san:sockets", "u"));
            assertEquals(List.of("tcp"), complete(session, "san:cleanup-history", "t"));
            assertEquals(List.of("ucx"), complete(session, "san:bench", "uc"));
            assertEquals(List.of("30"), complete(session, "san:bench", "ucx", "3"));
            assertEquals(List.of(), complete(session, "san:sockets", "x"));
            assertTrue(complete(session, "san:sockets", "--h").contains("--help"));
        } finally {
            session.close();
        }
    }

    /**
     * The candidates Karaf's completer of command {@code words[0]} offers for the last word, typed
     * up to the cursor at its end, sorted.
     */
    private List<String> complete(Session session, String... words) {
        String name = words[0].substring(words[0].indexOf(':') + 1);
        org.apache.karaf.shell.api.console.Command command = sessions.getRegistry().getCommand("san", name);
        assertNotNull("no san:" + name, command);
        String buffer = String.join(" ", words);
        String last = words[words.length - 1];
        org.apache.karaf.shell.api.console.CommandLine line = new org.apache.karaf.shell.api.console.CommandLine() {
            @Override
            public int getCursorArgumentIndex() {
                return words.length - 1;
            }

            @Override
            public String getCursorArgument() {
                return last;
            }

            @Override
            public int getArgumentPosition() {
                return last.length();
            }

            @Override
            public String[] getArguments() {
                return words;
            }

            @Override
            public int getBufferPosition() {
                return buffer.length();
            }

            @Override
            public String getBuffer() {
                return buffer;
            }
        };
        List<String> candidates = new ArrayList<>();
        command.getCompleter(true).complete(session, line, candidates);
        return candidates.stream().map(String::trim).sorted().toList();
    }

    /**
     * san:route to the application's listener, then a real connect to it: the provider and reason
     * san:route printed, which must be the connect's.
     */
    private String routeAgrees(SwitchUser app) throws Exception {
        java.net.InetSocketAddress to = app.listener.localAddress();
        String route = run("san:route 127.0.0.1:" + to.getPort());
        String connected = app.choiceOfANewConnection();
        assertEquals(route, connected, routeOf(route, "127.0.0.1:" + to.getPort()));
        return connected;
    }

    /** The same on a listener of its own (tcp only: no SAN subnet yet). */
    private String routeAgreesWithAConnect() throws Exception {
        org.osgi.util.tracker.ServiceTracker<io.sanswitch.api.SocketSwitch, io.sanswitch.api.SocketSwitch> t =
                new org.osgi.util.tracker.ServiceTracker<>(context, io.sanswitch.api.SocketSwitch.class, null);
        t.open();
        io.sanswitch.api.SocketSwitch sw = t.waitForService(WAIT_MILLIS);
        t.close();
        assertNotNull("no SocketSwitch service", sw);
        try (io.sanswitch.api.SwitchServerSocket l = sw.listen(
                new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 4)) {
            String peer = "127.0.0.1:" + l.localAddress().getPort();
            String route = run("san:route " + peer);
            io.sanswitch.api.SwitchSocket s = sw.connect(l.localAddress());
            String connected = s.choice().provider() + " " + s.choice().reason();
            s.abort();
            assertEquals(route, connected, routeOf(route, peer));
            return connected;
        }
    }

    /** "PROVIDER REASON" of san:route's row for {@code peer}. */
    private static String routeOf(String route, String peer) {
        System.out.println(route);
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(peer) + "\\s+(\\S+)\\s+\\S+\\s+(\\S+)\\s").matcher(route);
        assertTrue("no row for " + peer + " in san:route's output:\n" + route, m.find());
        return m.group(1) + " " + m.group(2);
    }

    /** New connections' choice until it is {@code expected} (a provider joins its listeners asynchronously). */
    private static String eventuallyChoice(SwitchUser app, String expected) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
        String last = app.choiceOfANewConnection();
        while (!last.equals(expected)) {
            if (System.nanoTime() > deadline) {
                fail("new connections' choice not " + expected + " within " + WAIT_MILLIS + " ms, still " + last);
            }
            Thread.sleep(100);
            last = app.choiceOfANewConnection();
        }
        return last;
    }
}
