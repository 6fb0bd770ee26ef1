package io.sanswitch.shell.karaf;

import java.util.List;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.completers.StringsCompleter;

/** {@code san:bench}: a loopback bench, with completion of provider names and of seconds. */
@Service
@Command(scope = "san", name = "bench", description = "Measures a loopback connection through the switch pinned to one provider: a stream of checked 1 MiB chunks, 64-byte echoes, and the process's memory before, during and after.")
public class BenchCommand extends SanAction {
    @Argument(index = 0, name = "provider", description = "the provider to pin (default: ucx if registered, else the first)")
    @Completion(ProviderNames.class)
    String provider;

    @Argument(index = 1, name = "seconds", description = "how long, 1 to 60 (default 2)")
    @Completion(value = StringsCompleter.class, values = {"1", "2", "5", "10", "30", "60"})
    String seconds;

    @Override
    List<String> arguments() {
        return present(provider, seconds);
    }
}
