package io.sanswitch.spi.completion;

import io.sanswitch.spi.Overlapped;
import io.sanswitch.spi.OverlappedResult;

/**
 * The completing side of {@link Overlapped}: starting a request on it, abandoning one that was not
 * started, publishing its outcome. Only the provider engine may do these (they play the part of
 * the {@code Internal} fields that only the provider writes, docs/rules.md BG-overlapped); the switch
 * and any other user of {@code io.sanswitch.spi} sees only the reading side.
 *
 * <p><b>Who can see this package.</b> The api bundle exports it with the mandatory attribute
 * {@code sanswitch.friend=engine}: the OSGi framework wires an import to it only when the import
 * names that attribute (OSGi Core, Export-Package, {@code mandatory:=}), so a bundle that imports
 * {@code io.sanswitch.spi} does not get it, and bnd never adds it to a bundle's imports by itself.
 * The core bundle imports it with the attribute. This is the framework's enforcement, not a
 * security boundary (a bundle that writes the attribute into its own manifest on purpose gets the
 * package; the framework's {@code PackagePermission} would be that boundary, under a security
 * manager). Felix does not enforce bnd's {@code x-friends}, so it is not used.
 */
public abstract class OverlappedCompleter {
    private static volatile OverlappedCompleter installed;

    protected OverlappedCompleter() {
    }

    /** The one completer, which {@link Overlapped} installs when its class is initialised. */
    public static OverlappedCompleter get() {
        OverlappedCompleter c = installed;
        if (c != null) {
            return c;
        }
        try {
            Class.forName(Overlapped.class.getName(), true, Overlapped.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("Overlapped not loadable", e);
        }
        return installed;
    }

    /**
     * Called once, by {@link Overlapped}'s class initialiser with its own nested completer; any
     * other completer is refused, so nothing else can take the completing side.
     *
     * @throws IllegalStateException if one is installed already or {@code completer} is not Overlapped's
     */
    public static synchronized void install(OverlappedCompleter completer) {
        if (installed != null || completer.getClass().getNestHost() != Overlapped.class) {
            throw new IllegalStateException("only Overlapped installs its completer, once: " + completer);
        }
        installed = completer;
    }

    /**
     * Marks the overlapped as carrying a new request.
     *
     * @return {@code false} if a request is still in progress on it
     */
    public abstract boolean begin(Overlapped overlapped);

    /**
     * The request that {@link #begin} announced was not started after all (the call that was to
     * start it failed), so no result will follow and the overlapped is free again.
     *
     * @throws IllegalStateException if no request is in progress
     */
    public abstract void abandon(Overlapped overlapped);

    /**
     * Publishes the outcome of the request in progress.
     *
     * @throws IllegalStateException if no request is in progress, i.e. a second completion: that is
     *     a bug in the provider, never a legal race
     */
    public abstract void publish(Overlapped overlapped, OverlappedResult outcome);
}
