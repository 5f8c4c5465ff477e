package dev.quiver.serving.constraint;

/** A schema, choice list or regex that cannot be decoded under, naming the keyword and its JSON path. */
public final class ConstraintException extends IllegalArgumentException {
    private final String path;
    private final String keyword;

    ConstraintException(String path, String keyword, String message) {
        super(path + ": " + message);
        this.path = path;
        this.keyword = keyword;
    }

    /** Where the problem is, e.g. {@code response_format.json_schema.schema.properties.team.type}. */
    public String path() {
        return path;
    }

    /** The keyword at fault, e.g. {@code type}, {@code $ref}, {@code pattern}. */
    public String keyword() {
        return keyword;
    }
}
