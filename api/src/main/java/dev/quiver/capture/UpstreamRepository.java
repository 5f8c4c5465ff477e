package dev.quiver.capture;

import io.micronaut.data.annotation.Repository;
import io.micronaut.data.jpa.repository.JpaRepository;

/** Upstreams by task. */
@Repository
public interface UpstreamRepository extends JpaRepository<Upstream, String> {
}
