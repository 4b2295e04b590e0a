// Stand-in for the unmaintained native package node-webcrypto-ossl, written for the docs check.
// The docs do `const { Crypto } = require("node-webcrypto-ossl"); const crypto = new Crypto()` and
// then use crypto.subtle: Node's own crypto.webcrypto has the same WebCrypto API.
const { webcrypto } = require("node:crypto");

class Crypto {
  constructor() {
    return webcrypto;
  }
}

module.exports = { Crypto };
