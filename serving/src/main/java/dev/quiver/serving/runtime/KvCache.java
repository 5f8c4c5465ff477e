package dev.quiver.serving.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import dev.quiver.serving.graph.DecoderSignature;
import dev.quiver.serving.graph.ExternalTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The KV cache: per layer, one key and one value buffer of {@code rows} sequences in GroupQueryAttention's
 * BNSH layout {@code [row, kvHead, position, headDim]}, each row holding up to {@code maxSequenceLength}
 * positions, of fp32 or fp16 values as the signature's {@code kvPrecision} says. A step binds a contiguous run of
 * rows as both past and present, so the op appends in place.
 */
public final class KvCache implements AutoCloseable {
    private final OrtEnvironment env;
    private final DecoderSignature signature;
    private final int rows;
    private final int valueBytes;
    private final ByteBuffer[] keys;
    private final ByteBuffer[] values;
    private final Map<Long, Map<String, OnnxTensor>> views = new HashMap<>();

    public KvCache(OrtEnvironment env, DecoderSignature signature, int rows) {
        this.env = env;
        this.signature = signature;
        this.rows = rows;
        this.valueBytes = signature.kvPrecision().bytes();
        int layers = signature.config().numLayers();
        long bytes = rows * signature.kvRowValues() * valueBytes;
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a KV cache of " + rows + " sequences x " + signature.maxSequenceLength()
                    + " positions needs " + bytes + " bytes per layer, above 2 GiB; lower the batch size or the"
                    + " max sequence length");
        }
        keys = new ByteBuffer[layers];
        values = new ByteBuffer[layers];
        for (int l = 0; l < layers; l++) {
            keys[l] = ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder());
            values[l] = ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder());
        }
    }

    public int rows() {
        return rows;
    }

    /** {@code past_key.L}/{@code past_value.L} over rows {@code [first, first + count)}, reused across steps. */
    Map<String, OnnxTensor> pastInputs(int first, int count) throws OrtException {
        if (first < 0 || count < 1 || first + count > rows) {
            throw new IllegalArgumentException("KV rows [" + first + ", " + (first + count) + ") outside the cache's "
                    + rows + " rows");
        }
        long key = ((long) first << 32) | count;
        Map<String, OnnxTensor> v = views.get(key);
        if (v == null) {
            v = new LinkedHashMap<>();
            long[] shape = {count, signature.config().numKvHeads(), signature.maxSequenceLength(),
                    signature.config().headDim()};
            int from = (int) (first * signature.kvRowValues() * valueBytes);
            int length = (int) (count * signature.kvRowValues() * valueBytes);
            for (int l = 0; l < keys.length; l++) {
                v.put(DecoderSignature.pastKey(l), tensor(keys[l].slice(from, length), shape));
                v.put(DecoderSignature.pastValue(l), tensor(values[l].slice(from, length), shape));
            }
            views.put(key, v);
        }
        return v;
    }

    private OnnxTensor tensor(ByteBuffer bytes, long[] shape) throws OrtException {
        return new ExternalTensor(signature.kvPrecision().onnxType(), shape, bytes.order(ByteOrder.nativeOrder()))
                .tensor(env);
    }

    /** Copies the first {@code length} positions of row {@code from} into row {@code to}, every layer and head. */
    public void moveRow(int from, int to, int length) {
        if (from == to || length == 0) {
            return;
        }
        int heads = signature.config().numKvHeads();
        int headDim = signature.config().headDim();
        int headStride = signature.maxSequenceLength() * headDim * valueBytes;
        byte[] tmp = new byte[length * headDim * valueBytes];
        for (int l = 0; l < keys.length; l++) {
            for (ByteBuffer buf : new ByteBuffer[] {keys[l], values[l]}) {
                for (int h = 0; h < heads; h++) {
                    int src = (int) (from * signature.kvRowValues() * valueBytes) + h * headStride;
                    int dst = (int) (to * signature.kvRowValues() * valueBytes) + h * headStride;
                    buf.get(src, tmp, 0, tmp.length);
                    buf.put(dst, tmp, 0, tmp.length);
                }
            }
        }
    }

    @Override
    public void close() {
        views.values().forEach(m -> m.values().forEach(OnnxTensor::close));
        views.clear();
    }
}
