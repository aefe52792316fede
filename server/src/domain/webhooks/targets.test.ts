import type { lookup } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { createTargetPolicy, isRefusedAddress } from './targets.js';

/** A resolver answering from a table that the test changes (DNS rebinding). */
function fakeDns(table: Record<string, string[]>): typeof lookup {
  return ((hostname: string, _options: unknown, callback: (e: Error | null, list: { address: string; family: number }[]) => void) => {
    const addresses = table[hostname];
    if (!addresses) return callback(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }), []);
    callback(
      null,
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    );
  }) as unknown as typeof lookup;
}

const lookupOnce = (policy: ReturnType<typeof createTargetPolicy>, host: string, all = false) =>
  new Promise<{ error: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
    policy.lookup(host, { all }, (error, address) => resolve({ error, address })),
  );

describe('webhook targets', () => {
  it('refuses private, loopback, link-local, CGNAT, reserved and mapped addresses; accepts public ones', () => {
    for (const address of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fe80::1',
      'fd12::1',
      '::ffff:127.0.0.1',
      '::ffff:a00:1',
      '64:ff9b::a00:1',
    ]) {
      expect(isRefusedAddress(address), address).toBe(true);
    }
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8']) expect(isRefusedAddress(address), address).toBe(false);
  });

  it('checks every address a name resolves to, and the allow-list by address, range or name', async () => {
    const dns = fakeDns({ 'hooks.example': ['93.184.216.34'], 'mixed.example': ['93.184.216.34', '10.1.1.1'], 'internal.corp': ['10.9.9.9'] });
    const policy = createTargetPolicy(['10.1.0.0/16', 'internal.corp'], dns);
    expect(await policy.check('https://hooks.example/in')).toMatchObject({ ok: true, addresses: ['93.184.216.34'] });
    expect(await policy.check('https://mixed.example/')).toMatchObject({ ok: true });
    expect(await policy.check('https://internal.corp/')).toMatchObject({ ok: true });
    const strict = createTargetPolicy([], dns);
    expect(await strict.check('https://mixed.example/')).toMatchObject({ ok: false, problem: expect.stringMatching(/10\.1\.1\.1/) });
    expect(await strict.check('https://nowhere.example/')).toMatchObject({ ok: false, problem: expect.stringMatching(/does not resolve \(ENOTFOUND\)/) });
  });

  it('connects only to addresses it checked: a name that rebinds to a private address is refused at connection time', async () => {
    const table: Record<string, string[]> = { 'rebind.example': ['93.184.216.34'] };
    const policy = createTargetPolicy([], fakeDns(table));
    expect(await policy.check('http://rebind.example/')).toMatchObject({ ok: true });
    expect(await lookupOnce(policy, 'rebind.example')).toEqual({ error: null, address: '93.184.216.34' });
    table['rebind.example'] = ['127.0.0.1', '93.184.216.35'];
    // Only the public address is handed to the socket.
    expect(await lookupOnce(policy, 'rebind.example', true)).toEqual({ error: null, address: [{ address: '93.184.216.35', family: 4 }] });
    table['rebind.example'] = ['169.254.169.254'];
    const refused = await lookupOnce(policy, 'rebind.example');
    expect(refused.error?.code).toBe('ETARGETREFUSED');
  });
});
