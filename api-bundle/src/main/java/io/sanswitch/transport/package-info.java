/**
 * The backend SPI: what a transport bundle implements ({@code Transport},
 * {@code TransportSocket}) and how it reports to the provider engine ({@code TransportEvents}).
 * Backends supply primitives; the engine owns every rule of the SAN SPI. 1.1: {@code Cidr} and
 * {@code TransportProperties}, the service properties a backend publishes. 1.2: the batch calls
 * {@code Transport.cancel(Map)} and {@code Transport.reset(List)}, with defaults that loop over the
 * single calls; and
 * {@code LocalInterfaces}, the interface listing every backend answers {@code SIO_ADDRESS_LIST_QUERY} with. 1.3: {@code LocalInterfaces.isUp}, the one test every backend's
 * interface watch makes of a socket's local address (docs/rules.md LC-e).
 */
@Export
@Version("1.5.0")
package io.sanswitch.transport;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
