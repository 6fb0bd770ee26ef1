/**
 * The text of the {@code san:*} commands as a service, for a shell other than core's own Gogo
 * functions (the Karaf commands of bundle {@code io.sanswitch.shell.karaf}). Exported with a version
 * of its own so that such a bundle needs nothing else of core: one interface, strings in and out.
 */
@Export
@Version("1.0.0")
package io.sanswitch.core.console;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
