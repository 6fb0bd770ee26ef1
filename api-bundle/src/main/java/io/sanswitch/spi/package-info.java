/**
 * The SAN service provider SPI: the contract between the switch and a SAN provider, after
 * Windows Sockets Direct ({@code WSPStartupEx} ... {@code WSPCleanup}, the SAN extensions, the
 * upcall table, overlapped completion and the FD_* events). 2.0: {@code Overlapped}'s completing
 * methods moved to {@code io.sanswitch.spi.completion}, which only the provider engine imports.
 */
@Export
@Version("2.1.0")
package io.sanswitch.spi;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
