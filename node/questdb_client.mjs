// node-questdb: the official client, @questdb/nodejs-client 4.2.0, configured from a config string.
// The library does the handshake: it sends the key id, collects the challenge up to its "\n" (in as
// many pieces as it comes), signs it with crypto.sign() on the private key d, which gives DER, and
// sends it in standard base64. It needs only username (the key id) and token (d); token_x and
// token_y are accepted and ignored.
//
// What the library does not do:
// - bound the waits: connect() resolves only once the signature is sent, and a server that never
//   sends a challenge (or closes without one) leaves it waiting forever; flush() waits for the
//   socket's write with no bound either. The harness wants every wait bounded by ILP_TIMEOUT_S, so
//   this example wraps them from outside (an application wants a bound of its own too).
// - report a rejection: the server says nothing, the library writes into a closed connection.
//   The verdict is in the server's records.
//
// A line marked "harness:" is there because the harness needs it (interop/CLIENTS.md), not because
// the library does.
//
// Run: ILP_HOST=127.0.0.1 ILP_PORT=9009 ILP_KEY=interop/keys/testUser1.jwk.json \
//      ILP_ROWS=interop/rows.jsonl node node/questdb_client.mjs
// (ILP_CONNECTIONS and ILP_TIMEOUT_S are optional: interop/CLIENTS.md)

import { Sender } from "@questdb/nodejs-client";
import { forEachConnection, setUp, withTimeout } from "./example_env.mjs";

const ID = "node-questdb";
// The library sends protocol versions 1, 2 and 3 (protocol_version in the config string) and speaks
// TLS (tcps:: with tls_ca=<CA file>). Asked for anything else, setUp refuses before connecting.
// Version 1 is text only; 2 sends floats in binary and adds arrays (arrayColumn); 3 adds decimals
// (decimalColumn, binary, or decimalColumnText, text with a "d" suffix).
const { host, port, jwk, rows, connections, protocolVersion, tlsCa } = setUp(ID, {
  protocolVersions: [1, 2, 3],
  tls: true,
});

// What this library cannot send from the fixture; interop/clients.toml lists the same omission.
const OMIT_COLUMNS = {
  // all-types: i64_max (2^63 - 1) and i64_min (-2^63). intColumn() takes only a JS number, exact up
  // to 2^53 - 1, and refuses a BigInt: these two values cannot be expressed.
  "all-types": ["i64_max", "i64_min"],
};

// The config string; a ";" inside a value is written ";;". Name the protocol version: for TCP the
// library has no way to ask the server, and "auto" means 1.
const value = (text) => text.replaceAll(";", ";;");
// With ILP_TLS_CA: tcps:: is TLS (QuestDB Enterprise, or the stub's --tls), and tls_ca names the PEM
// file of the CA to trust. Never tls_verify=unsafe_off: a client that trusts any certificate sends
// its key id and signature to whoever answers.
const transport = tlsCa === null ? "tcp::" : `tcps::tls_ca=${value(tlsCa)};`;
const config =
  `${transport}addr=${host}:${port};protocol_version=${protocolVersion};` +
  `username=${value(jwk.kid)};token=${jwk.d};token_x=${jwk.x};token_y=${jwk.y};`;

// The library's log goes to the console unless it is given a logger: passing one is how an
// application puts the library's messages into its own log. This one writes warnings to stderr.
const log = (level, message) => {
  // harness: the rest would break the contract's output. "info" is three lines on stdout per
  // connection (hundreds of connections per run); "error" prints the Error and its stack on stderr
  // just before connect() or flush() rejects with the same error, which this example then reports
  // as its one line.
  if (level !== "warn") return;
  process.stderr.write(`${ID}: questdb client warning: ${message}\n`);
};

// One row, built through the API from the fixture's structured fields.
async function addRow(sender, row) {
  sender.table(row.table);
  for (const [name, symbol] of Object.entries(row.symbols)) sender.symbol(name, symbol);
  for (const [name, column] of Object.entries(row.columns)) {
    if (OMIT_COLUMNS[row.id]?.includes(name)) continue; // see OMIT_COLUMNS
    switch (column.type) {
      case "integer": {
        // The fixture loader gives integers as BigInt, and intColumn() takes a number. Number() rounds
        // beyond 2^53 without a word: check, and refuse rather than send another value (good practice
        // wherever integers come as BigInt).
        const number = Number(column.value);
        if (!Number.isSafeInteger(number)) throw new Error(`row ${row.id}: column ${name}: ${column.value} is not exact as a JS number`);
        sender.intColumn(name, number);
        break;
      }
      case "float":
        // Non-finite values are the strings "NaN", "Infinity", "-Infinity" in the fixture: Number()
        // turns them into NaN and ±Infinity. Version 1 writes them as text, version 2 and later as
        // 8 binary bytes, like every float.
        sender.floatColumn(name, Number(column.value));
        break;
      case "array":
        // A DOUBLE array (version 2 and later): nested JS arrays of numbers, one level per dimension,
        // always sent in binary. The library reads the shape from the nesting (so an empty array is
        // shape [0]) and refuses ragged or mixed arrays. Number() turns the fixture's "NaN" strings.
        sender.arrayColumn(name, numbers(column.value));
        break;
      case "decimal":
        // A DECIMAL (version 3): decimalColumn takes the unscaled integer as a BigInt and the scale,
        // and sends them in binary (decimalColumnText would send "-123.4500d" as text). The column
        // must exist already: QuestDB does not create DECIMAL columns from ILP.
        sender.decimalColumn(name, BigInt(column.unscaled), Number(column.scale));
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

// The fixture's nested array values as numbers (its integers are BigInt, its non-finite values strings).
const numbers = (value) => (Array.isArray(value) ? value.map(numbers) : Number(value));

await forEachConnection(ID, connections, async () => {
  // One sender per connection: the harness connects ILP_CONNECTIONS times. (An application keeps one
  // sender open and reuses it.)
  const sender = await Sender.fromConfig(config, { log });
  try {
    // Connect, send the key id, read the challenge, sign it, send the signature.
    await withTimeout("connecting and authenticating", sender.connect()); // harness: connect() has no timeout
    const sending = (async () => {
      for (const row of rows) await addRow(sender, row); // at() flushes by itself: 600 rows, or 1 s since the last flush
      await sender.flush();
    })();
    await withTimeout("sending the rows", sending); // harness: neither flush() nor at()'s own flushes have a timeout
  } finally {
    await sender.close(); // destroys the socket at once: nothing to wait for
  }
});
