package gallery.example;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The rows fixture (interop/rows.jsonl, rows_v2.jsonl, rows_v3.jsonl): JSON lines, one row each,
 * with the values already in Java types. Symbols and columns keep the fixture's order.
 */
public final class Rows {
    private Rows() {}

    /**
     * One row of the fixture.
     *
     * @param id names the row in clients.toml's omit_rows
     * @param table the table name, unescaped
     * @param symbols the tags, sent before the columns, in the fixture's order
     * @param columns the fields, in the fixture's order
     * @param timestamp the designated timestamp; null: let the server assign it
     * @param ilp the same row as one ILP line, without its line end, which raw examples send (it may
     *     hold an escaped newline, a backslash then '\n', inside a string value); null when the row
     *     has no text form (it holds an array)
     */
    public record Row(String id, String table, List<Symbol> symbols, List<Column> columns, Timestamp timestamp,
                      String ilp) {}

    /** One tag of a row: a name and a string value. */
    public record Symbol(String name, String value) {}

    /**
     * One field of a row. {@code type} is the fixture's type and says what {@code value} holds:
     *
     * <pre>
     *   "integer"    Long
     *   "float"      Double (NaN and the infinities included)
     *   "string"     String
     *   "boolean"    Boolean
     *   "timestamp"  Timestamp
     *   "array"      DoubleArrayValue, or null for a NULL array
     *   "decimal"    DecimalValue (its unscaled null for a NULL decimal)
     * </pre>
     *
     * {@code binary} is the fixture's "binary" flag: the value must arrive in binary form.
     */
    public record Column(String name, String type, Object value, boolean binary) {}

    /** A point in time as the fixture writes it: a count of {@code unit} since the epoch. */
    public record Timestamp(long value, ChronoUnit unit) {}

    /**
     * A DOUBLE array: its shape and its values flat, in row-major order (the last index varies
     * fastest). An empty array has a 0 in its shape and no values.
     */
    public record DoubleArrayValue(int[] shape, double[] values) {}

    /** A DECIMAL: value = unscaled * 10^-scale; unscaled is null for a NULL decimal. */
    public record DecimalValue(int scale, BigInteger unscaled) {}

    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /** Reads a rows fixture: JSON lines, one row each (blank lines skipped). */
    static List<Row> load(Path path) throws Example.BadSetting {
        List<String> lines;
        try {
            lines = Files.readAllLines(path, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Example.BadSetting("ILP_ROWS: " + path + ": cannot be read (" + e + ")");
        }
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            try {
                rows.add(row(JSON.readTree(lines.get(i))));
            } catch (JsonProcessingException e) {
                throw new Example.BadSetting("ILP_ROWS: " + path + ":" + (i + 1) + ": " + Jwk.firstLine(e));
            } catch (IllegalArgumentException e) {
                throw new Example.BadSetting("ILP_ROWS: " + path + ":" + (i + 1) + ": " + e.getMessage());
            }
        }
        if (rows.isEmpty()) {
            throw new Example.BadSetting("ILP_ROWS: " + path + ": no rows");
        }
        return rows;
    }

    private static Row row(JsonNode row) {
        String id = text(row, "id", "the row");
        String where = "row " + id;
        String table = text(row, "table", where);
        JsonNode ilp = row.get("ilp");
        if (ilp == null || !(ilp.isTextual() || ilp.isNull())) {
            throw new IllegalArgumentException(where + ": ilp must be a string, or null (no text form)");
        }
        List<Symbol> symbols = new ArrayList<>();
        for (Map.Entry<String, JsonNode> symbol : members(row, "symbols", where)) {
            if (!symbol.getValue().isTextual()) {
                throw new IllegalArgumentException(where + ": symbol " + symbol.getKey() + ": not a string");
            }
            symbols.add(new Symbol(symbol.getKey(), symbol.getValue().asText()));
        }
        List<Column> columns = new ArrayList<>();
        for (Map.Entry<String, JsonNode> column : members(row, "columns", where)) {
            columns.add(column(column.getKey(), column.getValue(), where + ": column " + column.getKey()));
        }
        JsonNode ts = row.get("timestamp");
        Timestamp timestamp = ts == null || ts.isNull() ? null : timestamp(ts, where + ": timestamp");
        return new Row(id, table, List.copyOf(symbols), List.copyOf(columns), timestamp,
                ilp.isNull() ? null : ilp.asText());
    }

