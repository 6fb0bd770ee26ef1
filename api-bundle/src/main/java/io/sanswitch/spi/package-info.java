/**
 * The SAN service provider SPI: the contract between the switch and a SAN provider, after
 * Windows Sockets Direct ({@code WSPStartupEx} ... {@code WSPCleanup}, the SAN extensions, the
 * upcall table, overlapped completion and the FD_* events).
 */
@Export
@Version("1.1.0")
package io.sanswitch.spi;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
