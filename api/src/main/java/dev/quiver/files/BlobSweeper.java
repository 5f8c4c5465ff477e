package dev.quiver.files;

import dev.quiver.adapters.blob.BlobStore;
import dev.quiver.jobs.JobCheckpointRepository;
import io.micronaut.context.annotation.Value;
import io.micronaut.context.event.StartupEvent;
import io.micronaut.runtime.event.annotation.EventListener;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * At startup, deletes blobs that no file or checkpoint row references and writes a crash interrupted: an
 * upload killed between storing and recording its bytes would otherwise fill the disk unseen.
 */
@Singleton
public class BlobSweeper {
    private static final Logger LOG = LoggerFactory.getLogger(BlobSweeper.class);

    private final BlobStore blobs;
    private final FileRepository files;
    private final JobCheckpointRepository checkpoints;
    private final Duration grace;

    public BlobSweeper(BlobStore blobs, FileRepository files, JobCheckpointRepository checkpoints,
                       @Value("${quiver.files.orphan-grace:1h}") Duration grace) {
        this.blobs = blobs;
        this.files = files;
        this.checkpoints = checkpoints;
        this.grace = grace;
    }

    @EventListener
    public void onStartup(StartupEvent event) {
        sweep();
    }

    /** Deletes unreferenced blobs older than the grace period (younger ones may belong to an upload in flight). */
    public void sweep() {
        try {
            int deleted = blobs.sweep(sha -> files.countBySha256(sha) > 0 || checkpoints.countBySha256(sha) > 0,
                    Instant.now().minus(grace));
            if (deleted > 0) {
                LOG.info("deleted {} unreferenced blob file(s) from {}", deleted, blobs.directory());
            }
        } catch (IOException | RuntimeException e) {
            // the next start tries again; unreferenced blobs are invisible to clients meanwhile
            LOG.warn("could not sweep unreferenced blobs from {}: {}", blobs.directory(), e.toString());
        }
    }
}
