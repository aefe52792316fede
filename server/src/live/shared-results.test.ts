import { describe, expect, it } from 'vitest';
import * as wsModule from 'ws';
import { frameHead } from './shared-results.js';

/** ws's own framing (exported at run time, not in its types). */
const { Sender } = wsModule as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };

describe('frameHead (shared payloads framed once)', () => {
  it('frames a message exactly as ws frames it sent whole, at every length encoding', () => {
    const envelope = '{"id":"ü-1","type":"next","payload":';
    for (const restLength of [3, 80, 125 - Buffer.byteLength(envelope) + 1, 65_535 - Buffer.byteLength(envelope), 70_000]) {
      const rest = Buffer.alloc(restLength, 0x61);
      const ours = Buffer.concat([frameHead(envelope, restLength), rest]);
      const message = Buffer.concat([Buffer.from(envelope), rest]);
      const theirs = Buffer.concat(Sender.frame(message, { fin: true, opcode: 1, mask: false, rsv1: false, readOnly: true }));
      expect(ours.equals(theirs)).toBe(true);
    }
  });
});
