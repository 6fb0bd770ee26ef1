package io.sanswitch.core.shell;

import java.io.PrintStream;

import io.sanswitch.core.console.SanConsole;

/**
 * The {@code san:*} commands as plain Gogo functions: Felix Gogo (and Karaf, were it to see them)
 * picks up a service with {@code osgi.command.scope}/{@code osgi.command.function} and calls its
 * public methods by name. Each writes the {@link SanConsole} text to {@code System.out} and returns
 * nothing: the shells point {@code System.out} of the thread running a command at that session's
 * output (Gogo's ThreadIO), which is what reaches pipes ({@code san:providers | grep ucx}), piped
 * input and, in Karaf, {@code bin/client} and ssh exec; a returned value is printed by interactive
 * consoles only.
 *
 * <p>A function name with a hyphen ({@code cleanup-history}) or a Java keyword ({@code switch})
 * matches no Java method; Gogo then falls back to a method named {@code _main} and passes the
 * function name first: {@link #_main(String, String...)} dispatches it.
 */
public final class GogoFunctions {
    private final SanConsole console;

    GogoFunctions(SanConsole console) {
        this.console = console;
    }

    /** {@code san:providers}. */
    public void providers(String... args) throws InterruptedException {
        print(console.text("providers", args));
    }

    /** {@code san:sockets [provider]}. */
    public void sockets(String... args) throws InterruptedException {
        print(console.text("sockets", args));
    }

    /** {@code san:bench [provider] [seconds]}. */
    public void bench(String... args) throws InterruptedException {
        print(console.text("bench", args));
    }

    /** {@code san:route HOST:PORT}. */
    public void route(String... args) throws InterruptedException {
        print(console.text("route", args));
    }

    /**
     * Where Gogo sends a function that matches no method by name ({@code cleanup-history},
     * {@code switch}): the function name comes first.
     */
    public void _main(String function, String... args) throws InterruptedException {
        print(console.text(function, args));
    }

    /** Writes to the output of the session running the command (see the class comment). */
    private static void print(String text) {
        PrintStream out = System.out;
        out.print(text);
        out.flush();
    }
}
