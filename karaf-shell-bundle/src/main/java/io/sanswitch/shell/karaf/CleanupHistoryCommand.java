package io.sanswitch.shell.karaf;

import java.util.List;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;

/** {@code san:cleanup-history}: the final cleanups, with provider-name completion. */
@Service
@Command(scope = "san", name = "cleanup-history", description = "The last final cleanups (at most 16, oldest first), also of providers retired since: when, provider, service id, generation, reason, operations aborted, sockets reset, duration, result.")
public class CleanupHistoryCommand extends SanAction {
    @Argument(index = 0, name = "provider", description = "only the cleanups of this provider (ucx, tcp, ...)")
    @Completion(ProviderNames.class)
    String provider;

    @Override
    List<String> arguments() {
        return present(provider);
    }
}
