package io.sanswitch.shell.karaf;

import java.util.List;

import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

/** {@code san:switch}: the switch's settings and providers. */
@Service
@Command(scope = "san", name = "switch", description = "The switch's settings in force and where each came from, then the providers it has bound: role for new connections, capabilities, published subnets; then the switch's own resume ports (while migrate is on): port, provider, the port it listens at, what for.")
public class SwitchCommand extends SanAction {
    @Override
    List<String> arguments() {
        return List.of();
    }
}
