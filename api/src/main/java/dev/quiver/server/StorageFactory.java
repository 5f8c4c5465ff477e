package dev.quiver.server;

import dev.quiver.adapters.blob.BlobStore;
import dev.quiver.adapters.blob.DataDir;
import io.micronaut.context.annotation.Factory;
import jakarta.inject.Singleton;
import java.nio.file.Path;

/** The data dir and the blob store inside it as beans. */
@Factory
public class StorageFactory {
    @Singleton
    DataDir dataDir(QuiverConfig config) {
        return new DataDir(Path.of(config.dataDir()));
    }

    @Singleton
    BlobStore blobStore(DataDir dataDir) {
        return new BlobStore(dataDir);
    }
}
