package io.sanswitch.core.shell;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.felix.framework.Felix;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceFactory;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;

import io.sanswitch.core.console.SanConsole;

/**
 * Core's Gogo functions in a real OSGi service registry (Apache Felix): there, with the six
 * {@code san:*} functions, exactly while no Karaf shell ({@code SessionFactory}) is registered, so
 * that Karaf never gets a second {@code san:providers} beside the Karaf commands.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GogoCommandsTest {
    @TempDir
    Path storage;

    private Felix felix;
    private BundleContext context;
    private final GogoCommands gate = new GogoCommands();

    @BeforeEach
    void startFramework() throws Exception {
        Map<String, Object> config = new HashMap<>();
        config.put(Constants.FRAMEWORK_STORAGE, Files.createDirectories(storage.resolve("felix")).toString());
        config.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        felix = new Felix(config);
        felix.start();
        context = felix.getBundleContext();
        gate.console = (command, args) -> "text of " + command + " " + String.join(" ", args) + "\n";
    }

    @AfterEach
    void stopFramework() throws Exception {
        felix.stop();
        felix.waitForStop(10_000);
    }

    /** The services a Gogo runtime (or Karaf's CommandTracker) would wrap as san:* commands. */
    private ServiceReference<?>[] sanFunctions() throws Exception {
        return context.getAllServiceReferences(null, "(&(osgi.command.scope=san)(osgi.command.function=*))");
    }

    /**
     * A stand-in registration under the name of Karaf's SessionFactory: a service factory, since the
     * framework checks a plain object against the class, and Karaf is not on this class path.
     */
    private ServiceRegistration<?> karafShell() {
        return context.registerService(new String[] {GogoCommands.KARAF_SESSION_FACTORY},
                new ServiceFactory<Object>() {
                    @Override
                    public Object getService(Bundle bundle, ServiceRegistration<Object> registration) {
                        return new Object();
                    }

                    @Override
                    public void ungetService(Bundle bundle, ServiceRegistration<Object> registration, Object service) {
                    }
                }, null);
    }

    @Test
    void withoutAKarafShellTheSixFunctionsAreRegisteredOnceAndPrintTheConsolesText() throws Exception {
        gate.activate(context);

        ServiceReference<?>[] refs = sanFunctions();
        assertEquals(1, refs.length);
        assertArrayEquals(new String[] {"providers", "sockets", "bench", "cleanup-history", "switch", "route"},
                (String[]) refs[0].getProperty("osgi.command.function"));
        GogoFunctions functions = (GogoFunctions) context.getService(refs[0]);
        java.io.PrintStream out = System.out;
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(bytes, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            functions.sockets("tcp");
            functions._main("cleanup-history");
        } finally {
            System.setOut(out);
        }
        assertEquals("text of sockets tcp\ntext of cleanup-history \n", bytes.toString(java.nio.charset.StandardCharsets.UTF_8));

        gate.deactivate();
        assertNull(sanFunctions(), "gone with the component");
    }

    @Test
    void inKarafTheFunctionsAreNeverRegisteredAndAShellLeavingOrComingMovesThem() throws Exception {
        ServiceRegistration<?> shell = karafShell();
        gate.activate(context);
        assertNull(sanFunctions(), "a Karaf shell is there: Karaf's own san commands serve it");

        shell.unregister();
        assertEquals(1, sanFunctions().length, "the Karaf shell left: Gogo functions again");

        ServiceRegistration<?> again = karafShell();
        assertNull(sanFunctions(), "a Karaf shell came: the functions step aside at once, in its service event");

        gate.deactivate();
        again.unregister();
        assertNull(sanFunctions(), "a deactivated gate registers nothing when the shell leaves");
    }
}
