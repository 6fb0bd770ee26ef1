/**
 * What the switch shows of itself to diagnostics ({@code san:sockets}, {@code san:switch}, {@code san:route}):
 * views the switch implements and registers as core-bundle private services. The shell depends on
 * them, never the switch on the shell.
 */
package io.sanswitch.core.switcher.view;
