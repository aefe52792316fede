/** API tokens: everyone manages their own; OU_ADMIN also those of the unit's other users. */
import { builder } from '../builder.js';
import { createApiToken, isActive, listApiTokens, revokeApiToken } from '../auth/api-tokens.js';
import type { CredentialRow } from '../auth/credentials.js';
import { CREDENTIAL_KINDS } from '../db/schema.js';
import { InvalidInputError, NotFoundError } from '../domain/errors.js';
import { Permission } from './enums.js';
import { callerOf, decodeId, transact } from './support.js';

export const CredentialKind = builder.enumType('CredentialKind', {
  values: {
    API_TOKEN: { value: CREDENTIAL_KINDS[0], description: 'An API token, sent as "Authorization: Bearer <token>".' },
    SESSION: { value: CREDENTIAL_KINDS[1], description: "A dashboard session, kept in the browser's HttpOnly cookie." },
  },
});

export const ApiToken = builder.drizzleNode('apiTokens', {
  name: 'ApiToken',
  id: { column: (token) => token.id },
  description: 'An API token (or a dashboard session). The secret itself is shown once, when the token is created.',
  authScopes: (token) => ({ permission: 'OU_ADMIN', isUser: token.userId }),
  fields: (t) => ({
    name: t.exposeString('name'),
    kind: t.expose('kind', { type: CredentialKind }),
    permissions: t.field({
      type: [Permission],
      nullable: true,
      description: "What the token may do, within its user's current permissions; null = all of its user's permissions.",
      select: { columns: { permissions: true } },
      resolve: (token) => token.permissions,
    }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true, description: 'Null: never.' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'To the minute.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    active: t.boolean({
      description: 'Neither revoked nor expired.',
      select: { columns: { revokedAt: true, expiresAt: true } },
      resolve: (token) => isActive(token),
    }),
    trustedDocumentsOnly: t.exposeBoolean('trustedDocumentsOnly', {
      description: 'The token runs trusted documents only (sent by documentId); an ad-hoc query is refused with TRUSTED_DOCUMENT_REQUIRED.',
    }),
    owner: t.relation('user'),
  }),
});

builder.queryField('apiTokens', (t) =>
  t.field({
    type: [ApiToken],
    description: 'Your API tokens, newest first; with userId (OU_ADMIN), those of another user of your unit.',
    authScopes: { authenticated: true },
    args: {
      userId: t.arg.id(),
      includeInactive: t.arg.boolean({ description: 'Also revoked and expired ones.' }),
    },
    resolve: (_root, args, context) =>
      listApiTokens(context.services.db, callerOf(context), {
        userId: args.userId === null || args.userId === undefined ? null : decodeId(String(args.userId), 'User'),
        includeInactive: args.includeInactive,
      }),
  }),
);

const CreateApiTokenInput = builder.inputType('CreateApiTokenInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: 'What the token is for; up to 100 characters.' }),
    permissions: t.field({
      type: [Permission],
      required: true,
      description: 'At least one; only permissions the owner has and that you act with now.',
    }),
    expiresAt: t.field({ type: 'DateTime', description: 'Default: never.' }),
    userId: t.id({ description: 'Another user of your unit (OU_ADMIN); default: yourself.' }),
    trustedDocumentsOnly: t.boolean({
      description:
        "Only trusted documents (registered with registerTrustedDocuments, or the dashboard's) may be run with it, by documentId: the right setting for mobile apps. Default false.",
    }),
  }),
});

const CreatedApiToken = builder.objectRef<{ secret: string; row: CredentialRow }>('CreatedApiToken').implement({
  fields: (t) => ({
    token: t.string({
      description: 'The token. Shown only now: only its hash is stored. Send it as "Authorization: Bearer <token>".',
      resolve: (created) => created.secret,
    }),
    apiToken: t.field({ type: ApiToken, resolve: (created) => created.row }),
  }),
});

builder.mutationField('createApiToken', (t) =>
  t.field({
    type: CreatedApiToken,
    authScopes: { authenticated: true },
    args: { input: t.arg({ type: CreateApiTokenInput, required: true }) },
    errors: { types: [InvalidInputError, NotFoundError] },
    resolve: (_root, { input }, context) =>
      transact(context, (scope) =>
        createApiToken(scope, callerOf(context), {
          name: input.name,
          permissions: input.permissions,
          expiresAt: input.expiresAt,
          trustedDocumentsOnly: input.trustedDocumentsOnly,
          userId: input.userId === null || input.userId === undefined ? null : decodeId(String(input.userId), 'User'),
        }),
      ),
  }),
);

builder.mutationField('revokeApiToken', (t) =>
  t.field({
    type: ApiToken,
    description: "Revokes a token (yours, or with OU_ADMIN anyone's in your unit) and the sessions opened with it; open subscriptions using it end.",
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError] },
    resolve: (_root, { id }, context) => transact(context, (scope) => revokeApiToken(scope, callerOf(context), decodeId(String(id), 'ApiToken'))),
  }),
);
