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
