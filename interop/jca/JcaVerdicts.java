// The real server's signature verdict, computed by the JDK's own verifiers.
//
// QuestDB 9.3.4 (io.questdb.cutlass.auth.AuthUtils.isSignatureMatch, read from the jar's bytecode)
// picks the verifier by the decoded length: exactly 64 bytes goes to "SHA256withECDSAinP1363Format",
// any other length to "SHA256withECDSA"; an all-zero signature (the empty one included) is refused
// before either runs; a verifier that throws (malformed DER) means a rejection. This program applies
// that rule with the JDK it runs on, which is the JDK that runs the server in this project.
//
// Input, one test per line on stdin: ID TAB X-HEX TAB Y-HEX TAB MESSAGE-HEX TAB SIGNATURE-HEX
// Output on stdout: one header line "# java.version=... java.vendor=... provider=..." then, per test,
// ID TAB accept|reject TAB what decided it.
//
// Run by interop/jca/main.py: java interop/jca/JcaVerdicts.java < tests.tsv
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.AlgorithmParameters;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.util.HexFormat;

public class JcaVerdicts {
    public static void main(String[] args) throws Exception {
        AlgorithmParameters curve = AlgorithmParameters.getInstance("EC");
        curve.init(new ECGenParameterSpec("secp256r1"));
        ECParameterSpec p256 = curve.getParameterSpec(ECParameterSpec.class);
        KeyFactory keys = KeyFactory.getInstance("EC");
        Signature der = Signature.getInstance("SHA256withECDSA");
        Signature p1363 = Signature.getInstance("SHA256withECDSAinP1363Format");
        System.out.println("# java.version=" + System.getProperty("java.version")
                + " java.vendor=" + System.getProperty("java.vendor")
                + " provider=" + der.getProvider().getName() + "/" + p1363.getProvider().getName());
        HexFormat hex = HexFormat.of();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.isEmpty()) {
                continue;
            }
            String[] field = line.split("\t", -1);
            PublicKey key = keys.generatePublic(new ECPublicKeySpec(
                    new ECPoint(new BigInteger(field[1], 16), new BigInteger(field[2], 16)), p256));
            byte[] message = hex.parseHex(field[3]);
            byte[] signature = hex.parseHex(field[4]);
            System.out.println(field[0] + "\t" + verdict(key, message, signature, der, p1363));
        }
    }

    static String verdict(PublicKey key, byte[] message, byte[] signature, Signature der, Signature p1363) {
        boolean allZero = true;
        for (byte b : signature) {
            allZero &= b == 0;
        }
        if (allZero) {
            return "reject\tall zero bytes, refused before verifying";
        }
        Signature verifier = signature.length == 64 ? p1363 : der;
        String name = signature.length == 64 ? "P1363" : "DER";
        try {
            verifier.initVerify(key);
            verifier.update(message);
            return (verifier.verify(signature) ? "accept\t" : "reject\t") + name + " verify";
        } catch (Exception failure) {
            return "reject\t" + name + " verify threw " + failure.getClass().getSimpleName();
        }
    }
}
