export { AdminTokenAuthenticator, requireAuth, canSeeEnte, principalOf, ROLES, type Role, type Principal, type Authenticator } from './auth.ts';
export { createMessagesRouter, type MessagesRouterDeps } from './messages.ts';
export { createQueuesRouter } from './queues.ts';
export { DeadLetterService, DeadLetterNotFoundError, DeadLetterStateError, type DeadLetterDetail, type ReplayResult } from './dead-letter-service.ts';
export { createDeadLettersRouter } from './dead-letters.ts';
export { createPluginsRouter } from './plugins.ts';
