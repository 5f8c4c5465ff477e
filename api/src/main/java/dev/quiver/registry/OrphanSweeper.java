package dev.quiver.registry;

import dev.quiver.adapters.blob.DataDir;
import io.micronaut.context.event.StartupEvent;
import io.micronaut.runtime.event.annotation.EventListener;
import io.micronaut.transaction.annotation.ReadOnly;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Removes what a crash can leave in the registry's directory: staging uploads, and version directories
 * whose row was never committed. Neither was ever visible as an adapter; this only reclaims the disk.
 */
@Singleton
public class OrphanSweeper {
    private final AdapterRecordRepository records;
    private final DataDir dataDir;

    public OrphanSweeper(AdapterRecordRepository records, DataDir dataDir) {
        this.records = records;
        this.dataDir = dataDir;
    }

    @EventListener
    @ReadOnly
    public void onStartup(StartupEvent event) {
        AdapterService.deleteTree(dataDir.resolve("adapters/.staging"));
        Path root = dataDir.resolve("adapters");
        if (!Files.isDirectory(root)) {
            return;
        }
        try (Stream<Path> dirs = Files.list(root)) {
            dirs.filter(d -> d.getFileName().toString().startsWith("adapter-"))
                    .filter(d -> records.findById(d.getFileName().toString()).isEmpty())
                    .forEach(AdapterService::deleteTree);
        } catch (IOException e) {
            // a later start tries again; orphans are invisible meanwhile
        }
    }
}
