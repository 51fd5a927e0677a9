// A real OpenID Connect provider for the tests: the npm package `oidc-provider` (MIT) on
// loopback, with one confidential client (client_secret_basic) and a few accounts. No login page:
// the login interaction signs in the account named by the `login_hint` that the relying party
// passes on (an unknown one is refused with access_denied), and consent is granted at once.
//
//   import { startProvider } from './oidc_provider.mjs';
//   const p = await startProvider({ port, clientId, clientSecret, redirectUri, accounts });
//   ... p.issuer ...; await p.close();

import http from 'node:http';
import Provider from 'oidc-provider';

export async function startProvider({ port, clientId, clientSecret, redirectUri, accounts }) {
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [redirectUri],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    async findAccount(ctx, id) {
      const account = accounts[id];
      if (!account) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...account }; } };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // The email claims in the ID token itself (the relying party reads no userinfo).
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true },
    cookies: { keys: ['rowgate-test-cookie-key'] },
  });
  provider.on('server_error', (ctx, err) => console.error('oidc-provider server_error', err));

  async function interaction(req, res) {
    const details = await provider.interactionDetails(req, res);
    const { prompt, params, session } = details;
    if (prompt.name === 'login') {
      const id = params.login_hint;
      if (!accounts[id]) {
        await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'no such account' });
        return;
      }
      await provider.interactionFinished(req, res, { login: { accountId: id } }, { mergeWithLastSubmission: false });
      return;
    }
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    if (prompt.details.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  const app = provider.callback();
  const server = http.createServer((req, res) => {
    if (req.url.startsWith('/interaction/')) {
      interaction(req, res).catch((e) => {
        res.statusCode = 500;
        res.end(String(e?.stack ?? e));
      });
      return;
    }
    app(req, res);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  };
  return { issuer, close };
}
