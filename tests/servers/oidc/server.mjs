// A real OAuth 2.1 / OpenID Connect authorization server for docker-mcp's tests: oidc-provider (v9)
// on 127.0.0.1 over plain http, configured from one JSON file.
//
//   node server.mjs CONFIG.json
//
// Once listening it prints ONE line of JSON to stdout: {"issuer": "http://127.0.0.1:PORT", "port": PORT}.
// SIGTERM / SIGINT close it. Config fields (all optional but `resource`):
//   port                0 (default) picks a free port
//   clients             oidc-provider client metadata (client_id, client_secret, token_endpoint_auth_method,
//                       redirect_uris, grant_types, response_types, scope, application_type, ...)
//   registration        true: RFC 7591 dynamic registration, open (no initial access token)
//   registrationManagement true: RFC 7592 client configuration endpoint (read, update, delete a registration)
//   resource            the protected resource (MCP server URL), or a list of them: RFC 8707 resource
//                       indicators accepted; access tokens for it are opaque, audience = the resource
//   scopes              extra scopes (besides openid, offline_access, mcp:tools)
//   accessTokenTTL      seconds, default 3600
//   refreshTokenTTL     seconds, default 14 days
//   refreshTokens       true (default): a refresh token with every authorization_code grant of a client
//                       allowed the refresh_token grant, without offline_access or prompt=consent;
//                       false: never issue refresh tokens
//   rotateRefreshToken  true: rotate on every use; false: never; omitted: oidc-provider's default
//                       (public clients always, confidential ones after 70% of the lifetime)
//   tokenEndpointAuthMethods  default ["client_secret_basic", "client_secret_post", "none"]: the methods
//                       clients may use, and token_endpoint_auth_methods_supported in the metadata
//   requestLog          path of a JSONL file: one line per HTTP request with parameter NAMES only
//   clientCredentials   true: the client_credentials grant (RFC 6749 §4.4) for clients whose grant_types
//                       include it (with "private_key_jwt" in tokenEndpointAuthMethods, a client with `jwks`
//                       may authenticate with a signed assertion, RFC 7523)
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider, { errors } from 'oidc-provider';

// stdout carries the one JSON line and nothing else: oidc-provider's notices (console.info) go to stderr
console.info = console.error;

const configPath = process.argv[2];
if (!configPath) {
  process.stderr.write('usage: node server.mjs CONFIG.json\n');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, 'utf8'));

const resources = [config.resource ?? []].flat();
const resourceScopes = ['mcp:tools', ...(config.scopes ?? [])];
const accessTokenTTL = config.accessTokenTTL ?? 3600;
const refreshTokens = config.refreshTokens ?? true;
const authMethods = config.tokenEndpointAuthMethods ?? ['client_secret_basic', 'client_secret_post', 'none'];

function authScheme(header) {
  if (!header) return null;
  const scheme = header.split(' ', 1)[0].toLowerCase();
  if (scheme === 'basic') return 'Basic';
  if (scheme === 'bearer') return 'Bearer';
  if (scheme === 'dpop') return 'DPoP';
  return 'other';
}

// The request log: parameter names, never values. Written before the response goes out, so a test that
// has its response can read the line.
async function requestLog(ctx, next) {
  const path = ctx.path;
  const queryKeys = Object.keys(ctx.query);
  let status;
  try {
    await next();
    status = ctx.status;
  } catch (err) {
    status = err.status ?? err.statusCode ?? 500;
    throw err;
  } finally {
    if (config.requestLog) {
      let body = {};
      // ctx.oidc (and the body oidc-provider parsed) exists only for requests that reached its routes
      if (Object.getOwnPropertyDescriptor(ctx, 'oidc')) {
        try {
          body = ctx.oidc.body ?? {};
        } catch {
          body = {};
        }
      }
      const line = {
        method: ctx.method,
        path,
        query_keys: queryKeys,
        auth_scheme: authScheme(ctx.get('authorization')),
        body_keys: body && typeof body === 'object' ? Object.keys(body) : [],
        status,
      };
      appendFileSync(config.requestLog, `${JSON.stringify(line)}\n`);
    }
  }
}

