package dev.quiver.finetune;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A tiny ticket classifier task in chat form: a few kinds of message, each with a fixed label. */
public final class ClassifierData {
    /** Label to the messages that carry it. */
    public static final Map<String, List<String>> TICKETS = new LinkedHashMap<>();

    static {
        TICKETS.put("billing", List.of("my invoice is wrong", "I was charged twice", "the bill is too high",
                "payment failed on my card", "please fix my invoice", "wrong amount on the bill",
                "charged for a plan I cancelled", "my card was billed again", "invoice shows the old price",
                "refund the double charge"));
        TICKETS.put("shipping", List.of("my parcel never arrived", "where is my package", "the box came damaged",
                "delivery is late again", "tracking number does not work", "the courier lost my order",
                "parcel sent to the wrong house", "package stuck in transit", "delivery driver did not come",
                "my order has not shipped"));
        TICKETS.put("account", List.of("I cannot log in", "reset my password please", "my account is locked",
                "change the email on my account", "two factor code never comes", "delete my account",
                "someone else used my login", "username is taken", "the sign in page fails",
                "I forgot my password"));
        TICKETS.put("praise", List.of("thank you so much", "great service today", "you are the best",
                "the team was very kind", "love the new app", "quick and friendly help",
                "thanks for the fast reply", "happy with my order", "wonderful support", "keep up the good work"));
        TICKETS.put("bug", List.of("the app crashes on start", "the button does nothing", "page shows an error",
                "screen goes blank", "the search is broken", "images do not load", "the form will not submit",
                "export gives an empty file", "the map never loads", "settings do not save"));
    }

    public static final String SYSTEM = "Label the ticket.";

    private ClassifierData() {
    }

    public static String prompt(String ticket) {
        return "Ticket: " + ticket;
    }

    /** Unseen tickets, one per label, for validation. */
    public static final Map<String, String> HELD_OUT = Map.of("billing", "the invoice total is wrong",
            "shipping", "my parcel is late", "account", "I cannot reset my login", "praise", "thanks, great help",
            "bug", "the app shows an error");

    /** Writes every ticket as one chat example and returns the file. */
    public static Path write(Path file) throws IOException {
        List<String> lines = new ArrayList<>();
        TICKETS.forEach((label, tickets) -> tickets.forEach(t -> lines.add(line(t, label))));
        Files.write(file, lines);
        return file;
    }

    /** Writes the held-out tickets and returns the file. */
    public static Path writeValidation(Path file) throws IOException {
        List<String> lines = new ArrayList<>();
        TICKETS.keySet().forEach(label -> lines.add(line(HELD_OUT.get(label), label)));
        Files.write(file, lines);
        return file;
    }

    private static String line(String ticket, String label) {
        ObjectMapper json = new ObjectMapper();
        return json.createObjectNode().set("messages", json.createArrayNode()
                .add(json.createObjectNode().put("role", "system").put("content", SYSTEM))
                .add(json.createObjectNode().put("role", "user").put("content", prompt(ticket)))
                .add(json.createObjectNode().put("role", "assistant").put("content", label))).toString();
    }
}
