package dev.quiver.finetune.data;

import java.util.List;
import java.util.Map;

/** One training example as read from a JSONL line, before tokenization. */
public sealed interface RawExample {

    /** The 1-based line of the file it came from, for error messages. */
    int line();

    /**
     * Chat form: {@code {"messages": [...], "tools": [...]}}. Messages are passed to the chat template as
     * they are.
     *
     * @param targets per message, whether it is learned: assistant messages, unless marked {@code "weight": 0}
     */
    record Chat(int line, List<Map<String, Object>> messages, List<Map<String, Object>> tools,
                List<Boolean> targets) implements RawExample {
        public Chat {
            messages = List.copyOf(messages);
            tools = tools == null ? null : List.copyOf(tools);
            targets = List.copyOf(targets);
            if (targets.size() != messages.size()) {
                throw new IllegalArgumentException(targets.size() + " target flags for " + messages.size()
                        + " messages");
            }
        }
    }

    /** Prompt/completion form: the completion (and the end-of-turn token after it) is the target. */
    record Completion(int line, String prompt, String completion) implements RawExample {
    }
}
