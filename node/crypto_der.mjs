// node-crypto-der: the handshake with node:crypto's one-shot crypto.sign(). For an EC key it returns
// the signature in DER, ASN.1 SEQUENCE { INTEGER r, INTEGER s }: 70 to 72 bytes, never 64 in
// practice, so the server reads it as DER. This is what @questdb/nodejs-client sends.
//
// Run: ILP_HOST=127.0.0.1 ILP_PORT=9009 ILP_KEY=interop/keys/testUser1.jwk.json \
//      ILP_ROWS=interop/rows.jsonl node node/crypto_der.mjs

import { createPrivateKey, sign } from "node:crypto";
import { closeAfterSending, connect, fail, forEachConnection, readLine, setUp } from "./example_env.mjs";

const ID = "node-crypto-der";
const { host, port, keyPath, jwk, rows, connections } = setUp(ID);

// The private key, from the JWK. Loaded once, used for every connection.
let key;
try {
  key = createPrivateKey({ key: jwk, format: "jwk" });
} catch (err) {
  fail(ID, `loading the key ${keyPath}: ${err.message}`);
}

await forEachConnection(ID, connections, async () => {
  const socket = await connect(host, port);

  // 1. The key id, then a line end.
  socket.write(`${jwk.kid}\n`);

  // 2. The challenge: 512 printable bytes, then "\n". It may arrive in several pieces: readLine
  //    collects them until the "\n".
  const challenge = await readLine(socket, "reading the challenge");

  // 3. Sign the 512 bytes, without the "\n": SHA-256, then ECDSA. The default encoding for an EC
  //    key is DER. DER integers are minimal and signed, so r and s take 32 or 33 bytes (a leading
  //    0x00 when the top bit is set), or fewer: the length varies, and that is fine, because any
  //    length but 64 makes the server parse DER.
  const signature = sign("sha256", challenge, key);

  // 4. Standard base64 (A-Z a-z 0-9 + /, "=" padding: 96 characters for 70-72 bytes), then a line
  //    end. Never "base64url": the server rejects "-" and "_".
  socket.write(`${signature.toString("base64")}\n`);

  // 5. The rows. The server says nothing when it accepts the signature; when it rejects it, it just
  //    closes the connection. So the verdict is in the server's records, not here.
  for (const row of rows) socket.write(`${row.ilp}\n`);
  await closeAfterSending(socket, "sending the rows");
});
