package io.sanswitch.shell.karaf;

import java.util.List;
import java.util.TreeSet;

import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;

import io.sanswitch.spi.SanServiceProvider;
import io.sanswitch.transport.TransportProperties;

/**
 * Completes a provider name from the providers registered now: the {@code sanswitch.transport}
 * property of each {@link SanServiceProvider} service ({@code tcp}, {@code ucx}, ...), read at each
 * completion, so a provider that came or went since is right.
 */
@Service
public class ProviderNames implements Completer {
    @Reference
    BundleContext context;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        return new StringsCompleter(registered(), true).complete(session, commandLine, candidates);
    }

    TreeSet<String> registered() {
        TreeSet<String> names = new TreeSet<>();
        try {
            ServiceReference<?>[] refs = context.getServiceReferences(SanServiceProvider.class.getName(),
                    "(" + TransportProperties.TRANSPORT + "=*)");
            for (ServiceReference<?> ref : refs == null ? new ServiceReference<?>[0] : refs) {
                Object name = ref.getProperty(TransportProperties.TRANSPORT);
                if (name instanceof String s && !s.isBlank()) {
                    names.add(s);
                }
            }
        } catch (InvalidSyntaxException | IllegalStateException e) {
            // a constant filter; a bundle stopping under the completion: nothing to offer
        }
        return names;
    }
}
