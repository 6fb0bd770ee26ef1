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
 * san:* commands in Karaf's own shell, and a hot swap with bundle:update of the rdma bundle while
 * san:bench holds connections open on it.
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
                // What Karaf's start script adds on JDK 9+ and the test container does not (TOOLCHAIN 7).
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
            // pax-url ignores -Dmaven.repo.local (TOOLCHAIN 6)
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
                if (!e.getClass().getSimpleName().equals("CommandNotFoundException") || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }

    /**
     * As an operator logged in with the admin role (Karaf checks roles for feature:install and
     * bundle:update): the session is made here, and its command runs on a fresh thread under
     * that subject, as Karaf's own test support does it.
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
            return bytes.toString(StandardCharsets.UTF_8) + (r == null ? "" : r.toString());
        } finally {
            thread.shutdownNow();
            session.close();
        }
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

    @Test
    public void featureInstallsTheCommandsShowTheProvidersAndABundleUpdateIsAHotSwap() throws Exception {
        assertNotNull("UCX_ERROR_SIGNALS did not reach Karaf's JVM", System.getenv("UCX_ERROR_SIGNALS"));
        String added = run("feature:repo-add mvn:io.sanswitch/features/" + VERSION + "/xml/features");
        assertTrue(added, run("feature:repo-list").contains("sanswitch-" + VERSION));
        run("feature:install sanswitch");
        assertTrue(run("feature:list -i").contains("sanswitch"));

        String providers = eventually("san:providers",
                t -> serviceOf(t, "ucx") > 0 && serviceOf(t, "tcp") > 0, "the ucx and tcp providers");
        assertTrue(providers, providers.startsWith("PROVIDER  SERVICE  STATE  REFS  SOCKETS  PENDING  GEN  CLEANUPS"));
        assertTrue(providers, providers.matches("(?s).*\\nucx\\s+\\d+\\s+IDLE\\s+0\\s+0\\s+0\\s+0\\s+0\\n.*"));
        long oldUcx = serviceOf(providers, "ucx");
        assertEquals("No final cleanup yet\n", run("san:cleanup-history"));
        assertTrue(run("san:cleanup-history --help").startsWith("Usage: san:cleanup-history [provider]"));

        // Connections held open on ucx by a bench in another session, then the hot swap under them.
        CompletableFuture<String> bench = CompletableFuture.supplyAsync(() -> {
            try {
                return run("san:bench ucx 30");
            } catch (Exception e) {
                return e.toString();
            }
        });
        String sockets = eventually("san:sockets ucx", t -> t.lines().filter(l -> l.contains("CONNECTED")).count() == 2,
                "the bench's two connected sockets on ucx");
        assertTrue(sockets, sockets.contains("LISTENING"));
        Bundle before = rdma();
        long revisionsBefore = before.adapt(org.osgi.framework.wiring.BundleRevisions.class).getRevisions().size();
        String updated = run("bundle:update " + before.getBundleId());
        String benchOutput = bench.get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
        assertTrue("bench after the update: " + benchOutput + "\nbundle:update printed: " + updated,
                benchOutput.startsWith("san:bench on ucx failed: ") && benchOutput.contains("cleaned up during the bench"));

        String after = eventually("san:providers", t -> serviceOf(t, "ucx") > 0 && serviceOf(t, "ucx") != oldUcx,
                "a new ucx provider after bundle:update");
        assertNotEquals(oldUcx, serviceOf(after, "ucx"));
        assertEquals(Bundle.ACTIVE, rdma().getState());
        System.out.println("rdma bundle revisions before the update: " + revisionsBefore + "; san:providers after:\n" + after);

        String history = run("san:cleanup-history ucx");
        System.out.println(history);
        Matcher row = Pattern.compile("(?m)^\\S+ \\S+\\s+ucx\\s+" + oldUcx
                + "\\s+1\\s+TRANSPORT_LEAVING\\s+(\\d+)\\s+(\\d+)\\s+\\d+ (µs|ms)\\s+0$").matcher(history);
        assertTrue("no TRANSPORT_LEAVING row of service " + oldUcx + ":\n" + history, row.find());
        assertEquals("listener, client and accepted socket reset", "3", row.group(2));

        // The updated bundle is a new revision with its own class loader: JUCX's JNI library has to
        // load again, from that revision's copy of libjucx.so.
        String again = run("san:bench ucx 1");
        System.out.println(again);
        assertTrue("san:bench on the updated rdma bundle:\n" + again,
                again.matches("(?s)PROVIDER.*\\nucx\\s+\\d+\\.\\d (MiB|GiB)\\s+\\d+ ms\\s+\\d+\\.\\d MiB/s.*"));
    }
}
