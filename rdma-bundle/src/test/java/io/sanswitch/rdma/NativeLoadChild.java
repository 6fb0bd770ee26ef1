package io.sanswitch.rdma;

/**
 * The child of {@link UcxNativeTemporaryFileTest}: loads this bundle's JNI library from the class path
 * (extracted to {@code java.io.tmpdir}), says whether it loaded, and halts, skipping the exit hooks as a
 * killed JVM does.
 */
public final class NativeLoadChild {
    private NativeLoadChild() {
    }

    public static void main(String[] args) {
        System.out.println("loaded " + UcxNative.isAvailable() + " " + UcxNative.unavailabilityCause());
        System.out.flush();
        Runtime.getRuntime().halt(0);
    }
}
