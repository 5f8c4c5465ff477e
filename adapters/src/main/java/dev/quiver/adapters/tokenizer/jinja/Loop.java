package dev.quiver.adapters.tokenizer.jinja;

import java.util.List;

/** The {@code loop} variable of one for loop iteration. */
final class Loop {
    private final List<Object> items;
    private final int index0;

    Loop(List<Object> items, int index0) {
        this.items = items;
        this.index0 = index0;
    }

    Object attribute(String name, int line) {
        int n = items.size();
        return switch (name) {
            case "index0" -> (long) index0;
            case "index" -> (long) index0 + 1;
            case "revindex" -> (long) (n - index0);
            case "revindex0" -> (long) (n - index0 - 1);
            case "first" -> index0 == 0;
            case "last" -> index0 == n - 1;
            case "length" -> (long) n;
            case "depth" -> 1L;
            case "depth0" -> 0L;
            case "previtem" -> index0 > 0 ? items.get(index0 - 1) : new Undefined("there is no previous item");
            case "nextitem" -> index0 < n - 1 ? items.get(index0 + 1) : new Undefined("there is no next item");
            case "cycle" -> (PyCallable) (args, kwargs) -> {
                if (args.isEmpty()) {
                    throw new TemplateException("no items for cycling given", line);
                }
                return args.get(index0 % args.size());
            };
            default -> new Undefined("'loop' has no attribute '" + name + "'");
        };
    }
}
