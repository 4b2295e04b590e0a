package gallery;

import gallery.example.Example;
import gallery.example.Example.Env;
import gallery.example.Rows;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPrivateKeySpec;
import java.util.Arrays;
import java.util.Base64;

/**
 * Authenticates to QuestDB's ILP/TCP port by hand, with the JDK alone, and sends the signature in
 * DER, as {@code Signature.getInstance("SHA256withECDSA")} gives it, in standard base64. Then it
 * sends the fixture's rows as ILP text.
 *
 * <p>The handshake, as the server sees it:
 *
 * <pre>
 *   client: &lt;key id&gt;\n
 *   server: &lt;512 random printable bytes&gt;\n          (the challenge)
 *   client: &lt;base64 of the signature of those 512 bytes&gt;\n
 *   client: &lt;rows...&gt;                               (the server never answers)
 * </pre>
 *
 * <p>All of it is in this file, top to bottom: the key, the connection, the key id, the loop that
 * reads the challenge, the signature, the rows. gallery.example only reads the environment, the
 * key file's text and the rows fixture, runs the connections one after another, and bounds the
 * writes (a java.net.Socket has no write timeout).
 *
 * <p>Example id: java-raw-der. Input and behaviour: interop/CLIENTS.md.
 */
public final class RawDer {
    private RawDer() {}

    public static void main(String[] args) {
        // The environment of interop/CLIENTS.md (ILP_HOST, ILP_PORT, ILP_KEY, ILP_ROWS,
        // ILP_CONNECTIONS, ILP_TIMEOUT_S, ...), read and checked once. This example sends the
        // fixture's ILP text, protocol version 1, over plain TCP; asked for another version or for
        // TLS, it refuses before connecting.
        Env env = Example.load("java-raw-der", Example.Supports.protocolVersions(1));

        // 1. The private key, from the JWK's d: a 32-byte big-endian number in UNPADDED base64url
        // (alphabet "-" and "_", no "="). Base64.getUrlDecoder() reads that alphabet and does not
        // need the padding; Base64.getDecoder() would refuse the "-" and "_".
        PrivateKey key;
        try {
            key = privateKey(Base64.getUrlDecoder().decode(env.jwk.d()));
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            Example.fail(env.id, "ILP_KEY: d: " + e.getMessage());
            return;
        }

        env.run(() -> sendOnce(env, key));
    }

    /**
     * The JWK's d as a java.security private key on P-256, with the JDK alone: the curve's
     * parameters by name ("secp256r1" is P-256), then an ECPrivateKeySpec of d on them. The
     * JWK's x and y are not needed to sign: the server knows the public key from its auth file.
     */
    static PrivateKey privateKey(byte[] d) throws GeneralSecurityException {
        AlgorithmParameters parameters = AlgorithmParameters.getInstance("EC");
        parameters.init(new ECGenParameterSpec("secp256r1"));
        ECParameterSpec p256 = parameters.getParameterSpec(ECParameterSpec.class);
        // new BigInteger(1, d): the 1 says "positive". new BigInteger(d) would read d as two's
        // complement, a negative number whenever its first byte is 0x80 or more (half the keys).
        BigInteger scalar = new BigInteger(1, d);
        if (d.length != 32 || scalar.signum() == 0 || scalar.compareTo(p256.getOrder()) >= 0) {
            throw new GeneralSecurityException("not a P-256 private scalar (32 bytes, 0 < d < n)");
        }
        return KeyFactory.getInstance("EC").generatePrivate(new ECPrivateKeySpec(scalar, p256));
    }

