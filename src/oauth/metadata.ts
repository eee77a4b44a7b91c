/** RFC 8414 authorization server metadata: what this server implements, and where. */
import { ROLES } from './scope.js';
import type { GrantRegistry } from './token-endpoint.js';

export function serverMetadata(issuer: string, registry: GrantRegistry): Record<string, unknown> {
  const grants = [...registry.keys()];
  return {
    issuer,
    authorization_endpoint: `${issuer}/apiAuthorize.action`,
    token_endpoint: `${issuer}/apiToken.action`,
    scopes_supported: [...ROLES],
    response_types_supported: ['code', 'token'],
    response_modes_supported: ['query', 'fragment'],
    grant_types_supported: [...grants, 'implicit'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    code_challenge_methods_supported: ['S256'],
    authorization_response_iss_parameter_supported: true,
  };
}
