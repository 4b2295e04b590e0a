// node-crypto-p1363: the handshake with node:crypto's crypto.sign() and dsaEncoding "ieee-p1363":
// the raw form r || s, each scalar left-padded to 32 bytes, always exactly 64 bytes. The same bytes
// WebCrypto produces, and what the Python client (Rust core) sends.
//
// Run: ILP_HOST=127.0.0.1 ILP_PORT=9009 ILP_KEY=interop/keys/testUser1.jwk.json \
//      ILP_ROWS=interop/rows.jsonl node node/crypto_p1363.mjs

import { createPrivateKey, sign } from "node:crypto";
import { closeAfterSending, connect, fail, forEachConnection, readLine, setUp } from "./example_env.mjs";

const ID = "node-crypto-p1363";
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

  // 3. Sign the 512 bytes, without the "\n": SHA-256, then ECDSA, encoded as r || s with each
  //    scalar left-padded to 32 bytes. Fixed width matters: the server chooses the format by the
  //    decoded length alone, 64 bytes = raw r || s, anything else = DER. A raw signature whose
  //    leading zero byte was dropped (63 bytes, about 1 in 128) is parsed as DER and rejected.
  const signature = sign("sha256", challenge, { key, dsaEncoding: "ieee-p1363" });

  // 4. Standard base64 (A-Z a-z 0-9 + /, "=" padding: 88 characters), then a line end.
  //    Never "base64url": the server rejects "-" and "_".
  socket.write(`${signature.toString("base64")}\n`);

  // 5. The rows. The server says nothing when it accepts the signature; when it rejects it, it just
  //    closes the connection. So the verdict is in the server's records, not here.
  for (const row of rows) socket.write(`${row.ilp}\n`);
  await closeAfterSending(socket, "sending the rows");
});
