package gallery;

import gallery.example.Example;
import gallery.example.Example.Env;
import gallery.example.Rows;
import io.questdb.client.Sender;
import io.questdb.client.cutlass.line.array.DoubleArray;
import io.questdb.client.std.Decimal256;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.temporal.ChronoUnit;
import java.util.Collection;
import java.util.HexFormat;

/**
 * Sends the fixture's rows with QuestDB's official Java client, org.questdb:questdb-client 1.0.1
 * (pinned in java/pom.xml), authenticating over ILP/TCP with the client's key given in a config
 * string. The library does the whole handshake inside {@code Sender.fromConfig}: it sends the key
 * id, reads the challenge up to its '\n' (in as many pieces as it comes; bytes after the '\n' are
 * not signed), signs it with {@code Signature.getInstance("SHA256withECDSA")}, which gives DER,
 * and sends it in standard base64. Every row is built through the library's API, from the
 * fixture's typed fields (not from its ilp text).
 *
 * <p>What the library does not do:
 *
 * <ul>
 *   <li>bound its waits. Over TCP it uses blocking native sockets with no timeout: a server that
 *       never sends its challenge blocks {@code fromConfig} forever, and a server that stops
 *       reading blocks a flush. The config string has no key for either. The harness wants every
 *       wait bounded by ILP_TIMEOUT_S, so this example wraps them from outside with a watchdog
 *       (an application wants a bound of its own too).
 *   <li>report a rejection. The server closes the connection without a word, {@code fromConfig}
 *       returns a working-looking sender, and the rows usually reach only the local socket
 *       buffer. Only the server knows; here, the stub's events.
 * </ul>
 *
 * <p>A line marked "harness:" is there because the harness needs it (interop/CLIENTS.md), not
 * because the library does.
 *
 * <p>Example id: java-questdb. Input and behaviour: interop/CLIENTS.md.
 */
public final class QuestdbClient {
    private QuestdbClient() {}

    public static void main(String[] args) {
        // The client logs through SLF4J, here its simple provider, which writes to stderr. The
        // property must be set before the first logger exists.
        // harness: warnings only; "info" would put the library's chatter around the contract's one line.
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");

        // The environment of interop/CLIENTS.md (ILP_HOST, ILP_PORT, ILP_KEY, ILP_ROWS,
        // ILP_CONNECTIONS, ILP_TIMEOUT_S, ...), read and checked once. The library sends protocol
        // versions 1, 2 and 3, and speaks TLS (tcps::, trusting a truststore); asked for anything
        // else, load refuses before connecting.
        Env env = Example.load("java-questdb", Example.Supports.protocolVersions(1, 2, 3).withTls());

        // The config string. username is the key id, token is d (base64url, as in the JWK); the
        // Java client ignores token_x and token_y (it ignores every key it does not know: a typo
        // in a key name goes unnoticed). A ';' inside a value is written ';;'. protocol_version:
        // 1 sends every value as text; 2 sends floats in binary and adds DOUBLE arrays; 3 adds
        // DECIMAL values. Over TCP the client cannot ask the server: name it (unset means 1).
        String conf = "tcp::addr=" + env.host + ":" + env.port
                + ";username=" + value(env.jwk.kid()) + ";token=" + value(env.jwk.d())
                + ";token_x=" + value(env.jwk.x()) + ";token_y=" + value(env.jwk.y())
                + ";protocol_version=" + env.protocolVersion + ";";
        if (env.tlsCa != null) {
            // TLS (tcps::), trusting exactly the CAs of ILP_TLS_CA. The client takes no PEM file: it
            // wants a truststore file and its password (tls_roots, tls_roots_password), so build one.
            // Verification stays on; tls_verify=unsafe_off would turn it off, never do that.
            String[] truststore = truststore(env);
            conf = "tcps" + conf.substring("tcp".length())
                    + "tls_roots=" + value(truststore[0]) + ";tls_roots_password=" + value(truststore[1]) + ";";
        }
        String config = conf;

        env.run(() -> sendOnce(env, config));
    }

    /** One connection: one sender, all the rows, flush, close. */
    static void sendOnce(Env env, String config) throws Example.Failure {
        // Connect and authenticate: the TCP connect, the key id, the challenge, the signature.
        Sender sender;
        try (Example.Watchdog bound = env.watchdog("connecting and authenticating")) { // harness: no timeout of its own
            sender = Sender.fromConfig(config);
        } catch (RuntimeException e) { // LineSenderException, and IllegalArgumentException for a bad token
            throw new Example.Failure("connecting and authenticating", e);
        }

        // The rows, then one flush. The sender also flushes by itself whenever its buffer is full.
        try (Example.Watchdog bound = env.watchdog("sending the rows")) { // harness: flushes have no timeout
            for (Rows.Row row : env.rows) {
                addRow(sender, row, env.protocolVersion);
            }
            sender.flush();
        } catch (RuntimeException e) {
            throw new Example.Failure("sending the rows", e);
        }

        // close() flushes what is left (nothing, here) and closes the socket.
        try (Example.Watchdog bound = env.watchdog("closing")) { // harness: close() flushes, unbounded
            sender.close();
        } catch (RuntimeException e) {
            throw new Example.Failure("closing", e);
        }
    }

