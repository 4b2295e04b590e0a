// node-crypto-der: the handshake with node:crypto's one-shot crypto.sign(). For an EC key it returns
// the signature in DER, ASN.1 SEQUENCE { INTEGER r, INTEGER s }: 70 to 72 bytes (rarely fewer), never 64 in
// practice, so the server reads it as DER. This is what @questdb/nodejs-client sends.
//
// Run: ILP_HOST=127.0.0.1 ILP_PORT=9009 ILP_KEY=interop/keys/testUser1.jwk.json \
//      ILP_ROWS=interop/rows.jsonl node node/crypto_der.mjs
// (ILP_CONNECTIONS and ILP_TIMEOUT_S are optional: interop/CLIENTS.md)

import { createPrivateKey, sign } from "node:crypto";
import { once } from "node:events";
import net from "node:net";
import { finished } from "node:stream/promises";
import { fail, forEachConnection, setUp, withTimeout } from "./example_env.mjs";

const ID = "node-crypto-der";
// This example sends the fixture's ILP text (protocol version 1) over plain TCP; asked for another
// version, or for TLS, setUp refuses before connecting.
const { host, port, keyPath, jwk, rows, connections } = setUp(ID, { protocolVersions: [1], tls: false });

// The private key, from the JWK. Loaded once, used for every connection.
let key;
try {
  key = createPrivateKey({ key: jwk, format: "jwk" });
} catch (err) {
  fail(ID, `loading the key ${keyPath}: ${err.message}`);
}

await forEachConnection(ID, connections, async () => {
  // Nothing in node:net times out by default: every wait below is bounded by ILP_TIMEOUT_S
  // (withTimeout, in example_env.mjs).
  const socket = net.connect({ host, port });
  // A socket error with no "error" listener is thrown out of the event loop and ends the process.
  // This listener leaves it on the socket (socket.errored), for the step that waits next to report.
  socket.on("error", () => {});
  try {
    await withTimeout(`connecting to ${host}:${port}`, once(socket, "connect"));

    // 1. The key id, then a line end.
    socket.write(`${jwk.kid}\n`);

    // 2. The challenge: 512 printable bytes, then "\n". TCP delivers a stream, not messages: the 513
    //    bytes may come in several "data" events, so collect them until the "\n" has arrived. A close
    //    before the "\n" is an error.
    const challenge = await withTimeout("reading the challenge", new Promise((resolve, reject) => {
      let received = Buffer.alloc(0);
      socket.on("data", function collect(piece) {
        received = Buffer.concat([received, piece]);
        const end = received.indexOf("\n");
        if (end === -1) return; // not the whole line yet: wait for the next piece
        socket.off("data", collect);
        resolve(received.subarray(0, end)); // without the "\n"; bytes after it are not the challenge
      });
      socket.once("end", () => reject(new Error(`the server closed the connection after ${received.length} bytes, before the "\\n"`)));
      socket.once("error", reject);
    }));

    // 3. Sign the 512 bytes, without the "\n": SHA-256, then ECDSA. The default encoding for an EC
    //    key is DER. DER integers are minimal and signed, so r and s take 32 or 33 bytes (a leading
    //    0x00 when the top bit is set), or fewer: the length varies, and that is fine, because any
    //    length but 64 makes the server parse DER.
    const signature = sign("sha256", challenge, key);

    // 4. Standard base64 (A-Z a-z 0-9 + /, "=" padding: 96 characters for 70-72 bytes, fewer for the rare shorter one), then a line
    //    end. Never "base64url": the server rejects "-" and "_".
    socket.write(`${signature.toString("base64")}\n`);

    // 5. The rows, then close. The server says nothing when it accepts the signature; when it rejects
    //    it, it just closes the connection, so the verdict is in the server's records, not here.
    //    A close that has already arrived is a sign of it (one that comes later may or may not make a
    //    write fail). write() only queues the bytes: end() closes our side once they have all gone
    //    out, the server closes its own after reading the last row, and finished() waits for both.
    for (const row of rows) socket.write(`${row.ilp}\n`);
    if (socket.destroyed) throw new Error("sending the rows: the server closed the connection first, as it does when it rejects the signature");
    socket.end();
    await withTimeout("sending the rows", finished(socket));
  } finally {
    socket.destroy(); // a no-op after a clean close; after a failure, it frees the socket at once
  }
});
