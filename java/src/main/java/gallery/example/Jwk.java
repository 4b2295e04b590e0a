package gallery.example;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The text of the client's key file, a JSON Web Key of an ECDSA P-256 key:
 *
 * <pre>{"kty": "EC", "crv": "P-256", "kid": "testUser1", "d": "5UjE...", "x": "fLKY...", "y": "Dt5t..."}</pre>
 *
 * <p>d, x and y are unpadded base64url (alphabet "-" and "_"), 32 bytes each once decoded. They
 * are kept as text: the raw examples decode d themselves (that is part of their lesson), and
 * QuestDB's config string takes the text as it is (token, token_x, token_y).
 *
 * @param kid the key id: the client's first line, and the server's name for the key
 * @param d the private scalar
 * @param x the public point's x; the server knows the public key from its own auth file
 * @param y the public point's y
 */
public record Jwk(String kid, String d, String x, String y) {

    /** Reads a JWK file and checks its shape: an EC key on P-256 with a kid, d, x and y. It does not decode them. */
    static Jwk load(Path path) throws Example.BadSetting {
        JsonNode jwk;
        try {
            jwk = new ObjectMapper().readTree(path.toFile());
        } catch (IOException e) {
            throw new Example.BadSetting("ILP_KEY: " + path + ": " + firstLine(e));
        }
        if (jwk == null || !jwk.isObject()) {
            throw new Example.BadSetting("ILP_KEY: " + path + ": not a JWK (a JSON object)");
        }
        if (!"EC".equals(jwk.path("kty").asText(null)) || !"P-256".equals(jwk.path("crv").asText(null))) {
            throw new Example.BadSetting("ILP_KEY: " + path + ": not a P-256 key (kty must be \"EC\", crv \"P-256\"), got "
                    + jwk.path("kty") + " and " + jwk.path("crv"));
        }
        String[] members = new String[4];
        String[] names = {"kid", "d", "x", "y"};
        for (int i = 0; i < names.length; i++) {
            JsonNode member = jwk.get(names[i]);
            if (member == null || !member.isTextual() || member.asText().isEmpty()) {
                throw new Example.BadSetting("ILP_KEY: " + path + ": \"" + names[i] + "\" is missing (a non-empty string)");
            }
            members[i] = member.asText();
        }
        return new Jwk(members[0], members[1], members[2], members[3]);
    }

    /** Jackson's messages run over several lines (the location); the first one says what is wrong. */
    static String firstLine(Exception e) {
        String message = e.getMessage() == null ? e.toString() : e.getMessage();
        return message.lines().findFirst().orElse(message);
    }
}
