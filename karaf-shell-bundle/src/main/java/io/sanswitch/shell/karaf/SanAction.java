package io.sanswitch.shell.karaf;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;

import io.sanswitch.core.console.SanConsole;

/**
 * A {@code san:*} command in Karaf: prints core's text for it ({@link SanConsole}), so the output is
 * the same as in Felix Gogo, and returns nothing (Karaf's {@code bin/client}, batch mode and ssh
 * exec show only what a command writes; Karaf points {@code System.out} at the session).
 */
abstract class SanAction implements Action {
    @Reference
    SanConsole console;

    /** The arguments as typed, in order; absent optional ones left out. */
    abstract List<String> arguments();

    @Override
    public Object execute() throws Exception {
        String name = getClass().getAnnotation(Command.class).name();
        String text = console.text(name, arguments().toArray(new String[0]));
        PrintStream out = System.out;
        out.print(text);
        out.flush();
        return null;
    }

    static List<String> present(String... values) {
        List<String> list = new ArrayList<>();
        for (String v : values) {
            if (v != null) {
                list.add(v);
            }
        }
        return list;
    }
}