// oidc-provider builds every endpoint URL from the request's Host header, so a request to localhost:PORT
// would get metadata naming localhost while the issuer says 127.0.0.1 (and cookies set on one host are not
// sent to the other). Pin the host to the issuer's, as a real server behind a fixed name would be.
function pinHost(host) {
  return async (ctx, next) => {
    ctx.request.header.host = host;
    await next();
  };
}

// RFC 8414: the same metadata at /.well-known/oauth-authorization-server as at the OpenID location.
async function oauthAuthorizationServerMetadata(ctx, next) {
  if (ctx.path === '/.well-known/oauth-authorization-server') {
    ctx.path = '/.well-known/openid-configuration';
  }
  await next();
}

function providerConfiguration() {
  return {
    clients: config.clients ?? [],
    clientAuthMethods: authMethods,
    // what a registration (or a configured client) that leaves these out gets
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: authMethods[0],
      id_token_signed_response_alg: 'RS256',
    },
    // OAuth 2.1: the code flow only (the default also offers implicit and hybrid response types)
    responseTypes: ['code'],
    scopes: ['openid', 'offline_access', ...resourceScopes],
    // the consent screen and the session cookies: signed, not `secure` (ctx.secure is false on http,
    // so oidc-provider leaves the flag off; nothing else is needed for plain http on loopback)
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: Boolean(config.clientCredentials) },
      registration: { enabled: Boolean(config.registration), initialAccessToken: false },
      // RFC 7592: a registration answer carries registration_client_uri and registration_access_token
      registrationManagement: { enabled: Boolean(config.registrationManagement) },
      revocation: {
        enabled: true,
        // oidc-provider's default, spelled out: a client revokes its own tokens
        allowedPolicy: async (ctx, client, token) => {
          if (token.clientId !== client.clientId) {
            if (client.clientAuthMethod === 'none') return false;
            throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
          }
          return true;
        },
      },
      introspection: {
        enabled: true,
        // any authenticated (confidential) client — a resource server — may introspect any token;
        // a public client only its own
        allowedPolicy: async (ctx, client, token) => client.clientAuthMethod !== 'none' || token.clientId === client.clientId,
      },
      resourceIndicators: {
        enabled: true,
        // a token request without `resource` gets the resource the user granted
        useGrantedResource: async () => true,
        defaultResource: async (ctx, client, oneOf) => oneOf,
        getResourceServerInfo: async (ctx, resourceIndicator) => {
          if (!resources.includes(resourceIndicator)) throw new errors.InvalidTarget();
          return {
            scope: resourceScopes.join(' '),
            audience: resourceIndicator,
            accessTokenTTL,
            accessTokenFormat: 'opaque',
          };
        },
      },
    },
    issueRefreshToken: async (ctx, client) => (refreshTokens
      ? client.grantTypeAllowed('refresh_token')
      : false),
    // tokens outlive the browser session of the consent screen
    expiresWithSession: async () => false,
    ...(config.rotateRefreshToken === undefined ? {} : { rotateRefreshToken: () => config.rotateRefreshToken }),
    ttl: {
      AccessToken: accessTokenTTL,
      RefreshToken: config.refreshTokenTTL ?? 14 * 24 * 60 * 60,
    },
  };
}

const server = createServer();
server.listen(config.port ?? 0, '127.0.0.1', async () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, providerConfiguration());
  // oidc-provider validates static clients lazily, on first use: check them now, so a bad config fails
  // the start instead of some later request
  for (const { client_id: clientId } of config.clients ?? []) {
    try {
      await provider.Client.find(String(clientId));
    } catch (err) {
      process.stderr.write(`invalid client ${clientId}: ${err.error_description ?? err.message}\n`);
      process.exit(1);
    }
  }
  provider.use(requestLog);
  provider.use(pinHost(`127.0.0.1:${port}`));
  provider.use(oauthAuthorizationServerMetadata);
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
