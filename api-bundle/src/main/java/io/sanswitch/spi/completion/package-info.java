/**
 * The completing side of {@code Overlapped}, for the provider engine only. Exported by the bnd
 * instructions of the api bundle (not by an {@code @Export} annotation) with a mandatory attribute,
 * so that only a bundle importing it with {@code sanswitch.friend=engine} is wired to it; see
 * {@link io.sanswitch.spi.completion.OverlappedCompleter}.
 */
package io.sanswitch.spi.completion;
