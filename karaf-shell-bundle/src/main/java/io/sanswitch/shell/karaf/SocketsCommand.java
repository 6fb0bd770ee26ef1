package io.sanswitch.shell.karaf;

import java.util.List;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Service;

/** {@code san:sockets}: the open sockets, with provider-name completion. */
@Service
@Command(scope = "san", name = "sockets", description = "Lists the open sockets of every provider (or of one): descriptor, switch handle, role, addresses, bytes in and out, pending operations, and why the switch chose that provider, then each move of a connection that moved to another provider.")
public class SocketsCommand extends SanAction {
    @Argument(index = 0, name = "provider", description = "only the sockets of this provider (ucx, tcp, ...)")
    @Completion(ProviderNames.class)
    String provider;

    @Override
    List<String> arguments() {
        return present(provider);
    }
}
