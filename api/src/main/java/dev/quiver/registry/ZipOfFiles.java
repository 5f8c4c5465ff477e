package dev.quiver.registry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * A zip archive of files, compressed as it is read: a download streams it without a temp file, and without a
 * writer thread and pipe (whose ends die with whichever pool thread last touched them).
 */
final class ZipOfFiles extends InputStream {
    private static final int CHUNK = 64 * 1024;

    /** The compressed bytes not yet read; reset before each chunk is compressed into it. */
    private static final class Pending extends ByteArrayOutputStream {
        int copyTo(int from, byte[] target, int offset, int length) {
            int n = Math.min(length, count - from);
            System.arraycopy(buf, from, target, offset, n);
            return n;
        }
    }

    private final Iterator<Map.Entry<String, Path>> files;
    private final Pending pending = new Pending();
    private final ZipOutputStream zip = new ZipOutputStream(pending);
    private final byte[] chunk = new byte[CHUNK];
    private InputStream current;
    private int position;
    private boolean finished;

    /** {@code files}: entry name to file, in archive order. */
    ZipOfFiles(Map<String, Path> files) {
        this.files = files.entrySet().iterator();
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public int read(byte[] target, int offset, int length) throws IOException {
        if (length == 0) {
            return 0;
        }
        while (position == pending.size()) {
            if (!compressMore()) {
                return -1;
            }
        }
        int n = pending.copyTo(position, target, offset, length);
        position += n;
        return n;
    }

    /** Compresses the next chunk (or starts the next entry, or ends the archive); false once all is read. */
    private boolean compressMore() throws IOException {
        if (finished) {
            return false;
        }
        pending.reset();
        position = 0;
        if (current == null) {
            if (files.hasNext()) {
                Map.Entry<String, Path> next = files.next();
                current = Files.newInputStream(next.getValue());
                zip.putNextEntry(new ZipEntry(next.getKey()));
            } else {
                zip.finish();
                finished = true;
            }
            return true;
        }
        int n = current.read(chunk);
        if (n < 0) {
            current.close();
            current = null;
            zip.closeEntry();
        } else {
            zip.write(chunk, 0, n);
        }
        return true;
    }

    @Override
    public void close() throws IOException {
        finished = true;
        try (InputStream file = current; ZipOutputStream archive = zip) {
            // closing the archive frees its native deflater, even when the reader stopped half way
            current = null;
        }
    }
}
