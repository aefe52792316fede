import { initGraphQLTada } from 'gql.tada';
import type { introspection } from '../graphql-env.d.ts';

/** Typed documents: gql.tada infers result and variable types from schema.graphql. */
export const graphql = initGraphQLTada<{
  introspection: introspection;
  scalars: { DateTime: string; File: File; ID: string };
}>();

export type { FragmentOf, ResultOf } from 'gql.tada';
export { readFragment } from 'gql.tada';
