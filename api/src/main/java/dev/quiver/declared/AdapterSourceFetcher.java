package dev.quiver.declared;

import dev.quiver.adapters.peft.LoraConfig;
import dev.quiver.adapters.peft.PeftAdapter;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Brings the two files of a PEFT adapter ({@code adapter_config.json}, {@code adapter_model.safetensors})
 * from a declared source into a staging directory: copied from a directory on the volume, or downloaded from
 * an http(s) URL that is a .zip, .tar.gz, .tgz or .tar archive (the files may sit in one folder inside it) or
 * the base URL of a directory that serves the two files.
 */
final class AdapterSourceFetcher {
    static final List<String> FILES = List.of(LoraConfig.FILE, PeftAdapter.WEIGHTS_FILE);
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(15);
    private static final Duration DOWNLOAD_TIMEOUT = Duration.ofMinutes(30);

    private final HttpClient http;

    AdapterSourceFetcher() {
        this.http = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT)
                .followRedirects(HttpClient.Redirect.NORMAL).build();
    }

    /** A digest of an adapter directory's two files, to tell whether a declared directory changed. */
    static String digest(Path dir) throws IOException {
        MessageDigest sha = sha256();
        for (String file : FILES) {
            Path f = dir.resolve(file);
            if (!Files.isRegularFile(f)) {
                throw new NoSuchFileException(f + " is missing (a PEFT adapter directory holds " + FILES + ")");
            }
            sha.update(file.getBytes(StandardCharsets.UTF_8));
            try (InputStream in = new DigestInputStream(Files.newInputStream(f), sha)) {
                in.transferTo(OutputStream.nullOutputStream());
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** Copies the PEFT files of directory {@code source} into {@code staging}. */
    void copy(Path source, Path staging) throws IOException {
        if (!Files.isDirectory(source)) {
            throw new NoSuchFileException(source + " is not a directory on the volume (a declared path must be a"
                    + " PEFT adapter directory with " + FILES + ")");
        }
        for (String file : FILES) {
            Path f = source.resolve(file);
            if (!Files.isRegularFile(f)) {
                throw new NoSuchFileException(f + " is missing (a PEFT adapter directory holds " + FILES + ")");
            }
            Files.copy(f, staging.resolve(file), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Downloads the adapter at {@code uri} into {@code staging}. */
    void download(URI uri, Path staging) throws IOException, InterruptedException {
        Path body = staging.resolve(".download");
        try {
            int status = get(uri, body);
            Archive archive = status / 100 == 2 ? Archive.sniff(body) : Archive.NONE;
            if (archive != Archive.NONE) {
                extract(archive, body, staging, uri);
                return;
            }
            if (Archive.byName(uri) != Archive.NONE) {
                throw new IOException("GET " + redact(uri) + (status / 100 == 2
                        ? ": the response is not a " + Archive.byName(uri).label + " archive"
                        : ": HTTP " + status));
            }
            // not an archive: the base URL of a directory holding the two files
            String base = uri.toString().replaceAll("/+$", "");
            for (String file : FILES) {
                URI fileUri = URI.create(base + "/" + file);
                int fileStatus = get(fileUri, staging.resolve(file));
                if (fileStatus / 100 != 2) {
                    Files.deleteIfExists(staging.resolve(file));
                    throw new IOException("GET " + redact(fileUri) + ": HTTP " + fileStatus + " (a URL source is a"
                            + " .zip, .tar.gz or .tgz archive, or a directory URL serving " + FILES + ")");
                }
            }
        } finally {
            Files.deleteIfExists(body);
        }
    }

    private int get(URI uri, Path into) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(DOWNLOAD_TIMEOUT).GET().build();
        HttpResponse<Path> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofFile(into));
        } catch (IOException e) {
            throw new IOException("GET " + redact(uri) + " failed: " + (e.getMessage() == null
                    ? e.getClass().getSimpleName() : e.getMessage()), e);
        }
        return response.statusCode();
    }

    private static void extract(Archive archive, Path file, Path staging, URI uri) throws IOException {
        Set<String> found = new HashSet<>();
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file))) {
            if (archive == Archive.ZIP) {
                try (ZipInputStream zip = new ZipInputStream(raw)) {
                    for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
                        if (!e.isDirectory()) {
                            take(e.getName(), zip, staging, found, uri);
                        }
                    }
                }
            } else {
                InputStream in = archive == Archive.TAR_GZ ? new GZIPInputStream(raw) : raw;
                try (TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
                    for (TarArchiveEntry e; (e = tar.getNextEntry()) != null; ) {
                        if (e.isFile()) {
                            take(e.getName(), tar, staging, found, uri);
                        }
                    }
                }
            }
        }
        for (String f : FILES) {
            if (!found.contains(f)) {
                throw new IOException("the " + archive.label + " archive at " + redact(uri) + " has no " + f
                        + " (a PEFT adapter archive holds " + FILES + ")");
            }
        }
    }

    // only the two known names are written, under their own names: no path from the archive is ever used
    private static void take(String entry, InputStream in, Path staging, Set<String> found, URI uri)
            throws IOException {
        String base = entry.substring(entry.lastIndexOf('/') + 1);
        if (!FILES.contains(base) || entry.startsWith("__MACOSX/")) {
            return;
        }
        if (!found.add(base)) {
            throw new IOException("the archive at " + redact(uri) + " holds more than one " + base
                    + "; it must hold exactly one adapter");
        }
        Files.copy(in, staging.resolve(base), StandardCopyOption.REPLACE_EXISTING);
    }

    /** The URL without its query, which may carry a signature or token. */
    static String redact(URI uri) {
        String s = uri.getScheme() + "://" + uri.getRawAuthority().replaceAll("^.*@", "") + uri.getRawPath();
        return uri.getRawQuery() == null ? s : s + "?…";
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK always has SHA-256", e);
        }
    }

    private enum Archive {
        NONE("no"), ZIP("zip"), TAR_GZ("tar.gz"), TAR("tar");

        final String label;

        Archive(String label) {
            this.label = label;
        }

        static Archive byName(URI uri) {
            String path = uri.getPath() == null ? "" : uri.getPath().toLowerCase(Locale.ROOT);
            return path.endsWith(".zip") ? ZIP : path.endsWith(".tar.gz") || path.endsWith(".tgz") ? TAR_GZ
                    : path.endsWith(".tar") ? TAR : NONE;
        }

        static Archive sniff(Path file) throws IOException {
            byte[] head = new byte[512];
            int n;
            try (InputStream in = Files.newInputStream(file)) {
                n = in.readNBytes(head, 0, head.length);
            }
            if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) {
                return ZIP;
            }
            if (n >= 2 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b) {
                return TAR_GZ;
            }
            if (n >= 262 && new String(head, 257, 5, StandardCharsets.US_ASCII).equals("ustar")) {
                return TAR;
            }
            return NONE;
        }
    }
}
