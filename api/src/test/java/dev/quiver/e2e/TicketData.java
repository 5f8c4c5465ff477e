package dev.quiver.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A small ticket-labelling task in chat form: ten tickets for each of five labels. */
public final class TicketData {
    public static final String SYSTEM = "Label the ticket.";
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

    private TicketData() {
    }

    /** The training file's text: one chat example per line. */
    public static String jsonl() {
        ObjectMapper json = new ObjectMapper();
        StringBuilder out = new StringBuilder();
        TICKETS.forEach((label, tickets) -> tickets.forEach(t -> {
            JsonNode line = json.createObjectNode().set("messages", json.valueToTree(messages(t, label)));
            out.append(line.toString()).append('\n');
        }));
        return out.toString();
    }

    /** The conversation for {@code ticket}; with a null label, the prompt to complete. */
    public static List<Map<String, String>> messages(String ticket, String label) {
        List<Map<String, String>> m = new ArrayList<>();
        m.add(Map.of("role", "system", "content", SYSTEM));
        m.add(Map.of("role", "user", "content", "Ticket: " + ticket));
        if (label != null) {
            m.add(Map.of("role", "assistant", "content", label));
        }
        return m;
    }
}
