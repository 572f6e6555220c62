// The few parts of oidc-provider (a JavaScript package without type definitions) that the tests
// use to run a real OpenID Connect issuer on loopback.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface Saveable {
    save(): Promise<string>;
  }

  interface GrantModel extends Saveable {
    addOIDCScope(scope: string): void;
  }

  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    readonly Client: { find(clientId: string): Promise<object | undefined> };
    readonly Grant: new (init: { accountId: string; clientId: string }) => GrantModel;
    readonly RefreshToken: new (init: { accountId: string; grantId: string; client: object; scope: string; gty: string }) => Saveable;
  }
}
