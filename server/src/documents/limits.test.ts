import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { boundedParseCache, measureDocument } from './limits.js';

describe('boundedParseCache', () => {
  it('keeps short documents, least recently used first out, and never a long one', () => {
    const cache = boundedParseCache<number>();
    cache.set('x'.repeat(20_001), 1);
    expect(cache.get('x'.repeat(20_001))).toBeUndefined();
    for (let i = 0; i < 1024; i++) cache.set(`{ a${i} }`, i);
    expect(cache.get('{ a0 }')).toBe(0); // now the most recently used
    cache.set('{ b }', -1);
    expect(cache.get('{ a0 }')).toBe(0);
    expect(cache.get('{ a1 }')).toBeUndefined();
    expect(cache.get('{ b }')).toBe(-1);
  });
});

describe('measureDocument', () => {
  it('counts fields, aliases and depth with fragments expanded where they are spread', () => {
    const document = parse(`
      query { a: jobs { nodes { ...F ...F } } b: jobs { nodes { id } } }
      fragment F on OtaJob { id x: name product { id } }
    `);
    // jobs(1) nodes(1) 2×F(id, x, product, product.id = 4) = 10; b: jobs nodes id = 3.
    expect(measureDocument(document)).toEqual({ depth: 4, breadth: 13, aliases: 4 });
  });

  it('measures a fragment cycle as nothing (validation refuses it)', () => {
    expect(measureDocument(parse('query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }'))).toEqual({ depth: 0, breadth: 0, aliases: 0 });
  });
});
