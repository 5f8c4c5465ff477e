package dev.quiver.serving.http.toolcalls;

import java.util.List;

/**
 * Splits one choice's answer, fed as it is generated, into content and tool calls. Text that may still
 * turn out to belong to a call is held back, so no call markup ever reaches a client as content.
 */
public interface ToolCallStream {

    /** Adds generated text; returns what can now be released, in answer order. */
    List<ToolCallEvent> add(String text);

    /** Ends the answer: releases what was held back, a call left unfinished as plain text. */
    List<ToolCallEvent> finish();
}
