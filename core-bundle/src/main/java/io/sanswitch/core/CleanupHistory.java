package io.sanswitch.core;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The last final cleanups of one engine, oldest first, bounded so that a provider cycled for weeks
 * keeps a constant footprint. Written once per final cleanup, read by diagnostics: a plain lock
 * is cheap enough and never held across a call out.
 */
final class CleanupHistory {
    /** Enough to see a hot-swap storm without keeping it forever. */
    static final int DEFAULT_CAPACITY = 16;

    private final int capacity;
    private final ArrayDeque<CleanupRecord> records;

    CleanupHistory(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1: " + capacity);
        }
        this.capacity = capacity;
        this.records = new ArrayDeque<>(capacity);
    }

    synchronized void add(CleanupRecord r) {
        if (records.size() == capacity) {
            records.removeFirst();
        }
        records.addLast(r);
    }

    /** Oldest first. */
    synchronized List<CleanupRecord> snapshot() {
        return new ArrayList<>(records);
    }

    /** The most recent, or {@code null}. */
    synchronized CleanupRecord last() {
        return records.peekLast();
    }
}
