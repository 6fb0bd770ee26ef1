package io.sanswitch.core.shell;

import java.util.Dictionary;
import java.util.Hashtable;

import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.util.tracker.ServiceTracker;
import org.osgi.util.tracker.ServiceTrackerCustomizer;

import io.sanswitch.core.console.SanConsole;

/**
 * Registers the {@code san:*} {@link GogoFunctions} while no Karaf shell is there. In Karaf the
 * bundle {@code io.sanswitch.shell.karaf} registers the same commands as Karaf commands (with
 * completion); Karaf's CommandTracker would wrap these functions too, and two commands of one name
 * break each other (the one registered last wins, and removing either removes the name). Karaf's
 * shell is recognised by its {@code SessionFactory} service, matched by name so that core needs no
 * Karaf package. The check runs in the service event itself: Karaf registers that service before it
 * starts tracking Gogo functions, so the functions are gone before Karaf could see them.
 */
@Component(immediate = true, service = {})
public final class GogoCommands {
    /** The service Karaf's shell core registers first; no Felix Gogo has one. */
    static final String KARAF_SESSION_FACTORY = "org.apache.karaf.shell.api.console.SessionFactory";

    @Reference
    SanConsole console;
    private ServiceTracker<Object, Object> karafShells;
    private BundleContext context;
    private ServiceRegistration<?> functions;
    private int karafShellsSeen;

    @Activate
    void activate(BundleContext context) throws InvalidSyntaxException {
        synchronized (this) {
            this.context = context;
        }
        karafShells = new ServiceTracker<>(context,
                context.createFilter("(objectClass=" + KARAF_SESSION_FACTORY + ")"),
                new ServiceTrackerCustomizer<Object, Object>() {
                    @Override
                    public Object addingService(ServiceReference<Object> reference) {
                        karafShell(+1);
                        return reference;
                    }

                    @Override
                    public void modifiedService(ServiceReference<Object> reference, Object service) {
                    }

                    @Override
                    public void removedService(ServiceReference<Object> reference, Object service) {
                        karafShell(-1);
                    }
                });
        karafShells.open(true); // all: core does not import Karaf's package
        synchronized (this) {
            update();
        }
    }

    @Deactivate
    void deactivate() {
        synchronized (this) {
            context = null; // first: closing the tracker "removes" the Karaf shells
            update();
        }
        karafShells.close();
    }

    private synchronized void karafShell(int delta) {
        karafShellsSeen += delta;
        update();
    }

    /** The functions are registered exactly while active and no Karaf shell is there. */
    private void update() {
        boolean wanted = context != null && karafShellsSeen == 0;
        if (wanted && functions == null) {
            Dictionary<String, Object> props = new Hashtable<>();
            props.put("osgi.command.scope", "san");
            props.put("osgi.command.function", SanConsole.COMMANDS.toArray(new String[0]));
            functions = context.registerService(GogoFunctions.class, new GogoFunctions(console), props);
        } else if (!wanted && functions != null) {
            functions.unregister();
            functions = null;
        }
    }
}