    /**
     * Buffers one fixture row: the table, then the symbols (they must come before any column),
     * then the columns by type, then at() or atNow(), which ends the row.
     */
    static void addRow(Sender sender, Rows.Row row, int protocolVersion) {
        sender.table(row.table());
        for (Rows.Symbol symbol : row.symbols()) {
            sender.symbol(symbol.name(), symbol.value());
        }
        for (Rows.Column column : row.columns()) {
            switch (column.type()) {
                case "integer":
                    sender.longColumn(column.name(), (Long) column.value());
                    break;
                case "float":
                    // NaN, Infinity and -Infinity are fine: protocol 1 writes them as text, 2 and 3
                    // write every float as 8 binary bytes.
                    sender.doubleColumn(column.name(), (Double) column.value());
                    break;
                case "string":
                    sender.stringColumn(column.name(), (String) column.value());
                    break;
                case "boolean":
                    sender.boolColumn(column.name(), (Boolean) column.value());
                    break;
                case "timestamp": {
                    // Protocol 1 writes every timestamp column in microseconds ("...t"), converting
                    // the unit given; 2 and 3 keep nanoseconds ("...n") and write the rest in
                    // microseconds.
                    Rows.Timestamp ts = (Rows.Timestamp) column.value();
                    if (protocolVersion == 1 && ts.unit() == ChronoUnit.NANOS && ts.value() % 1000 != 0) {
                        // harness: the fixture is checked exactly: refuse rather than send another instant
                        throw new IllegalArgumentException("row " + row.id() + ": column " + column.name()
                                + ": protocol 1 sends timestamp columns in microseconds, finer would be cut off");
                    }
                    sender.timestampColumn(column.name(), ts.value(), ts.unit());
                    break;
                }
                case "array": {
                    // A DOUBLE array (protocol 2 and later), always binary. DoubleArray takes any
                    // shape; append() fills it in row-major order. It holds native memory: close it
                    // once the sender has copied it into its buffer. A NULL array (null here) is
                    // left out of the row by the library, which the server stores as NULL.
                    Rows.DoubleArrayValue array = (Rows.DoubleArrayValue) column.value();
                    if (array == null) {
                        sender.doubleArray(column.name(), (DoubleArray) null);
                        break;
                    }
                    try (DoubleArray values = new DoubleArray(array.shape())) {
                        for (double v : array.values()) {
                            values.append(v);
                        }
                        sender.doubleArray(column.name(), values);
                    }
                    break;
                }
                case "decimal": {
                    // A DECIMAL (protocol 3), sent in binary as 32 bytes of unscaled value and the
                    // scale (decimalColumn(name, CharSequence) would send "-123.4500d" as text). The
                    // column must exist: QuestDB does not create DECIMAL columns from ILP. A NULL
                    // decimal is left out of the row by the library, which the server stores as NULL.
                    Rows.DecimalValue decimal = (Rows.DecimalValue) column.value();
                    sender.decimalColumn(column.name(), decimal.unscaled() == null ? Decimal256.NULL_VALUE
                            : Decimal256.fromBigDecimal(new BigDecimal(decimal.unscaled(), decimal.scale())));
                    break;
                }
                default:
                    throw new IllegalArgumentException("row " + row.id() + ": column " + column.name()
                            + ": type \"" + column.type() + "\" has no method here");
            }
        }
        // The designated timestamp: at() with its unit (protocol 1 writes nanoseconds), or atNow()
        // to let the server assign one.
        if (row.timestamp() == null) {
            sender.atNow();
        } else {
            sender.at(row.timestamp().value(), row.timestamp().unit());
        }
    }

    /** A value of the config string: ';' is its separator, written ';;' inside a value. */
    static String value(String text) {
        return text.replace(";", ";;");
    }

    /**
     * {path, password} of a PKCS12 truststore holding every CA certificate of ILP_TLS_CA, written
     * into a temporary file (deleted when the program ends). The client opens it as "JKS", which
     * Java 9 and later read in either format. Its password protects nothing secret (certificates
     * are public), but the client requires one. So the store is written without the password-based
     * MAC and certificate encryption PKCS12 adds by default: the client opens the store for every
     * connection, inside its connect bound, and checking that MAC costs 10,000 PBKDF2 rounds each time.
     */
    static String[] truststore(Env env) {
        try (InputStream pem = Files.newInputStream(env.tlsCa)) {
            Collection<? extends Certificate> cas = CertificateFactory.getInstance("X.509").generateCertificates(pem);
            if (cas.isEmpty()) {
                throw new GeneralSecurityException("no certificate in the file");
            }
            System.setProperty("keystore.pkcs12.macAlgorithm", "NONE");
            System.setProperty("keystore.pkcs12.certProtectionAlgorithm", "NONE");
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            int n = 0;
            for (Certificate ca : cas) {
                store.setCertificateEntry("ca-" + n++, ca);
            }
            byte[] secret = new byte[16];
            new SecureRandom().nextBytes(secret);
            String password = HexFormat.of().formatHex(secret); // no ';' to escape
            Path file = Files.createTempFile("ilp-truststore-", ".p12");
            file.toFile().deleteOnExit();
            try (OutputStream out = Files.newOutputStream(file)) {
                store.store(out, password.toCharArray());
            }
            return new String[] {file.toString(), password};
        } catch (IOException | GeneralSecurityException e) {
            Example.fail(env.id, "ILP_TLS_CA: " + env.tlsCa + ": " + e.getMessage());
            throw new AssertionError("unreachable");
        }
    }
}
