package io.sanswitch.shell.karaf;

import java.util.List;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

/** {@code san:providers}: the providers. */
@Service
@Command(scope = "san", name = "providers", description = "Lists the registered SAN service providers: backend, service id, lifecycle state, reference count, open sockets (the switch's own resume ports among them, counted below the table), pending operations, generation, final cleanups.")
public class ProvidersCommand extends SanAction {
    @Override
    List<String> arguments() {
        return List.of();
    }
}
