import { GraphQLError, Kind } from 'graphql';
import { builder } from '../builder.js';

function parseDate(value: unknown): Date {
  if (typeof value === 'string') {
    const date = new Date(value);
    if (!Number.isNaN(date.getTime()) && /^\d{4}-\d{2}-\d{2}T/.test(value)) return date;
  }
  throw new GraphQLError(`DateTime must be an ISO 8601 date-time string such as "2026-01-31T08:00:00Z", got ${JSON.stringify(value)}`, {
    extensions: { code: 'BAD_USER_INPUT' },
  });
}

builder.scalarType('DateTime', {
  description: 'An instant as an ISO 8601 string in UTC, e.g. "2026-01-31T08:00:00.000Z".',
  serialize: (value) => (value instanceof Date ? value : new Date(value as string)).toISOString(),
  parseValue: parseDate,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be a string', { extensions: { code: 'BAD_USER_INPUT' } });
    return parseDate(ast.value);
  },
});

/** What yoga's multipart parser hands over for a file part (a Fetch API File, of whichever implementation). */
function isUploadedFile(value: unknown): value is File {
  const file = value as Partial<File> | null;
  return !!file && typeof file === 'object' && typeof file.name === 'string' && typeof file.stream === 'function';
}

function notAFile(): GraphQLError {
  return new GraphQLError('File must be a file sent as a part of a GraphQL multipart request (its variable set to null and mapped in "map")', {
    extensions: { code: 'BAD_USER_INPUT' },
  });
}

builder.scalarType('File', {
  description: 'A file sent with the GraphQL multipart request specification.',
  serialize: () => {
    throw new Error('File is an input-only scalar');
  },
  parseValue: (value) => {
    if (!isUploadedFile(value)) throw notAFile();
    return value;
  },
  parseLiteral: () => {
    throw notAFile();
  },
});
