package io.sanswitch.itests;

import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.fail;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.util.tracker.ServiceTracker;

/** Finding the framework's bundles and services in the integration tests, and updating a bundle. */
final class Bundles {
    private Bundles() {
    }

    /** The installed bundle of that symbolic name; fails the test when there is none. */
    static Bundle bySymbolicName(BundleContext context, String symbolicName) {
        for (Bundle b : context.getBundles()) {
            if (symbolicName.equals(b.getSymbolicName())) {
                return b;
            }
        }
        fail("no bundle " + symbolicName);
        return null;
    }

    /**
     * A new revision of {@code bundle} from a copy of the jar named by system property {@code
     * jarProperty} (the reactor's; its location stays the same). An active bundle is stopped,
     * updated and started again, as {@link Bundle#update(InputStream)} does.
     */
    static void updateFromCopy(Bundle bundle, String jarProperty) throws Exception {
        Path copy = Files.createTempFile(bundle.getSymbolicName() + "-", ".jar");
        try {
            Files.copy(Path.of(System.getProperty(jarProperty)), copy, StandardCopyOption.REPLACE_EXISTING);
            try (InputStream in = Files.newInputStream(copy)) {
                bundle.update(in);
            }
        } finally {
            Files.deleteIfExists(copy);
        }
    }

    /** The service of that type, waiting for it up to {@code millis}; fails the test when there is none. */
    static <S> S awaitService(BundleContext context, Class<S> type, long millis) throws InterruptedException {
        ServiceTracker<S, S> tracker = new ServiceTracker<>(context, type, null);
        tracker.open();
        try {
            S service = tracker.waitForService(millis);
            assertNotNull("no " + type.getSimpleName(), service);
            return service;
        } finally {
            tracker.close();
        }
    }
}
