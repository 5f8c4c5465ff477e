package dev.quiver.evals;

import io.micronaut.data.annotation.Repository;
import io.micronaut.data.jpa.repository.JpaRepository;
import java.util.List;

/** An eval's log lines in order. */
@Repository
public interface EvalEventRepository extends JpaRepository<EvalEvent, Long> {
    List<EvalEvent> findByEvalIdOrderById(String evalId);

    void deleteByEvalId(String evalId);
}
