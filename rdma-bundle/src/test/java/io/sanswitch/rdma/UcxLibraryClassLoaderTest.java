package io.sanswitch.rdma;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.ref.WeakReference;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;

import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.simple.SimpleLogger;

/**
 * The JNI library does not keep the class loader that loaded it alive. In a framework that loader
 * is the bundle's: each update of the bundle makes a new one, and one the library kept (a strong
 * global reference to UcxNative) would never be collected, nor the library unloaded, since
 * JNI_OnUnload only runs once the loader is gone.
 *
 * <p>UcxNative is loaded, with the library (extracted to a file of its own, as off a framework),
 * by a class loader of its own, everything it handed out is dropped, and the collector is asked
 * until that loader is gone.
 */
class UcxLibraryClassLoaderTest {
    private static final long WAIT_NANOS = 10_000_000_000L;

    @Test
    void aClassLoaderThatLoadedTheLibraryIsCollectedOnceUnused() throws Exception {
        WeakReference<ClassLoader> loader = loadLibraryInOwnClassLoader();
        long deadline = System.nanoTime() + WAIT_NANOS;
        int collections = 0;
        while (loader.get() != null) {
            if (System.nanoTime() - deadline > 0) {
                fail("the class loader that loaded the JNI library is still reachable after " + collections
                        + " collections: the library keeps it");
            }
            System.gc();
            collections++;
            Thread.sleep(50); // lets reference processing run
        }
    }

    private static WeakReference<ClassLoader> loadLibraryInOwnClassLoader() throws Exception {
        URL[] path = {location(UcxNative.class), location(LoggerFactory.class), location(SimpleLogger.class)};
        // The platform loader as parent: the class path's UcxNative (and its library) stay out of it.
        try (URLClassLoader loader = new URLClassLoader("throw-away", path, ClassLoader.getPlatformClassLoader())) {
            Class<?> ucxNative = Class.forName(UcxNative.class.getName(), true, loader);
            assertNotSame(UcxNative.class, ucxNative, "loaded by its own class loader");
            Method available = ucxNative.getDeclaredMethod("isAvailable");
            available.setAccessible(true);
            Method cause = ucxNative.getDeclaredMethod("unavailabilityCause");
            cause.setAccessible(true);
            assertEquals(Boolean.TRUE, available.invoke(null), () -> {
                try {
                    return "the library in the new class loader: " + cause.invoke(null);
                } catch (ReflectiveOperationException e) {
                    return e.toString();
                }
            });
            return new WeakReference<>(loader);
        }
    }

    private static URL location(Class<?> c) {
        return c.getProtectionDomain().getCodeSource().getLocation();
    }
}
