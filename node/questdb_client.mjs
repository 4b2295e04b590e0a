// node-questdb: the official client, @questdb/nodejs-client 4.2.0, configured from a config string.
// The library does the handshake: it sends the key id, collects the challenge up to its "\n" (in as
// many pieces as it comes), signs it with crypto.sign() on the private key d, which gives DER, and
// sends it in standard base64. It needs only username (the key id) and token (d); token_x and
// token_y are accepted and ignored.
//
// Two things the library does not do, so this example does them:
// - bound the waits: connect() resolves only once the signature is sent, and a server that never
//   sends a challenge (or closes without one) leaves it waiting forever; the same goes for flush().
//   Each is wrapped in a 10 s timeout.
// - report a rejection: the server says nothing, the library writes into a closed connection.
//   The verdict is in the server's records.
//
// Run: ILP_HOST=127.0.0.1 ILP_PORT=9009 ILP_KEY=interop/keys/testUser1.jwk.json \
//      ILP_ROWS=interop/rows.jsonl node node/questdb_client.mjs

import { Sender } from "@questdb/nodejs-client";
import { forEachConnection, setUp, withTimeout } from "./example_env.mjs";

const ID = "node-questdb";
const { host, port, jwk, rows, connections } = setUp(ID);

// What this library cannot send from the fixture; interop/clients.toml lists the same omission.
const OMIT_COLUMNS = {
  // all-types: i64_max (2^63 - 1) and i64_min (-2^63). intColumn() takes only a JS number, exact up
  // to 2^53 - 1, and refuses a BigInt: these two values cannot be expressed.
  "all-types": ["i64_max", "i64_min"],
};

// The config string; a ";" inside a value is written ";;".
const value = (text) => text.replaceAll(";", ";;");
const config = `tcp::addr=${host}:${port};username=${value(jwk.kid)};token=${jwk.d};token_x=${jwk.x};token_y=${jwk.y};`;

// The library logs to the console: "info" lines on stdout for every connection, and its socket
// errors before it rejects with them. Errors are reported as this example's one line anyway;
// only warnings are worth printing.
const log = (level, message) => {
  if (level === "warn") process.stderr.write(`${ID}: questdb client warning: ${message}\n`);
};

// One row, built through the API from the fixture's structured fields.
async function addRow(sender, row) {
  sender.table(row.table);
  for (const [name, symbol] of Object.entries(row.symbols)) sender.symbol(name, symbol);
  for (const [name, column] of Object.entries(row.columns)) {
    if (OMIT_COLUMNS[row.id]?.includes(name)) continue; // see OMIT_COLUMNS
    switch (column.type) {
      case "integer": {
        const number = Number(column.value); // the fixture loader gives integers as BigInt
        if (!Number.isSafeInteger(number)) throw new Error(`row ${row.id}: column ${name}: ${column.value} is not exact as a JS number`);
        sender.intColumn(name, number);
        break;
      }
      case "float":
        // Non-finite values are the strings "NaN", "Infinity", "-Infinity" in the fixture: Number()
        // turns them into NaN and ±Infinity, which protocol version 1 writes as such.
        sender.floatColumn(name, Number(column.value));
        break;
      case "string":
        sender.stringColumn(name, column.value);
        break;
      case "boolean":
        sender.booleanColumn(name, column.value);
        break;
      case "timestamp":
        sender.timestampColumn(name, column.value, column.unit); // a BigInt is accepted
        break;
      default:
        throw new Error(`row ${row.id}: column ${name}: unknown type "${column.type}"`);
    }
  }
  // The designated timestamp: null lets the server assign it. With a BigInt and "ns" the library
  // writes the full nanoseconds.
  if (row.timestamp === null) await sender.atNow();
  else await sender.at(row.timestamp.value, row.timestamp.unit);
}

await forEachConnection(ID, connections, async () => {
  // One sender per connection.
  const sender = await Sender.fromConfig(config, { log });
  try {
    // Connect, send the key id, read the challenge, sign it, send the signature.
    await withTimeout("connecting and authenticating", sender.connect());
    await withTimeout("sending the rows", (async () => {
      for (const row of rows) {
        await addRow(sender, row);
      }
      await sender.flush();
    })());
  } finally {
    await sender.close();
  }
});
