package dev.quiver.capture;

import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.function.Consumer;

/** Passes a stream through unchanged while keeping a copy, handed to {@code onEnd} once at end of stream or close. */
final class TeeStream extends FilterInputStream {
    private final ByteArrayOutputStream copy = new ByteArrayOutputStream();
    private final Consumer<byte[]> onEnd;
    private boolean ended;

    TeeStream(InputStream in, Consumer<byte[]> onEnd) {
        super(in);
        this.onEnd = onEnd;
    }

    @Override
    public int read() throws IOException {
        int b = super.read();
        if (b < 0) {
            end();
        } else {
            copy.write(b);
        }
        return b;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
        int n = super.read(buffer, offset, length);
        if (n < 0) {
            end();
        } else {
            copy.write(buffer, offset, n);
        }
        return n;
    }

    @Override
    public void close() throws IOException {
        try {
            super.close();
        } finally {
            end();
        }
    }

    private void end() {
        if (!ended) {
            ended = true;
            onEnd.accept(copy.toByteArray());
        }
    }
}
