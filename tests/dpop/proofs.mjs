// DPoP proofs from panva's `dpop` package on Node's WebCrypto, for tests/dpop.rs.
//
// Reads one JSON request per line on stdin, answers one JSON line on stdout:
//   {"key": "es" | "ed" | "other", "htu": "...", "htm": "GET",
//    "accessToken": "..." (optional), "nonce": "..." (optional),
//    "clockOffset": seconds added to the library's clock (optional)}
//   -> {"proof": "...", "jkt": "<the library's RFC 7638 thumbprint of the key>"}
// The first line out is {"ready": true} once the keys exist.
import { createInterface } from 'node:readline';
import { generateKeyPair, generateProof, calculateThumbprint } from 'dpop';

const keys = {
  es: await generateKeyPair('ES256'),
  ed: await generateKeyPair('Ed25519'),
  other: await generateKeyPair('ES256'),
  ps: await generateKeyPair('PS256'),
};
const realNow = Date.now;
console.log(JSON.stringify({ ready: true }));

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  try {
    const request = JSON.parse(line);
    const keypair = keys[request.key];
    const offset = (request.clockOffset ?? 0) * 1000;
    Date.now = () => realNow() + offset;
    const proof = await generateProof(
      keypair,
      request.htu,
      request.htm,
      request.nonce ?? undefined,
      request.accessToken ?? undefined,
    );
    Date.now = realNow;
    const jkt = await calculateThumbprint(keypair.publicKey);
    console.log(JSON.stringify({ proof, jkt }));
  } catch (error) {
    Date.now = realNow;
    console.log(JSON.stringify({ error: String(error) }));
  }
}
