export { AdminTokenAuthenticator, requireAuth, canSeeEnte, principalOf, ROLES, type Role, type Principal, type Authenticator } from './auth.ts';
export { createMessagesRouter, type MessagesRouterDeps } from './messages.ts';
export { createQueuesRouter } from './queues.ts';
export { createEntiRouter, type EntiRouterDeps } from './enti.ts';
