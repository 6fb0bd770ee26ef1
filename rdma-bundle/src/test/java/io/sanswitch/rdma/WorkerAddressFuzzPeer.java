package io.sanswitch.rdma;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.openucx.jucx.ucp.UcpContext;
import org.openucx.jucx.ucp.UcpParams;
import org.openucx.jucx.ucp.UcpWorker;
import org.openucx.jucx.ucp.UcpWorkerParams;

/**
 * Child process of {@link WorkerAddressFuzzTest}: mutates real worker addresses (the parent's
 * live workers' and its own), checks each with {@link WorkerAddressFormat}, and gives every one
 * the check accepts to the real {@code ucp_ep_create} through {@link UcxNative#openEndpoint}, then
 * force-closes the endpoint. An address UCX cannot take aborts this process; the parent sees the
 * exit status. Prints one {@code FUZZ} line with the counts.
 *
 * <p>Arguments: file of base addresses (one "name hex" a line), seed, minimum number of inputs,
 * minimum run time in milliseconds.
 */
public final class WorkerAddressFuzzPeer {
    private static final long CLOSE_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final UcpWorker worker;
    private long inputs;
    private long rejected;
    private long created;
    private long refusedByUcx;
    private long closed;

    private WorkerAddressFuzzPeer(UcpWorker worker) {
        this.worker = worker;
    }

    public static void main(String[] args) throws Exception {
        List<byte[]> bases = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(args[0]))) {
            if (!line.isBlank()) {
                bases.add(HexFormat.of().parseHex(line.substring(line.indexOf(' ') + 1).trim()));
            }
        }
        Random rnd = new Random(Long.parseLong(args[1]));
        long minInputs = Long.parseLong(args[2]);
        long minNanos = TimeUnit.MILLISECONDS.toNanos(Long.parseLong(args[3]));
        UcpParams params = new UcpParams().requestTagFeature().requestRmaFeature().setConfig("MM_ERROR_HANDLING", "y");
        try (UcpContext context = new UcpContext(params); UcpWorker worker = context.newWorker(new UcpWorkerParams())) {
            bases.add(LiveWorkers.bytes(worker.getAddress()));
            WorkerAddressFuzzPeer fuzz = new WorkerAddressFuzzPeer(worker);
            fuzz.hookRefusesTheIssuesAddress(bases.get(0), rnd);
            long start = System.nanoTime();
            for (byte[] base : bases) {
                fuzz.tryAll(AddressMutations.truncations(base));
                fuzz.tryAll(AddressMutations.bitFlips(base));
                fuzz.tryAll(AddressMutations.byteExtremes(base));
                fuzz.tryAll(AddressMutations.lengthLies(base));
            }
            while (fuzz.inputs < minInputs || System.nanoTime() - start < minNanos) {
                fuzz.tryOne(AddressMutations.random(bases.get(rnd.nextInt(bases.size())), rnd));
            }
            for (byte[] base : bases) {
                fuzz.tryOne(base); // the unmutated ones: endpoints to live workers
            }
            System.out.printf("FUZZ inputs=%d rejected=%d accepted=%d created=%d refusedByUcx=%d closed=%d pending=%d seconds=%d%n",
                    fuzz.inputs, fuzz.rejected, fuzz.inputs - fuzz.rejected, fuzz.created, fuzz.refusedByUcx, fuzz.closed,
                    UcxNative.pendingRequests(), TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start));
        }
        System.exit(0);
    }

    /** The case from the issue through the hook: without it UCX asserts "addr version 13" here. */
    private void hookRefusesTheIssuesAddress(byte[] base, Random rnd) {
        byte[] issue = base.clone();
        issue[0] = (byte) ((issue[0] & 0xF0) | 13);
        for (int i = 9; i < issue.length; i++) {
            issue[i] = (byte) rnd.nextInt(256);
        }
        try {
            UcxNative.openEndpoint(worker.getNativeId(), issue, (status, length) -> { });
            System.out.println("HOOK accepted the issue's address");
        } catch (WorkerAddressFormat.MalformedAddress expected) {
            System.out.println("HOOK refused: " + expected.getMessage());
        }
    }

    private void tryAll(List<byte[]> addresses) {
        addresses.forEach(this::tryOne);
    }

    private void tryOne(byte[] address) {
        inputs++;
        try {
            WorkerAddressFormat.check(address);
        } catch (WorkerAddressFormat.MalformedAddress e) {
            rejected++;
            return;
        }
        long[] opened;
        try {
            opened = UcxNative.openEndpoint(worker.getNativeId(), address, (status, length) -> { });
        } catch (IllegalStateException e) {
            refusedByUcx++;
            return;
        }
        created++;
        AtomicBoolean done = new AtomicBoolean();
        UcxNative.startClose(opened[0], true, (status, length) -> done.set(true));
        long deadline = System.nanoTime() + CLOSE_WAIT_NANOS;
        while (!done.get() && System.nanoTime() - deadline < 0) {
            try {
                worker.progress();
            } catch (Exception e) {
                throw new IllegalStateException("ucp_worker_progress", e);
            }
        }
        UcxNative.forget(opened[1]);
        if (done.get()) {
            closed++;
        } else {
            System.out.println("STUCK close of an endpoint to " + java.util.HexFormat.of().formatHex(address));
        }
    }
}
