package dev.quiver.http;

import java.util.List;

/** The {@code limit} query parameter of list endpoints: absent means the endpoint's default, else 1 to its maximum. */
public record PageLimit(int defaultLimit, int max) {
    /** For lists that are not paged otherwise: OpenAI's bounds for {@code GET /v1/files}. */
    public static final PageLimit WHOLE_LIST = new PageLimit(10_000, 10_000);
    /** For paged lists (jobs, events): OpenAI's default and maximum. */
    public static final PageLimit PAGED = new PageLimit(20, 100);

    /** The limit to apply; a 400 naming {@code limit} when it is below 1 or above the maximum. */
    public int of(Integer limit) {
        if (limit == null) {
            return defaultLimit;
        }
        if (limit < 1 || limit > max) {
            throw ApiException.invalid("limit", "limit must be between 1 and " + max + ", got " + limit);
        }
        return limit;
    }

    /** The first {@code limit} items as a list page, {@code has_more} when some were left out. */
    public <T> ListView<T> page(List<T> items, Integer limit) {
        int n = of(limit);
        return ListView.of(items.subList(0, Math.min(n, items.size())), items.size() > n);
    }
}
