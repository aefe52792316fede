/** Trusted documents: an organisation unit registers its integrations' GraphQL documents (OU_ADMIN). */
import { type GraphQLSchema, getOperationAST, parse, validate } from 'graphql';
import { builder } from '../builder.js';
import { InvalidInputError, NotFoundError } from '../domain/errors.js';
import {
  type DocumentCheck,
  listTrustedDocuments,
  MAX_DOCUMENTS_PER_REGISTRATION,
  registerTrustedDocuments,
  removeTrustedDocument,
  type TrustedDocumentRow,
} from '../domain/trusted-documents.js';
import { callerOf, transact } from './support.js';

export const TrustedDocument = builder.objectRef<TrustedDocumentRow>('TrustedDocument').implement({
  description: 'A GraphQL document clients of your unit may run by id alone (send "documentId" instead of "query").',
  fields: (t) => ({
    documentId: t.exposeString('documentId', { description: '"sha256:" + the hex SHA-256 of the document text.' }),
    clientName: t.exposeString('clientName'),
    operationName: t.exposeString('operationName', { nullable: true }),
    document: t.exposeString('document'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

/** A registered document must be one executable operation that validates against the schema now. */
function checkDocument(schema: GraphQLSchema, text: string): DocumentCheck {
  let document: ReturnType<typeof parse>;
  try {
    document = parse(text, { maxTokens: 10_000 });
  } catch (error) {
    return { ok: false, problem: `does not parse: ${(error as Error).message}` };
  }
  const errors = validate(schema, document);
  if (errors.length > 0) return { ok: false, problem: `does not validate: ${errors[0].message}` };
  const operations = document.definitions.filter((d) => d.kind === 'OperationDefinition');
  if (operations.length !== 1) return { ok: false, problem: 'must hold exactly one operation (and the fragments it uses)' };
  return { ok: true, operationName: getOperationAST(document)?.name?.value ?? null };
}

const RegisterInput = builder.inputType('RegisterTrustedDocumentsInput', {
  fields: (t) => ({
    clientName: t.string({ required: true, description: 'The client these documents belong to, e.g. "ios-app 2.3".' }),
    documents: t.stringList({
      required: true,
      description: `Up to ${MAX_DOCUMENTS_PER_REGISTRATION} documents, each one operation with its fragments, exactly as the client will hash it.`,
    }),
  }),
});

builder.mutationField('registerTrustedDocuments', (t) =>
  t.field({
    type: [TrustedDocument],
    description: 'Registers documents your clients may run by id; answers them with their ids, in the order given. Registering one again changes nothing.',
    authScopes: { permission: 'OU_ADMIN' },
    args: { input: t.arg({ type: RegisterInput, required: true }) },
    errors: { types: [InvalidInputError] },
    resolve: (_root, { input }, context, info) =>
      transact(context, (scope) => registerTrustedDocuments(scope, callerOf(context), input, (text) => checkDocument(info.schema, text))),
  }),
);

builder.mutationField('removeTrustedDocument', (t) =>
  t.field({
    type: TrustedDocument,
    description: "Removes one of your unit's documents: clients sending its id are refused from then on.",
    authScopes: { permission: 'OU_ADMIN' },
    args: { documentId: t.arg.string({ required: true }) },
    errors: { types: [NotFoundError] },
    resolve: (_root, { documentId }, context) => transact(context, (scope) => removeTrustedDocument(scope, callerOf(context), documentId)),
  }),
);

builder.queryField('trustedDocuments', (t) =>
  t.field({
    type: [TrustedDocument],
    description: "Your unit's registered documents (the dashboard's are not listed).",
    authScopes: { permission: 'OU_ADMIN' },
    args: { clientName: t.arg.string() },
    resolve: (_root, args, context) => listTrustedDocuments(context.services.db, callerOf(context), { clientName: args.clientName }),
  }),
);
