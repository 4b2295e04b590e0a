package gallery.example;

import java.io.IOException;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The boring part every Java example of the gallery shares, so that each example shows only its
 * lesson (the handshake, or the official client's API):
 *
 * <ul>
 *   <li>the environment of interop/CLIENTS.md, read and checked once, before any connection:
 *       ILP_HOST, ILP_PORT, ILP_KEY, ILP_ROWS, ILP_CONNECTIONS, ILP_TIMEOUT_S,
 *       ILP_PROTOCOL_VERSION and ILP_TLS_CA, and the refusal of what an example cannot do;
 *   <li>the JWK key file, as text ({@link Jwk});
 *   <li>the rows fixture ({@link Rows});
 *   <li>the connection loop and the one line on stderr;
 *   <li>bounds from outside, for the waits that Java or a library does not bound itself
 *       ({@link #write}, {@link #watchdog}).
 * </ul>
 *
 * <p>The handshake is deliberately NOT here, not even the decoding of the key's d or the loop
 * that reads the challenge: each raw example spells it out.
 */
public final class Example {
    private Example() {}

    /** The longest ILP_TIMEOUT_S accepted, in seconds (about 31 years), as the other languages. */
    private static final long LONGEST_S = 1_000_000_000L;

    /** How ILP_TIMEOUT_S is written: digits, with an optional decimal point. */
    private static final Pattern PLAIN_DECIMAL = Pattern.compile("[0-9]+\\.?[0-9]*|\\.[0-9]+");

    /** One timer thread for every bound of the process; a daemon, so it never keeps the JVM alive. */
    private static final ScheduledExecutorService TIMERS = Executors.newSingleThreadScheduledExecutor(task -> {
        Thread thread = new Thread(task, "ilp-example-timer");
        thread.setDaemon(true);
        return thread;
    });

    /**
     * What an example declares it can do. Asked for anything else (another ILP_PROTOCOL_VERSION,
     * or TLS through ILP_TLS_CA), {@link #load} refuses before the first connection and never
     * falls back.
     */
    public record Supports(Set<Integer> protocolVersions, boolean tls) {
        public static Supports protocolVersions(Integer... versions) {
            return new Supports(new TreeSet<>(List.of(versions)), false);
        }

        public Supports withTls() {
            return new Supports(protocolVersions, true);
        }
    }

    /** Everything an example needs, taken from the environment. */
    public static final class Env {
        public final String id; // the example id ("java-raw-der"), first word of every error line
        public final String host; // ILP_HOST
        public final int port; // ILP_PORT
        public final Jwk jwk; // the text of the JWK file ILP_KEY
        public final List<Rows.Row> rows; // the rows fixture ILP_ROWS
        public final int connections; // ILP_CONNECTIONS, 1 when unset
        public final Duration timeout; // ILP_TIMEOUT_S: the bound of every wait, 10 s when unset
        public final int protocolVersion; // ILP_PROTOCOL_VERSION, 1 when unset
        public final Path tlsCa; // ILP_TLS_CA, a PEM file of CA certificates; null: plain TCP
        private final String timeoutText; // ILP_TIMEOUT_S as given, quoted in "timed out after N s"
        private volatile int connection; // the connection under way, 1-based, for the error line

        private Env(String id, String host, int port, Jwk jwk, List<Rows.Row> rows, int connections,
                    Duration timeout, String timeoutText, int protocolVersion, Path tlsCa) {
            this.id = id;
            this.host = host;
            this.port = port;
            this.jwk = jwk;
            this.rows = rows;
            this.connections = connections;
            this.timeout = timeout;
            this.timeoutText = timeoutText;
            this.protocolVersion = protocolVersion;
            this.tlsCa = tlsCa;
        }

        /**
         * ILP_TIMEOUT_S in milliseconds, for the socket calls that take an int: at least 1, since
         * 0 means "no timeout at all" to {@code Socket.connect} and {@code setSoTimeout}.
         */
        public int timeoutMillis() {
            return (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
        }

        /**
         * Calls {@code connect} for connections 1..ILP_CONNECTIONS, one after another. The first
         * failure ends the program: "ID: connection N: what failed" on stderr, exit status 1.
         */
        public void run(Connection connect) {
            for (int n = 1; n <= connections; n++) {
                connection = n;
                try {
                    connect.once();
                } catch (Exception e) {
                    fail(id, "connection " + n + ": " + describe(e));
                }
            }
        }

        /**
         * A bound from outside, for a call that has no timeout of its own: if the block of a
         * try-with-resources on it runs longer than ILP_TIMEOUT_S, the program ends with
         * "ID: connection N: STEP: timed out after N s" (exit 1). The blocked call cannot be
         * interrupted (a library blocked in a native recv() does not notice a Java interrupt),
         * so ending the process is the only sure way out; an application would close the client
         * and carry on.
         */
        public Watchdog watchdog(String step) {
            int n = connection;
            ScheduledFuture<?> expiry = TIMERS.schedule(() -> {
                fail(id, "connection " + n + ": " + step + ": timed out after " + timeoutText + " s");
            }, timeout.toNanos(), TimeUnit.NANOSECONDS);
            return () -> expiry.cancel(false);
        }

        /**
         * Writes {@code data} to the socket, bounded by ILP_TIMEOUT_S. A blocking java.net.Socket
         * has no write timeout (setSoTimeout bounds reads only): a write blocks for as long as the
         * peer does not read and the kernel's send buffer is full. Here a timer closes the socket
         * when the bound passes, which makes the blocked write throw, reported as a timeout.
         */
        public void write(Socket socket, byte[] data) throws IOException {
            OutputStream out = socket.getOutputStream();
            AtomicBoolean expired = new AtomicBoolean();
            ScheduledFuture<?> expiry = TIMERS.schedule(() -> {
                expired.set(true);
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // closing is all there is to do
                }
            }, timeout.toNanos(), TimeUnit.NANOSECONDS);
            try {
                out.write(data);
                out.flush();
            } catch (IOException e) {
                if (expired.get()) {
                    throw new SocketTimeoutException("write timed out");
                }
                throw e;
            } finally {
                expiry.cancel(false);
            }
        }

        /** The error's text, with an expired wait worded as the contract says. */
        private String describe(Throwable error) {
            StringBuilder text = new StringBuilder();
            Throwable cause = error;
            while (cause instanceof Failure failure) {
                text.append(failure.step).append(": ");
                cause = failure.getCause();
            }
            if (cause instanceof SocketTimeoutException) {
                return text + "timed out after " + timeoutText + " s";
            }
            String message = cause.getMessage();
            return text + (message == null || message.isBlank() ? cause.getClass().getName() : message);
        }
    }

    /** One connection of an example: handshake, rows, close. */
    @FunctionalInterface
    public interface Connection {
        void once() throws Exception;
    }

    /** A bound started by {@link Env#watchdog}: closing it stops the bound. */
    public interface Watchdog extends AutoCloseable {
        @Override
        void close();
    }

    /** A failed step of a connection: reported as "STEP: what went wrong". */
    public static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;
        private final String step;

        public Failure(String step, Throwable cause) {
            super(step + ": " + cause.getMessage(), cause);
            this.step = step;
        }

        public Failure(String step, String problem) {
            this(step, new IllegalStateException(problem));
        }
    }

    /**
     * Reads and checks the environment, the key file and the rows, and refuses what the example
     * does not support. On any problem it ends the program with one line on stderr, before the
     * first connection.
     */
    public static Env load(String id, Supports supports) {
        try {
            Env env = read(id);
            check(env, supports);
            return env;
        } catch (BadSetting e) {
            fail(id, e.getMessage());
            throw new AssertionError("unreachable");
        }
    }

    /** Ends the program with one line on stderr, "ID: problem", and exit status 1. */
    public static void fail(String id, String problem) {
        System.err.println(id + ": " + String.join(" ", problem.trim().split("\\s+")));
        System.err.flush();
        Runtime.getRuntime().halt(1); // halt: no shutdown hooks, nothing left to wait for
    }

    /** A bad variable, key file or fixture: the message is the whole line after the id. */
    static final class BadSetting extends Exception {
        private static final long serialVersionUID = 1L;

        BadSetting(String message) {
            super(message);
        }
    }

    private static Env read(String id) throws BadSetting {
        String host = required("ILP_HOST");
        String portText = required("ILP_PORT");
        int port = integer(portText);
        if (port < 1 || port > 65535) {
            throw new BadSetting("ILP_PORT must be a port number (1-65535), got \"" + portText + "\"");
        }
        String keyPath = required("ILP_KEY");
        String rowsPath = required("ILP_ROWS");
        String connectionsText = optional("ILP_CONNECTIONS", "1");
        int connections = integer(connectionsText);
        if (connections < 1) {
            throw new BadSetting("ILP_CONNECTIONS must be a positive integer, got \"" + connectionsText + "\"");
        }
        String timeoutText = optional("ILP_TIMEOUT_S", "10");
        Duration timeout = seconds(timeoutText);
        String versionText = optional("ILP_PROTOCOL_VERSION", "1");
        if (!Set.of("1", "2", "3").contains(versionText)) {
            throw new BadSetting("ILP_PROTOCOL_VERSION must be 1, 2 or 3, got \"" + versionText + "\"");
        }
        int version = Integer.parseInt(versionText);
        Path tlsCa = null;
        String tlsCaText = optional("ILP_TLS_CA", "");
        if (!tlsCaText.isEmpty()) {
            tlsCa = Path.of(tlsCaText);
            try {
                Files.readAllBytes(tlsCa);
            } catch (IOException e) {
                throw new BadSetting("ILP_TLS_CA: " + tlsCaText + ": cannot be read (" + e + ")");
            }
        }
        Jwk jwk = Jwk.load(Path.of(keyPath));
        List<Rows.Row> rows = Rows.load(Path.of(rowsPath));
        for (Rows.Row row : rows) {
            if (version == 1 && row.ilp() == null) {
                throw new BadSetting("ILP_ROWS row " + row.id() + " has no text form (its ilp is null): protocol "
                        + "version 1 cannot send it; ILP_PROTOCOL_VERSION must be 2 or 3");
            }
        }
        return new Env(id, host, port, jwk, rows, connections, timeout, timeoutText, version, tlsCa);
    }

    /** Refuses, with the contract's wording, what the example cannot do. */
    private static void check(Env env, Supports supports) throws BadSetting {
        if (!supports.protocolVersions().contains(env.protocolVersion)) {
            Set<Integer> versions = supports.protocolVersions();
            throw new BadSetting("ILP_PROTOCOL_VERSION=" + env.protocolVersion + ": this example sends protocol version"
                    + (versions.size() > 1 ? "s " : " ")
                    + versions.stream().map(String::valueOf).collect(Collectors.joining(", ")) + " only");
        }
        if (env.tlsCa != null && !supports.tls()) {
            throw new BadSetting("ILP_TLS_CA is set, but this example speaks plain TCP only");
        }
    }

    private static String required(String name) throws BadSetting {
        String value = System.getenv(name);
        if (value == null || value.isEmpty()) {
            throw new BadSetting(name + " is not set (required, see interop/CLIENTS.md)");
        }
        return value;
    }

    /** The variable's value, or {@code byDefault} when it is unset or empty. */
    private static String optional(String name, String byDefault) {
        String value = System.getenv(name);
        return value == null || value.isEmpty() ? byDefault : value;
    }

    /** Digits only (no sign, no spaces), as an int; -1 when it is not one. */
    private static int integer(String text) {
        if (!text.matches("[0-9]{1,9}")) {
            return -1;
        }
        return Integer.parseInt(text);
    }

    private static Duration seconds(String text) throws BadSetting {
        if (!PLAIN_DECIMAL.matcher(text).matches()) {
            throw new BadSetting("ILP_TIMEOUT_S must be a positive number of seconds, got \"" + text + "\"");
        }
        BigDecimal value = new BigDecimal(text.endsWith(".") ? text + "0" : text);
        if (value.signum() <= 0) {
            throw new BadSetting("ILP_TIMEOUT_S must be a positive number of seconds, got \"" + text + "\"");
        }
        if (value.compareTo(BigDecimal.valueOf(LONGEST_S)) > 0) {
            throw new BadSetting("ILP_TIMEOUT_S must be at most " + LONGEST_S + " seconds, got \"" + text + "\"");
        }
        long nanos = value.movePointRight(9).longValue();
        if (nanos <= 0) {
            throw new BadSetting("ILP_TIMEOUT_S must be at least a nanosecond, got \"" + text + "\"");
        }
        return Duration.ofNanos(nanos);
    }
}
