package dev.quiver.files;

import dev.quiver.http.ObjectIds;
import dev.quiver.adapters.blob.BlobRef;
import dev.quiver.adapters.blob.BlobStore;
import dev.quiver.adapters.blob.BlobTooLargeException;
import dev.quiver.http.ApiException;
import io.micronaut.context.annotation.Value;
import io.micronaut.http.HttpStatus;
import io.micronaut.transaction.annotation.ReadOnly;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import jakarta.transaction.Transactional;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * Stores uploads in the blob store, validates them line by line before they become visible, and
 * keeps their records per project.
 */
@Singleton
public class FileService {
    private static final Logger LOG = LoggerFactory.getLogger(FileService.class);
    static final Set<String> PURPOSES = Set.of("fine-tune");

    private final FileRepository files;
    private final BlobStore blobs;
    private final DatasetValidator validator;
    private final long maxBytes;

    public FileService(FileRepository files, BlobStore blobs, DatasetValidator validator,
                       @Value("${quiver.files.max-bytes}") long maxBytes) {
        this.files = files;
        this.blobs = blobs;
        this.validator = validator;
        this.maxBytes = maxBytes;
    }

    /**
     * Streams {@code content} into the store, validates it and records it; invalid data leaves nothing behind.
     * Not one transaction: the blob is discarded when the insert fails, which a commit after return could not do.
     */
    public StoredFile upload(String projectId, String filename, String purpose, InputStream content) {
        if (purpose == null || !PURPOSES.contains(purpose)) {
            throw ApiException.invalid("purpose", "purpose must be one of " + PURPOSES + ", got '" + purpose + "'");
        }
        if (filename == null || filename.isBlank()) {
            throw ApiException.invalid("file", "the multipart part 'file' needs a filename");
        }
        BlobRef blob;
        try {
            blob = blobs.put(content, maxBytes);
        } catch (BlobTooLargeException e) {
            throw new ApiException(HttpStatus.REQUEST_ENTITY_TOO_LARGE, "invalid_request_error",
                    "file is larger than the limit of " + maxBytes + " bytes (quiver.files.max-bytes)", "file",
                    "file_too_large");
        } catch (IOException e) {
            throw new IllegalStateException("could not store upload: " + e.getMessage(), e);
        }
        try {
            DatasetStatistics stats = inspect(blob, filename);
            String id = ObjectIds.next("file-", 12);
            return files.save(new StoredFile(id, projectId, filename, purpose, blob.size(), blob.sha256(),
                    stats.format(), stats.examples(), stats.tokens(), stats.maxExampleTokens(), Instant.now()));
        } catch (RuntimeException | Error e) {
            // whatever failed (bad data, a crash in the reader, the insert), the bytes must not outlive it
            discardIfUnused(blob.sha256());
            throw e;
        }
    }

    private DatasetStatistics inspect(BlobRef blob, String filename) {
        try {
            return validator.inspect(blobs.path(blob.sha256()).orElseThrow(), filename);
        } catch (IOException e) {
            throw ApiException.invalid("file", "invalid training file: " + e.getMessage());
        }
    }

    @ReadOnly
    public StoredFile get(String projectId, String id) {
        return files.findByIdAndProjectId(id, projectId).orElseThrow(() -> ApiException.notFound("file", id));
    }

    @ReadOnly
    public List<StoredFile> list(String projectId) {
        return files.findByProjectIdOrderByCreatedAtDesc(projectId);
    }

    /** The stored bytes of a file. */
    public InputStream open(StoredFile file) throws IOException {
        return blobs.open(file.getSha256());
    }

    /** Where the stored bytes of a file lie on disk (for the local trainer). */
    public Path path(StoredFile file) {
        return blobs.path(file.getSha256()).orElseThrow(() -> new IllegalStateException("blob of " + file.getId()
                + " is missing from the store"));
    }

    @Transactional
    public void delete(String projectId, String id) {
        StoredFile f = get(projectId, id);
        files.delete(f);
        discardIfUnused(f.getSha256());
    }

    private void discardIfUnused(String sha256) {
        if (files.countBySha256(sha256) == 0) {
            try {
                blobs.delete(sha256);
            } catch (IOException e) {
                // the record is gone; an orphaned blob only costs disk and is overwritten by an equal upload
                LOG.warn("could not delete blob {}: {}", sha256, e.getMessage());
            }
        }
    }
}