    /** One connection: handshake, rows, close. Every wait is bounded by ILP_TIMEOUT_S. */
    static void sendOnce(Env env, PrivateKey key) throws Example.Failure {
        String step = "connecting";
        try (Socket socket = new Socket()) {
            // 2. Connect, bounded (a timeout of 0 would mean "wait forever": timeoutMillis() is >= 1).
            socket.connect(new InetSocketAddress(env.host, env.port), env.timeoutMillis());

            // 3. The key id (the JWK's kid), ended by '\n'.
            step = "sending the key id";
            env.write(socket, (env.jwk.kid() + "\n").getBytes(StandardCharsets.UTF_8));

            // 4. The challenge: 512 printable bytes, then '\n'. TCP is a byte stream, not a sequence
            // of messages: the 513 bytes may arrive in several pieces, and one read() returns only
            // what has arrived so far. So keep reading until the '\n' shows up. setSoTimeout bounds
            // ONE read(), not the loop: give each read what is left of one deadline, so that a
            // server that trickles a byte at a time cannot stretch the wait.
            step = "reading the challenge";
            long deadline = System.nanoTime() + env.timeout.toNanos();
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream received = new ByteArrayOutputStream();
            byte[] piece = new byte[1024];
            int newline;
            while ((newline = indexOf(received.toByteArray(), (byte) '\n')) < 0) {
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left < 1) {
                    throw new SocketTimeoutException("the challenge did not arrive in time");
                }
                socket.setSoTimeout((int) Math.min(left, Integer.MAX_VALUE));
                int n = in.read(piece); // throws SocketTimeoutException when the time is up
                if (n < 0) {
                    throw new Example.Failure(step, "the server closed the connection after " + received.size()
                            + " bytes, before the '\\n'");
                }
                received.write(piece, 0, n);
                if (received.size() > 4096) {
                    throw new Example.Failure(step, "no '\\n' in the first " + received.size() + " bytes");
                }
            }
            // The challenge is what came before the '\n'. QuestDB sends nothing after it: it now
            // waits for the signature.
            byte[] challenge = Arrays.copyOf(received.toByteArray(), newline);

            // 5. Sign the 512 challenge bytes (without the '\n'). "SHA256withECDSA" hashes them with
            // SHA-256 itself, and returns the signature DER-encoded: SEQUENCE { INTEGER r, INTEGER s }.
            // DER integers carry their own lengths (and a 0x00 in front of a high first byte), so a
            // short r or s cannot break anything: 70 to 72 bytes, rarely fewer, never 64 in
            // practice. That matters: the server picks the format by the decoded length alone,
            // 64 bytes = raw r || s, anything else = DER.
            step = "signing the challenge";
            Signature signer = Signature.getInstance("SHA256withECDSA");
            signer.initSign(key);
            signer.update(challenge);
            byte[] signature = signer.sign();

            // 6. STANDARD base64 ("+" and "/", padded with "="), then '\n'. The server rejects the
            // URL-safe alphabet ("-" and "_"), although the JWK's d was written in it.
            step = "sending the signature";
            String line = Base64.getEncoder().encodeToString(signature) + "\n";
            env.write(socket, line.getBytes(StandardCharsets.US_ASCII));

            // 7. The rows, the fixture's ILP text, one line each. The server says NOTHING on success
            // (and just closes the connection on failure), so there is no answer to wait for: send
            // the rows right behind the signature. The client cannot tell from here whether it was
            // accepted; a rejected client usually writes into a closed socket without noticing.
            step = "sending the rows";
            StringBuilder rows = new StringBuilder();
            for (Rows.Row row : env.rows) {
                rows.append(row.ilp()).append('\n');
            }
            env.write(socket, rows.toString().getBytes(StandardCharsets.UTF_8));

            // 8. Close (the end of the try block). It does not wait: without SO_LINGER the kernel
            // sends what is still buffered on its own.
            step = "closing";
        } catch (IOException | GeneralSecurityException e) {
            throw new Example.Failure(step, e);
        }
    }

    /** The index of the first {@code b} in {@code bytes}, or -1. */
    private static int indexOf(byte[] bytes, byte b) {
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == b) {
                return i;
            }
        }
        return -1;
    }
}
