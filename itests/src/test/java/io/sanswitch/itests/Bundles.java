package io.sanswitch.itests;

import static org.junit.Assert.fail;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

/** Finding the framework's bundles in the integration tests. */
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
}
