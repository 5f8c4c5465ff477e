package dev.quiver.files;

import dev.quiver.adapters.tokenizer.ChatTemplate;
import dev.quiver.adapters.tokenizer.Tokenizer;
import dev.quiver.finetune.data.DatasetException;
import dev.quiver.finetune.data.DatasetReader;
import dev.quiver.finetune.data.EncodedDataset;
import dev.quiver.finetune.data.EncodedExample;
import dev.quiver.finetune.data.ExampleEncoder;
import dev.quiver.finetune.data.RawExample;
import dev.quiver.serving.BaseModel;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Validates uploads with the trainer's own reader and encoder, so a file accepted here is a file the
 * trainer accepts, and counts tokens with the base model's tokenizer and chat template.
 */
@Singleton
public class TrainerDatasetValidator implements DatasetValidator {
    private static final int SHOWN = 10;
    private final Tokenizer tokenizer;
    private final ChatTemplate template;
    private final String endOfTurn;
    private final int maxLength;

    public TrainerDatasetValidator(BaseModel base) throws IOException {
        this.tokenizer = Tokenizer.load(base.path());
        this.template = ChatTemplate.load(base.path());
        this.endOfTurn = ExampleEncoder.endOfTurn(base.path(), tokenizer);
        this.maxLength = base.config().maxPositionEmbeddings();
    }

    @Override
    public DatasetStatistics inspect(Path file, String filename) throws IOException {
        List<RawExample> raw;
        EncodedDataset encoded;
        try {
            raw = new DatasetReader().read(file);
            encoded = new ExampleEncoder(tokenizer, template, endOfTurn, maxLength).encodeAll(file, raw);
        } catch (DatasetException e) {
            // the stored blob's name means nothing to the client: report lines against the uploaded name
            throw new IOException(e.problems().stream().limit(SHOWN)
                    .map(p -> filename + (p.line() > 0 ? ":" + p.line() : "") + ": " + p.message())
                    .collect(Collectors.joining("; "))
                    + (e.problems().size() > SHOWN ? "; and " + (e.problems().size() - SHOWN) + " more" : ""), e);
        }
        int longest = encoded.examples().stream().mapToInt(EncodedExample::length).max().orElse(0);
        String format = raw.get(0) instanceof RawExample.Chat ? "chat" : "prompt_completion";
        return new DatasetStatistics(format, raw.size(), encoded.tokens(), longest);
    }

    @PreDestroy
    void close() {
        tokenizer.close();
    }
}
