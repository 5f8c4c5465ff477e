package dev.quiver.evals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;

/** One held-out example: the conversation up to the answer, the reference answer's text and what it means as output. */
public record EvalCase(int line, ArrayNode messages, String reference, JsonNode expected) {
}
