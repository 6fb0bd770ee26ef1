/**
 * The switch (docs/architecture.md): the {@code SocketSwitch} service that picks a provider per connection,
 * drives provider sockets through the SPI only, and follows providers as their bundles come and go.
 */
package io.sanswitch.core.switcher;
