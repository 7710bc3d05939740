// A real OAuth 2.0 authorization server (the `oidc-provider` package) for the
// IntrospectionValidator tests: client_credentials issues opaque access tokens, which
// the resource server's client `rs` introspects at /token/introspection (RFC 7662).
//
// Test hooks (not part of any standard): GET /test/count answers how many introspection
// requests arrived; POST /test/mode?m=up|down|garbage makes the introspection endpoint
// answer normally, 503, or a 200 that is not JSON.
//
// Prints `listening on http://127.0.0.1:PORT` once it accepts connections.
import http from 'node:http';
import Provider from 'oidc-provider';

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'app',
      client_secret: 'app-secret',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      scope: 'api:read api:write',
    },
    {
      client_id: 'rs',
      client_secret: 'rs-secret',
      grant_types: [],
      redirect_uris: [],
      response_types: [],
    },
  ],
  scopes: ['api:read', 'api:write'],
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    devInteractions: { enabled: false },
  },
  ttl: { ClientCredentials: 600 },
});

let introspections = 0;
let mode = 'up';
provider.use(async (ctx, next) => {
  if (ctx.path === '/test/count') {
    ctx.body = { introspections };
    return;
  }
  if (ctx.path === '/test/mode' && ctx.method === 'POST') {
    mode = ctx.query.m;
    ctx.body = { mode };
    return;
  }
  if (ctx.path === '/token/introspection') {
    introspections += 1;
    if (mode === 'down') {
      ctx.status = 503;
      ctx.body = 'maintenance';
      return;
    }
    if (mode === 'garbage') {
      ctx.status = 200;
      ctx.type = 'text/html';
      ctx.body = '<html>login</html>';
      return;
    }
  }
  await next();
});

server.on('request', provider.callback());
process.stdout.write(`listening on ${issuer}\n`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
