package io.sanswitch.shell.karaf;

import java.util.List;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

/** {@code san:route}: the switch's routing for one peer. */
@Service
@Command(scope = "san", name = "route", description = "What a connect to that peer would do now, without connecting (like ip route get): provider, reason, and the address it connects to.")
public class RouteCommand extends SanAction {
    @Argument(index = 0, name = "HOST:PORT", required = true, description = "a literal IPv4 address, or an IPv6 one in brackets and quoted (10.20.0.7:5000, '[fd00::7]:5000'); no host name is looked up")
    String peer;

    @Override
    List<String> arguments() {
        return present(peer);
    }
}
