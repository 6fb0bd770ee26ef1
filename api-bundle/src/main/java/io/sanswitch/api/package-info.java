/**
 * The application API of the switch: what applications use to open connections without knowing
 * which SAN service provider carries them ({@code SocketSwitch}, {@code SwitchSocket},
 * {@code SwitchServerSocket}), with a connection's bind and socket options ({@code SocketSetup},
 * {@code SanSocketOption}; 1.1) and where an open connection moved ({@code SwitchSocket.history()},
 * {@code ProviderMove}, {@code ProviderChoice.Reason.MOVED}; 1.2). Failures are
 * {@link io.sanswitch.spi.WsaException}s with the SPI's Winsock codes.
 */
@Export
@Version("1.3.0")
package io.sanswitch.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
