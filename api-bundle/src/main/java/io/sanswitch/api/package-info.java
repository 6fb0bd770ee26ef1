/**
 * The application API of the switch: what applications use to open connections without knowing
 * which SAN service provider carries them ({@code SocketSwitch}, {@code SwitchSocket},
 * {@code SwitchServerSocket}), with a connection's bind and socket options ({@code SocketSetup},
 * {@code SanSocketOption}; 1.1) and where an open connection moved ({@code SwitchSocket.history()},
 * {@code ProviderMove}, {@code ProviderChoice.Reason.MOVED}; 1.2), a bounded history with the count
 * of the moves it no longer lists ({@code SwitchSocket.movesLeftOut()}) and the switch's own resume
 * ports apart from the application's listeners ({@code SwitchStatistics}; 1.4). Failures are
 * {@link io.sanswitch.spi.WsaException}s with the SPI's Winsock codes.
 */
@Export
@Version("1.5.0")
package io.sanswitch.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
