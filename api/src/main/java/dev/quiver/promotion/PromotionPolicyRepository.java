package dev.quiver.promotion;

import io.micronaut.data.annotation.Repository;
import io.micronaut.data.jpa.repository.JpaRepository;

/** Promotion policies by task. */
@Repository
public interface PromotionPolicyRepository extends JpaRepository<PromotionPolicy, String> {
}
