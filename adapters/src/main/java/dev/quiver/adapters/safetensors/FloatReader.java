package dev.quiver.adapters.safetensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * Reads one floating-point tensor of an open safetensors file, widened to float, by positional reads into a small
 * buffer that it refills a chunk at a time. Unlike {@link Tensor}'s memory-mapped view, the file's pages are never
 * mapped into the process: reading a whole checkpoint once (as the graph compiler does) leaves them in the page
 * cache only, not in the process's resident size. Reads in ascending order cost one read per chunk however small
 * each request is. Valid while its file is open; not thread-safe.
 */
public final class FloatReader {
    /** Bytes read at a time: large enough that positional reads run as fast as a mapped view. */
    static final int CHUNK_BYTES = 1 << 18;

    private final Path path;
    private final FileChannel channel;
    private final TensorInfo info;
    private final long start;
    private final int elementBytes;
    private final ByteBuffer buffer;
    private long windowStart;
    private int windowLength;

    FloatReader(Path path, FileChannel channel, TensorInfo info, long start) throws SafetensorsException {
        if (!info.dtype().isFloatingPoint()) {
            throw new SafetensorsException(path, "tensor '" + info.name() + "' is " + info.dtype()
                    + ", not a floating-point tensor (F32, F16 or BF16)");
        }
        this.path = path;
        this.channel = channel;
        this.info = info;
        this.start = start;
        this.elementBytes = info.dtype().bytes();
        this.buffer = ByteBuffer.allocate((int) Math.min(info.byteSize(), CHUNK_BYTES)).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The tensor's header entry: name, dtype and shape. */
    public TensorInfo info() {
        return info;
    }

    /** Reads {@code count} elements starting at element {@code from} into {@code dst} from {@code offset}. */
    public void read(long from, float[] dst, int offset, int count) throws IOException {
        if (from < 0 || count < 0 || from + count > info.numel()) {
            throw new IndexOutOfBoundsException("tensor '" + info.name() + "' has " + info.numel()
                    + " elements; cannot read " + count + " from element " + from);
        }
        for (int done = 0; done < count; ) {
            long at = from + done;
            if (at < windowStart || at >= windowStart + windowLength) {
                fill(at);
            }
            int n = (int) Math.min(count - done, windowStart + windowLength - at);
            FloatCodec.decode(buffer, at - windowStart, info.dtype(), dst, offset + done, n);
            done += n;
        }
    }

    private void fill(long at) throws IOException {
        int n = (int) Math.min(buffer.capacity() / elementBytes, info.numel() - at);
        buffer.clear().limit(n * elementBytes);
        SafetensorsFile.readFully(channel, buffer, start + at * elementBytes, path, "tensor '" + info.name() + "'");
        windowStart = at;
        windowLength = n;
    }
}
