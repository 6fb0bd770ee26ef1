package io.sanswitch.conformance;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

/**
 * Shared fixture of the kit's suites: two providers over two transports of the backend under
 * test ({@link #a} and {@link #b}, the two ends of a connection), and a check that no thread
 * outlives them.
 */
@Timeout(120)
public abstract class KitTestBase {
    protected KitProvider a;
    protected KitProvider b;
    private Set<String> threadsBefore;
    private final List<Executable> whenQuiet = new ArrayList<>();

    /** The backend to certify. */
    protected abstract BackendUnderTest backend();

    @BeforeEach
    void createProviders(TestInfo test) {
        threadsBefore = threadNames();
        System.out.println("[kit " + backend().name() + "] " + test.getDisplayName());
        a = new KitProvider(backend().newTransport());
        b = new KitProvider(backend().newTransport());
    }

    @AfterEach
    void closeProvidersAndCheckThreads() throws InterruptedException {
        a.close();
        b.close();
        // Threads of the runs must be gone once both final cleanups returned (docs/rules.md LC-f).
        Set<String> extra = null;
        for (int i = 0; i < 100; i++) {
            extra = threadNames();
            extra.removeAll(threadsBefore);
            if (extra.isEmpty()) {
                break;
            }
            Thread.sleep(50);
        }
        assertTrue(extra.isEmpty(), "threads left after the final cleanups: " + extra);
        // No provider thread is left to make an upcall: what must not have happened now cannot.
        a.upcalls.assertNoLateCompletions();
        b.upcalls.assertNoLateCompletions();
        for (Executable check : whenQuiet) {
            try {
                check.execute();
            } catch (Throwable t) {
                throw t instanceof AssertionError ae ? ae : new AssertionError(t);
            }
        }
    }

    /**
     * Runs {@code check} after the test, once both providers' final cleanups returned and no thread
     * of theirs is left: the positive signal that an upcall which must not happen can no longer come.
     */
    protected void whenQuiet(Executable check) {
        whenQuiet.add(check);
    }

    private static Set<String> threadNames() {
        Set<String> names = new TreeSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            // JDK infrastructure threads (pools, a test's child-process reapers) are not the backend's.
            String n = t.getName();
            if (t.isAlive() && !n.startsWith("ForkJoinPool") && !n.startsWith("junit") && !n.equals("process reaper")) {
                names.add(t.getName() + "#" + t.getId());
            }
        }
        return names;
    }

    /** A port free on the backend's address right now, to be bound later (see {@link Ports}). */
    protected InetSocketAddress freeAddress() {
        return Ports.freeAddress(backend().address());
    }

    protected InetSocketAddress local() {
        return new InetSocketAddress(backend().address(), 0);
    }
}
