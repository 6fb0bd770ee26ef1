package io.sanswitch.core;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;

import io.sanswitch.transport.PostedOperation;

/**
 * The peer's end of a scripted provider socket in the switch's tests: the switch's sends it completes
 * (answering their bytes), and the switch's frames as a peer writes them (docs/rules.md BG-rdma-flows).
 */
final class ScriptedWire {
    private ScriptedWire() {
    }

    /** Completes {@code op}, one of the switch's sends held on {@code wire}, and returns its bytes. */
    static byte[] completeSend(ScriptedTransport transport, ScriptedTransport.ScriptedSocket wire, PostedOperation op) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (ByteBuffer b : op.buffers()) {
            byte[] part = new byte[b.remaining()];
            b.duplicate().get(part);
            out.writeBytes(part);
        }
        wire.held.remove(op);
        transport.events.operationCompleted(op, op.length());
        return out.toByteArray();
    }

    /** WRITE_REQ: the peer asks for a target for its block {@code id} of {@code length} bytes. */
    static byte[] writeReq(int id, int length) {
        return ByteBuffer.allocate(9).put((byte) 6).putInt(id).putInt(length).array();
    }

    /** A frame of {@code type} that carries a block's id only (DONE, WRITE_DONE). */
    static byte[] idFrame(int type, int id) {
        return ByteBuffer.allocate(5).put((byte) type).putInt(id).array();
    }

    static byte[] join(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
