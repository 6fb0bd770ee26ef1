package io.sanswitch.core.console;

import org.osgi.annotation.versioning.ProviderType;

/**
 * What the {@code san:*} commands print, computed by core: a shell front end (Felix Gogo's
 * functions in core, Karaf's commands in their own bundle) only writes this text to its session, so
 * every shell prints exactly the same.
 */
@ProviderType
public interface SanConsole {

    /** The commands, as named after {@code san:}. */
    java.util.List<String> COMMANDS = java.util.List.of("providers", "sockets", "bench", "cleanup-history", "switch",
            "route");

    /**
     * The text {@code san:<command> args...} prints: a table, a message, or usage help (for
     * {@code -h}/{@code --help}/{@code help} among the arguments, or arguments it refuses); never
     * null. An unknown command gives a line naming the known ones.
     *
     * @throws InterruptedException when the thread running {@code san:bench} is interrupted
     */
    String text(String command, String... args) throws InterruptedException;
}
