// A real OpenID Provider (the `oidc-provider` package) over HTTPS, for tests/oidc_jwt.rs.
//
//   node tests/oidc/jwt-provider.mjs CERT_PEM KEY_PEM CA_PEM
//
// Listens on a free loopback port, issuer https://localhost:PORT, and prints one JSON
// line {"issuer": ...} once it accepts connections. Client `jwt-client` / `jwt-secret`
// may use client_credentials with a resource indicator: the resource names the
// signing algorithm of its JWT access tokens (RFC 9068, `typ: at+jwt`):
//   https://rs256.api.test  https://ps256.api.test  https://es256.api.test
// Commands on stdin, one JSON line each, answered with one JSON line on stdout:
//   {"cmd":"rotate"}                       new RSA and EC keys first, the old ones kept
//   {"cmd":"drop-old"}                     only the newest RSA and EC keys left
//   {"cmd":"sign","alg":"RS256","typ":"JWT","claims":{...}}   a JWS signed with the
//                                          provider's current key for that algorithm
//   {"cmd":"token","resource":"https://rs256.api.test"}   the answer of this provider's
//                                          token endpoint (over HTTPS, trusting only
//                                          the test CA) to a client_credentials grant
// The provider stops when stdin closes.
import { readFileSync } from 'node:fs';
import { createServer, request } from 'node:https';
import { generateKeyPairSync, randomUUID, createSign, constants } from 'node:crypto';
import { createInterface } from 'node:readline';
import Provider from 'oidc-provider';

const [certFile, keyFile, caFile] = process.argv.slice(2);
const ca = readFileSync(caFile);
const tls = { cert: readFileSync(certFile), key: readFileSync(keyFile) };

const RESOURCES = {
  'https://rs256.api.test': 'RS256',
  'https://ps256.api.test': 'PS256',
  'https://es256.api.test': 'ES256',
};

function newKeys() {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return [
    { pem: rsa.privateKey, jwk: { ...rsa.privateKey.export({ format: 'jwk' }), kid: `rsa-${randomUUID()}`, use: 'sig' } },
    { pem: ec.privateKey, jwk: { ...ec.privateKey.export({ format: 'jwk' }), kid: `ec-${randomUUID()}`, use: 'sig' } },
  ];
}

let keys = newKeys();
let provider;
let issuer;

function build() {
  const p = new Provider(issuer, {
    clients: [{
      client_id: 'jwt-client',
      client_secret: 'jwt-secret',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      scope: 'api:read',
    }],
    scopes: ['api:read'],
    jwks: { keys: keys.map((k) => k.jwk) },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo(ctx, resource) {
          const alg = RESOURCES[resource];
          if (!alg) throw new Provider.errors.InvalidTarget();
          return {
            scope: 'api:read',
            audience: resource,
            accessTokenTTL: 600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg } },
          };
        },
      },
    },
  });
  p.on('server_error', (ctx, err) => process.stderr.write(`provider error: ${err}\n`));
  return p;
}

const server = createServer(tls, (req, res) => provider.callback()(req, res));
server.listen(0, '127.0.0.1', () => {
  issuer = `https://localhost:${server.address().port}`;
  provider = build();
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

const b64 = (data) => Buffer.from(data).toString('base64url');

function sign(alg, typ, claims) {
  const family = alg.startsWith('ES') ? 'ec' : 'rsa';
  const key = keys.find((k) => k.jwk.kid.startsWith(family));
  const header = { alg, kid: key.jwk.kid };
  if (typ) header.typ = typ;
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(claims))}`;
  const signer = createSign('SHA256');
  signer.update(input);
  const options = { key: key.pem };
  if (alg === 'PS256') Object.assign(options, { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  if (alg === 'ES256') options.dsaEncoding = 'ieee-p1363';
  return `${input}.${signer.sign(options).toString('base64url')}`;
}

function token(resource) {
  const body = new URLSearchParams({ grant_type: 'client_credentials', resource, scope: 'api:read' }).toString();
  return new Promise((resolve, reject) => {
    const req = request(`${issuer}/token`, {
      method: 'POST',
      ca,
      auth: 'jwt-client:jwt-secret',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      let text = '';
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => { try { resolve(JSON.parse(text)); } catch (e) { reject(e); } });
    });
    req.on('error', reject);
    req.end(body);
  });
}

// Answers go out in the order commands came in.
let queue = Promise.resolve();
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  queue = queue.then(() => run(line));
});

async function run(line) {
  let answer;
  try {
    const cmd = JSON.parse(line);
    if (cmd.cmd === 'token') {
      answer = await token(cmd.resource);
    } else if (cmd.cmd === 'rotate') {
      keys = [...newKeys(), ...keys];
      provider = build();
      answer = { kids: keys.map((k) => k.jwk.kid) };
    } else if (cmd.cmd === 'drop-old') {
      keys = keys.slice(0, 2);
      provider = build();
      answer = { kids: keys.map((k) => k.jwk.kid) };
    } else if (cmd.cmd === 'sign') {
      answer = { token: sign(cmd.alg, cmd.typ, cmd.claims) };
    } else {
      answer = { error: 'unknown command' };
    }
  } catch (e) {
    answer = { error: String(e) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
lines.on('close', () => queue.then(() => process.exit(0)));
