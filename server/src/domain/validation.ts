/**
 * Parses domain input with a zod schema and turns its issues into an InvalidInputError, so that
 * every domain function reports bad input the same way whoever calls it (GraphQL, engine, seed).
 */
import type { z } from 'zod';
import { InvalidInputError } from './errors.js';

export function parseInput<S extends z.ZodType>(schema: S, input: unknown, basePath: string[] = ['input']): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new InvalidInputError(
    result.error.issues.map((issue) => ({
      path: [...basePath, ...issue.path.map(String)],
      message: issue.message,
    })),
  );
}

/**
 * An optional input field. Clients of the API leave such a field out or send null (GraphQL makes
 * no difference a client could rely on): both mean "not given", so the domain's input types accept
 * either and callers pass their arguments as they come.
 */
export function optionalInput<S extends z.ZodType>(schema: S) {
  return schema.nullish().transform((value): z.output<S> | undefined => value ?? undefined);
}

/** An optional input field with a default: left out or null, it takes `fallback`. */
export function defaultInput<S extends z.ZodType>(schema: S, fallback: z.output<S>) {
  return schema.nullish().transform((value): z.output<S> => value ?? fallback);
}
