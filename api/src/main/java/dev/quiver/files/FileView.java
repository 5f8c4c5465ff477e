package dev.quiver.files;

import io.micronaut.serde.annotation.Serdeable;

/** OpenAI's file object, plus the dataset statistics Quiver computed at upload. */
@Serdeable
public record FileView(String id, String object, long bytes, long createdAt, String filename, String purpose,
                       String status, DatasetStatistics statistics) {

    static FileView of(StoredFile f) {
        return new FileView(f.getId(), "file", f.getBytes(), f.getCreatedAt().getEpochSecond(), f.getFilename(),
                f.getPurpose(), "processed", f.statistics());
    }
}