    private static Column column(String name, JsonNode column, String where) {
        String type = text(column, "type", where);
        boolean binary = column.path("binary").asBoolean(false);
        JsonNode value = column.get("value");
        if (value == null) {
            throw new IllegalArgumentException(where + ": no value");
        }
        Object typed;
        switch (type) {
            case "integer":
                if (!value.isIntegralNumber() || !value.canConvertToLong()) {
                    throw new IllegalArgumentException(where + ": not a 64-bit integer: " + value);
                }
                typed = value.longValue();
                break;
            case "float":
                typed = number(value, where);
                break;
            case "string":
                if (!value.isTextual()) {
                    throw new IllegalArgumentException(where + ": not a string: " + value);
                }
                typed = value.asText();
                break;
            case "boolean":
                if (!value.isBoolean()) {
                    throw new IllegalArgumentException(where + ": not a boolean: " + value);
                }
                typed = value.booleanValue();
                break;
            case "timestamp":
                typed = timestamp(column, where);
                break;
            case "array":
                typed = array(column, where);
                break;
            case "decimal":
                typed = decimal(column, where);
                break;
            default:
                throw new IllegalArgumentException(where + ": unknown type \"" + type + "\"");
        }
        return new Column(name, type, typed, binary);
    }

    /** A float of the fixture: a JSON number, or one of the strings "NaN", "Infinity", "-Infinity". */
    private static double number(JsonNode value, String where) {
        if (value.isNumber()) {
            return value.doubleValue();
        }
        switch (value.asText("")) {
            case "NaN":
                return Double.NaN;
            case "Infinity":
                return Double.POSITIVE_INFINITY;
            case "-Infinity":
                return Double.NEGATIVE_INFINITY;
            default:
                throw new IllegalArgumentException(where + ": not a float: " + value);
        }
    }

    private static Timestamp timestamp(JsonNode ts, String where) {
        JsonNode value = ts.get("value");
        if (value == null || !value.isIntegralNumber() || !value.canConvertToLong()) {
            throw new IllegalArgumentException(where + ": value must be a 64-bit integer");
        }
        ChronoUnit unit;
        switch (text(ts, "unit", where)) {
            case "ns":
                unit = ChronoUnit.NANOS;
                break;
            case "us":
                unit = ChronoUnit.MICROS;
                break;
            case "ms":
                unit = ChronoUnit.MILLIS;
                break;
            case "s":
                unit = ChronoUnit.SECONDS;
                break;
            default:
                throw new IllegalArgumentException(where + ": unit must be ns, us, ms or s, got " + ts.get("unit"));
        }
        return new Timestamp(value.longValue(), unit);
    }

    private static DoubleArrayValue array(JsonNode column, String where) {
        if (!"double".equals(column.path("element").asText(null))) {
            throw new IllegalArgumentException(where + ": only arrays of element \"double\" exist");
        }
        JsonNode shape = column.get("shape");
        if (shape == null || shape.isNull()) {
            return null; // a NULL array
        }
        int[] dims = new int[shape.size()];
        for (int i = 0; i < dims.length; i++) {
            if (!shape.get(i).canConvertToInt() || shape.get(i).intValue() < 0) {
                throw new IllegalArgumentException(where + ": bad shape " + shape);
            }
            dims[i] = shape.get(i).intValue();
        }
        List<Double> flat = new ArrayList<>();
        flatten(column.get("value"), dims, 0, flat, where);
        double[] values = new double[flat.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = flat.get(i);
        }
        return new DoubleArrayValue(dims, values);
    }

    /** The nested values in row-major order, checked against the shape (an empty array is []). */
    private static void flatten(JsonNode value, int[] shape, int depth, List<Double> into, String where) {
        if (depth == shape.length) {
            into.add(number(value, where));
            return;
        }
        boolean empty = shape[depth] == 0;
        if (value == null || !value.isArray() || value.size() != shape[depth]) {
            throw new IllegalArgumentException(where + ": the values do not have the shape's dimension " + depth);
        }
        if (!empty) {
            for (JsonNode element : value) {
                flatten(element, shape, depth + 1, into, where);
            }
        }
    }

    private static DecimalValue decimal(JsonNode column, String where) {
        JsonNode scale = column.get("scale");
        if (scale == null || !scale.canConvertToInt() || scale.intValue() < 0 || scale.intValue() > 76) {
            throw new IllegalArgumentException(where + ": scale must be 0 to 76");
        }
        JsonNode unscaled = column.get("unscaled");
        if (unscaled == null || unscaled.isNull()) {
            return new DecimalValue(scale.intValue(), null); // a NULL decimal
        }
        try {
            return new DecimalValue(scale.intValue(), new BigInteger(unscaled.asText()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + ": unscaled is not an integer: " + unscaled);
        }
    }

    private static String text(JsonNode object, String name, String where) {
        JsonNode value = object.get(name);
        if (value == null || !value.isTextual() || value.asText().isEmpty()) {
            throw new IllegalArgumentException(where + ": \"" + name + "\" must be a non-empty string");
        }
        return value.asText();
    }

    private static Iterable<Map.Entry<String, JsonNode>> members(JsonNode row, String name, String where) {
        JsonNode object = row.get(name);
        if (object == null || !object.isObject()) {
            throw new IllegalArgumentException(where + ": \"" + name + "\" must be an object");
        }
        return object.properties(); // in the file's order
    }
}
