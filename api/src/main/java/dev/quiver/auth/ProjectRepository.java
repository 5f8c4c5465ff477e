package dev.quiver.auth;

import io.micronaut.data.annotation.Repository;
import io.micronaut.data.jpa.repository.JpaRepository;

/** Projects by id. */
@Repository
public interface ProjectRepository extends JpaRepository<Project, String> {
}
