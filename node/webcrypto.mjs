// node-webcrypto: the handshake as QuestDB's documentation shows it for Node.js, with the WebCrypto
// API: subtle.importKey("jwk", ...) and subtle.sign({name: "ECDSA", hash: "SHA-256"}, ...), which
// returns the 64-byte IEEE P1363 form (r || s).
//
// The docs take WebCrypto from the "node-webcrypto-ossl" package, an unmaintained native add-on.
// Node has its own implementation of the same API, crypto.webcrypto (stable since Node 19), so this
// example uses that and needs no package at all. The calls are the docs' calls.
//
// Run: ILP_HOST=127.0.0.1 ILP_PORT=9009 ILP_KEY=interop/keys/testUser1.jwk.json \
//      ILP_ROWS=interop/rows.jsonl node node/webcrypto.mjs

import { webcrypto } from "node:crypto";
import { closeAfterSending, connect, fail, forEachConnection, readLine, setUp } from "./example_env.mjs";

const ID = "node-webcrypto";
const { host, port, keyPath, jwk, rows, connections } = setUp(ID);
const { subtle } = webcrypto;

// The private key, from the JWK (d, with its public point x, y). Imported once, used for every connection.
let key;
try {
  key = await subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
} catch (err) {
  fail(ID, `importing the key ${keyPath}: ${err.message}`);
}

await forEachConnection(ID, connections, async () => {
  const socket = await connect(host, port);

  // 1. The key id, then a line end.
  socket.write(`${jwk.kid}\n`);

  // 2. The challenge: 512 printable bytes, then "\n". It may arrive in several pieces: readLine
  //    collects them until the "\n". (The docs' snippet sends its rows and closes the socket after
  //    the first "data" event, complete or not: if that piece lacks the "\n", no signature is sent.)
  const challenge = await readLine(socket, "reading the challenge");

  // 3. Sign the 512 bytes, without the "\n". WebCrypto hashes them with SHA-256 itself and returns
  //    r || s, each scalar left-padded to 32 bytes: always exactly 64 bytes. The server chooses the
  //    format by the decoded length alone: 64 bytes = raw r || s, anything else = DER.
  const signature = await subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, challenge);

  // 4. Standard base64 (A-Z a-z 0-9 + /, "=" padding: 88 characters), then a line end.
  //    Never "base64url": the server rejects "-" and "_".
  socket.write(`${Buffer.from(signature).toString("base64")}\n`);

  // 5. The rows. The server says nothing when it accepts the signature; when it rejects it, it just
  //    closes the connection. So the verdict is in the server's records, not here.
  for (const row of rows) socket.write(`${row.ilp}\n`);
  await closeAfterSending(socket, "sending the rows");
});
