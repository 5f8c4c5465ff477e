package dev.quiver.adapters.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file opened for reading: the header is parsed and validated up front, tensor data is
 * memory-mapped on demand ({@link #tensor}) or read a chunk at a time ({@link #floatReader}) so that a multi-GiB
 * checkpoint never needs one big byte[].
 */
public final class SafetensorsFile implements AutoCloseable {
    /** The reference implementation's limit; a larger header is a corrupt or hostile file. */
    static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, Map<String, TensorInfo> tensors,
                            Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Opens and validates {@code path}; every problem is reported with the file and tensor named. */
    public static SafetensorsFile open(Path path) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            long fileSize = ch.size();
            if (fileSize < 8) {
                throw new SafetensorsException(path, "file is " + fileSize
                        + " bytes, too short for the 8-byte header length; the file is truncated");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0, path, "header length");
            long headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES) {
                throw new SafetensorsException(path, "header length " + Long.toUnsignedString(headerLen)
                        + " is outside (0, " + MAX_HEADER_BYTES + "]; not a safetensors file or corrupt");
            }
            if (8 + headerLen > fileSize) {
                throw new SafetensorsException(path, "header length " + headerLen + " exceeds the file size "
                        + fileSize + "; the file is truncated");
            }
            ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
            readFully(ch, headerBuf, 8, path, "header");
            long dataStart = 8 + headerLen;
            Header header = parseHeader(path, new String(headerBuf.array(), StandardCharsets.UTF_8),
                    fileSize - dataStart);
            return new SafetensorsFile(path, ch, dataStart, header.tensors, header.metadata);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private record Header(Map<String, TensorInfo> tensors, Map<String, String> metadata) {
    }

    private static Header parseHeader(Path path, String text, long dataSize) throws SafetensorsException {
        JsonNode root;
        try {
            root = JSON.readTree(text.stripTrailing());
        } catch (JsonProcessingException e) {
            throw new SafetensorsException(path, "header is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsException(path, "header must be a JSON object");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        List<TensorInfo> infos = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                if (!e.getValue().isObject()) {
                    throw new SafetensorsException(path, "__metadata__ must be an object of strings");
                }
                e.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            infos.add(parseTensor(path, e.getKey(), e.getValue(), dataSize));
        }
        infos.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long cursor = 0;
        for (TensorInfo t : infos) {
            if (t.begin() < cursor) {
                throw new SafetensorsException(path, "tensor '" + t.name() + "' bytes [" + t.begin() + ", "
                        + t.end() + ") overlap the previous tensor, which ends at " + cursor);
            }
            if (t.begin() > cursor) {
                throw new SafetensorsException(path, "gap of " + (t.begin() - cursor) + " bytes before tensor '"
                        + t.name() + "'; the data section must be fully indexed");
            }
            cursor = t.end();
        }
        if (cursor != dataSize) {
            throw new SafetensorsException(path, "tensors cover " + cursor + " bytes but the data section has "
                    + dataSize + (cursor < dataSize ? "; trailing bytes are not indexed" : ""));
        }
        Map<String, TensorInfo> byName = new LinkedHashMap<>();
        for (TensorInfo t : infos) {
            byName.put(t.name(), t);
        }
        return new Header(Collections.unmodifiableMap(byName), Collections.unmodifiableMap(metadata));
    }

    private static TensorInfo parseTensor(Path path, String name, JsonNode node, long dataSize)
            throws SafetensorsException {
        String where = "tensor '" + name + "'";
        if (!node.isObject() || !node.path("dtype").isTextual() || !node.path("shape").isArray()
                || !node.path("data_offsets").isArray() || node.path("data_offsets").size() != 2) {
            throw new SafetensorsException(path, where + " needs dtype (string), shape (array) and data_offsets"
                    + " ([begin, end])");
        }
        DType dtype;
        try {
            dtype = DType.parse(node.get("dtype").asText());
        } catch (IllegalArgumentException e) {
            throw new SafetensorsException(path, where + ": " + e.getMessage());
        }
        long[] shape = new long[node.get("shape").size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = node.get("shape").get(i);
            if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0) {
                throw new SafetensorsException(path, where + ": shape entry " + d + " is not a non-negative integer");
            }
            shape[i] = d.asLong();
        }
        JsonNode offsets = node.get("data_offsets");
        if (!offsets.get(0).isIntegralNumber() || !offsets.get(1).isIntegralNumber()) {
            throw new SafetensorsException(path, where + ": data_offsets must be integers");
        }
        long begin = offsets.get(0).asLong();
        long end = offsets.get(1).asLong();
        if (begin < 0 || end < begin) {
            throw new SafetensorsException(path, where + ": data_offsets [" + begin + ", " + end + "] are not an"
                    + " ascending non-negative range");
        }
        if (end > dataSize) {
            throw new SafetensorsException(path, where + ": data_offsets end " + end + " lies beyond the data"
                    + " section (" + dataSize + " bytes); the file is truncated or the header is wrong");
        }
        long expected;
        try {
            expected = Math.multiplyExact(TensorInfo.numel(shape), dtype.bytes());
        } catch (ArithmeticException e) {
            throw new SafetensorsException(path, where + ": shape overflows");
        }
        if (end - begin != expected) {
            throw new SafetensorsException(path, where + ": " + (end - begin) + " bytes do not match shape "
                    + java.util.Arrays.toString(shape) + " of " + dtype + " (" + expected + " bytes)");
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    /** Fills {@code buf} from {@code position}; the end of the file before it is full is an error about {@code what}. */
    static void readFully(FileChannel ch, ByteBuffer buf, long position, Path path, String what) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new SafetensorsException(path, what + ": unexpected end of file at byte " + pos
                        + " (the file is " + ch.size() + " bytes); the file is truncated or was changed while open");
            }
            pos += n;
        }
    }

    public Path path() {
        return path;
    }

    /** Header entries in data order. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    /** The free-form {@code __metadata__} strings. */
    public Map<String, String> metadata() {
        return metadata;
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /** Maps one tensor's bytes; the view stays valid after this file is closed. */
    public Tensor tensor(String name) throws IOException {
        TensorInfo info = info(name);
        if (info.byteSize() > Integer.MAX_VALUE) {
            throw new SafetensorsException(path, "tensor '" + name + "' is " + info.byteSize()
                    + " bytes; tensors over 2 GiB are not supported");
        }
        ByteBuffer mapped = info.byteSize() == 0 ? ByteBuffer.allocate(0)
                : channel.map(FileChannel.MapMode.READ_ONLY, dataStart + info.begin(), info.byteSize());
        return new Tensor(name, info.dtype(), info.shape(), mapped);
    }

    /**
     * A reader of floating-point tensor {@code name} by positional reads, which maps nothing; valid while this file
     * is open.
     */
    public FloatReader floatReader(String name) throws IOException {
        TensorInfo info = info(name);
        return new FloatReader(path, channel, info, dataStart + info.begin());
    }

    private TensorInfo info(String name) throws SafetensorsException {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new SafetensorsException(path, "no tensor named '" + name + "'");
        }
        return info;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
