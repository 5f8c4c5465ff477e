package dev.quiver.finetune.data;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads a file line by line as strict UTF-8, keeping each line's number and byte offset, so that a byte
 * that is not UTF-8 can be reported where it is (a {@code BufferedReader} only says "Input length = 1").
 */
final class Utf8Lines implements Closeable {
    /** A line without its terminator ({@code \n} or {@code \r\n}). */
    record Line(int number, String text) {
    }

    /** The file is not UTF-8: the first bad byte's line, its offset in the file and its value. */
    static final class NotUtf8Exception extends CharacterCodingException {
        private static final long serialVersionUID = 1L;
        private final int line;
        private final long offset;
        private final int value;

        NotUtf8Exception(int line, long offset, int value) {
            this.line = line;
            this.offset = offset;
            this.value = value;
        }

        int line() {
            return line;
        }

        @Override
        public String getMessage() {
            return String.format("is not UTF-8: byte 0x%02X at byte offset %d of the file is not valid UTF-8;"
                    + " training files must be UTF-8 encoded, so re-save the file as UTF-8", value, offset);
        }
    }

    private final InputStream in;
    private final byte[] buffer = new byte[64 * 1024];
    private int position;
    private int limit;
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private int number;
    private long offset;

    Utf8Lines(Path file) throws IOException {
        this.in = Files.newInputStream(file);
    }

    /** The next line, or null at the end of the file. */
    Line next() throws IOException {
        bytes.reset();
        boolean terminated = false;
        while (!terminated && fill()) {
            int end = position;
            while (end < limit && buffer[end] != '\n') {
                end++;
            }
            bytes.write(buffer, position, end - position);
            terminated = end < limit;
            position = terminated ? end + 1 : end;
        }
        if (!terminated && bytes.size() == 0) {
            return null;
        }
        number++;
        long start = offset;
        offset += bytes.size() + (terminated ? 1 : 0);
        String text = decode(bytes.toByteArray(), start);
        return new Line(number, text.endsWith("\r") ? text.substring(0, text.length() - 1) : text);
    }

    /** Whether unread bytes are buffered, reading more when none are. */
    private boolean fill() throws IOException {
        if (position < limit) {
            return true;
        }
        limit = Math.max(in.read(buffer), 0);
        position = 0;
        return limit > 0;
    }

    private String decode(byte[] line, long start) throws NotUtf8Exception {
        ByteBuffer source = ByteBuffer.wrap(line);
        CharBuffer target = CharBuffer.allocate(line.length);
        decoder.reset();
        CoderResult result = decoder.decode(source, target, true);
        if (result.isError()) {
            throw new NotUtf8Exception(number, start + source.position(), line[source.position()] & 0xFF);
        }
        decoder.flush(target);
        return target.flip().toString();
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
