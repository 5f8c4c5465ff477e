package dev.quiver.adapters.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.quiver.adapters.blob.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Streams tensors into a safetensors file. The header is fixed from the declared specs, so values can
 * be written in chunks without holding a whole checkpoint in memory. Data goes to a temporary sibling
 * that is fsynced and atomically renamed on a complete {@link #close()}; an incomplete write leaves
 * nothing behind.
 */
public final class SafetensorsWriter implements AutoCloseable {
    /** Declares one tensor of the file. */
    public record Spec(String name, DType dtype, long[] shape) {
        public Spec {
            shape = shape.clone();
        }

        long byteSize() {
            return TensorInfo.numel(shape) * dtype.bytes();
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CHUNK_BYTES = 1 << 20;

    private final Path target;
    private final Path temp;
    private final FileChannel channel;
    private final List<Spec> specs;
    private final ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private int current;
    private long remaining;
    private boolean closed;

    private SafetensorsWriter(Path target, Path temp, FileChannel channel, List<Spec> specs) {
        this.target = target;
        this.temp = temp;
        this.channel = channel;
        this.specs = specs;
        this.remaining = specs.isEmpty() ? 0 : specs.get(0).byteSize();
    }

    /** Starts a file whose tensors must then be written in exactly the order of {@code specs}. */
    public static SafetensorsWriter create(Path target, List<Spec> specs, Map<String, String> metadata)
            throws IOException {
        Set<String> names = new HashSet<>();
        for (Spec s : specs) {
            if (!names.add(s.name())) {
                throw new IllegalArgumentException("duplicate tensor name '" + s.name() + "'");
            }
        }
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Spec s : specs) {
            ObjectNode t = header.putObject(s.name());
            t.put("dtype", s.dtype().name());
            var shape = t.putArray("shape");
            Arrays.stream(s.shape()).forEach(shape::add);
            var offsets = t.putArray("data_offsets");
            offsets.add(offset);
            offset += s.byteSize();
            offsets.add(offset);
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8; // aligned data start, padded with spaces as the reference writer does
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path temp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
        AtomicFiles.makeReadable(temp);
        FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE);
        try {
            while (head.hasRemaining()) {
                ch.write(head);
            }
        } catch (IOException e) {
            ch.close();
            Files.deleteIfExists(temp);
            throw e;
        }
        return new SafetensorsWriter(target, temp, ch, List.copyOf(specs));
    }

    /** Writes a whole file of float tensors in one call. */
    public static void write(Path target, List<Tensor> tensors, Map<String, String> metadata) throws IOException {
        List<Spec> specs = tensors.stream().map(t -> new Spec(t.name(), t.dtype(), t.shape())).toList();
        try (SafetensorsWriter w = create(target, specs, metadata)) {
            for (Tensor t : tensors) {
                w.writeBytes(t.name(), t.bytes());
            }
        }
    }

    /** Appends float values to tensor {@code name}, narrowing to its dtype; may be called in chunks. */
    public void writeFloats(String name, float[] values, int offset, int count) throws IOException {
        Spec spec = expect(name);
        checkRemaining(spec, (long) count * spec.dtype().bytes());
        int perChunk = CHUNK_BYTES / spec.dtype().bytes();
        for (int done = 0; done < count; done += perChunk) {
            int n = Math.min(perChunk, count - done);
            chunk.clear();
            FloatCodec.encode(values, offset + done, n, spec.dtype(), chunk);
            chunk.flip();
            drain(chunk);
        }
        advance((long) count * spec.dtype().bytes());
    }

    public void writeFloats(String name, float[] values) throws IOException {
        writeFloats(name, values, 0, values.length);
    }

    /** Appends raw little-endian bytes to tensor {@code name}; may be called in chunks. */
    public void writeBytes(String name, ByteBuffer bytes) throws IOException {
        long n = bytes.remaining();
        checkRemaining(expect(name), n);
        drain(bytes.duplicate());
        advance(n);
    }

    private Spec expect(String name) {
        if (closed) {
            throw new IllegalStateException("writer for " + target + " is closed");
        }
        if (current >= specs.size()) {
            throw new IllegalStateException("all declared tensors are written; unexpected '" + name + "'");
        }
        Spec spec = specs.get(current);
        if (!spec.name().equals(name)) {
            throw new IllegalStateException("expected tensor '" + spec.name() + "' next (declared order), got '"
                    + name + "'");
        }
        return spec;
    }

    private void checkRemaining(Spec spec, long bytes) {
        if (bytes > remaining) {
            throw new IllegalStateException("tensor '" + spec.name() + "' gets " + bytes + " more bytes but only "
                    + remaining + " remain for shape " + Arrays.toString(spec.shape()));
        }
    }

    private void advance(long bytes) {
        remaining -= bytes;
        while (remaining == 0 && current < specs.size()) {
            current++;
            remaining = current < specs.size() ? specs.get(current).byteSize() : 0;
        }
    }

    private void drain(ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            channel.write(buf);
        }
    }

    /** Publishes the file if every declared tensor was written in full; otherwise deletes it and throws. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        boolean complete = current >= specs.size();
        try {
            if (complete) {
                channel.force(true);
            }
        } finally {
            channel.close();
        }
        if (!complete) {
            Files.deleteIfExists(temp);
            throw new IllegalStateException("safetensors file " + target + " is incomplete: tensor '"
                    + specs.get(current).name() + "' and later were not written; nothing was saved");
        }
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel dir = FileChannel.open(target.toAbsolutePath().getParent(), StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException ignored) {
            // directory fsync is best effort: not every filesystem allows opening a directory
        }
    }

    /** Abandons the file: nothing is published. */
    public void abort() throws IOException {
        closed = true;
        channel.close();
        Files.deleteIfExists(temp);
    }

}
