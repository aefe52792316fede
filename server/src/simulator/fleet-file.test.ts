import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadFleetFile, parseFleet } from './fleet-file.js';

const device = { productKey: 'pk1', deviceKey: 'dev-1', secret: 's', version: '1.0.0' };

describe('fleet file', () => {
  it('accepts devices, with an optional fixed behaviour', () => {
    expect(parseFleet([device, { ...device, deviceKey: 'dev-2', behaviour: 'hang' }])).toEqual([device, { ...device, deviceKey: 'dev-2', behaviour: 'hang' }]);
  });

  it.each([
    ['not an array', { devices: [] }],
    ['missing secret', [{ ...device, secret: undefined }]],
    ['empty version', [{ ...device, version: '' }]],
    ['product key with a dot', [{ ...device, productKey: 'p.k' }]],
    ['device key with a slash', [{ ...device, deviceKey: 'a/b' }]],
    ['unknown behaviour', [{ ...device, behaviour: 'explode' }]],
  ])('rejects %s', (_label, value) => {
    expect(() => parseFleet(value)).toThrow(/invalid fleet/);
  });

  it('rejects a device listed twice', () => {
    expect(() => parseFleet([device, device])).toThrow(/appears twice/);
  });

  it('loads a file and reports broken JSON clearly', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fleet-'));
    const good = path.join(dir, 'good.json');
    await writeFile(good, JSON.stringify([device]));
    expect(await loadFleetFile(good)).toEqual([device]);
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, '[{');
    await expect(loadFleetFile(bad)).rejects.toThrow(/is not JSON/);
  });
});
