import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { createProduct, createUpgradeJob, sha256, uploadFirmware, uploadFirmwareRaw } from '../support/fixtures.js';

let t: TestServer;
const MAX = 64 * 1024;

beforeAll(async () => {
  t = await startTestServer({ maxFirmwareBytes: MAX, engineEnabled: false });
  await createProduct(t, 'fw-product');
  await createProduct(t, 'other-product');
});
afterAll(() => t?.close());

async function firmwareCount(productKey = 'fw-product'): Promise<number> {
  const result = await t.gql(`query($p: String) { firmwares(productKey: $p) { totalCount } }`, { p: productKey });
  return result.data.firmwares.totalCount;
}

async function storedFiles(): Promise<string[]> {
  return (await readdir(t.server.services.config.firmwareDir).catch(() => [])).filter((f) => !f.startsWith('.'));
}

describe('uploadFirmware', () => {
  it('stores the file and computes its SHA256 and MD5 digests', async () => {
    const content = randomBytes(10_000);
    const sha = await uploadFirmware(t, { productKey: 'fw-product', name: 'Good', version: '1.0.0', content });
    expect(sha.sign).toBe(sha256(content));
    const md5 = await uploadFirmware(t, { productKey: 'fw-product', name: 'Good MD5', version: '1.0.1', content, signMethod: 'MD5' });
    expect(md5.sign).toBe(createHash('md5').update(content).digest('hex'));
    const files = await storedFiles();
    expect(files).toHaveLength(2);
    const onDisk = await import('node:fs/promises').then((fs) => fs.readFile(path.join(t.server.services.config.firmwareDir, files[0])));
    expect([sha256(content)]).toContain(sha256(onDisk));
  });

  it('accepts a given sign that matches, in any letter case', async () => {
    const content = randomBytes(2048);
    const result = await uploadFirmware(t, { productKey: 'fw-product', name: 'Signed', version: '1.1.0', content, sign: sha256(content).toUpperCase() });
    expect(result.sign).toBe(sha256(content));
  });

  it('refuses a file whose digest differs from the given sign, and keeps nothing', async () => {
    const before = { count: await firmwareCount(), files: (await storedFiles()).length };
    const result = await uploadFirmwareRaw(t, {
      productKey: 'fw-product',
      name: 'Tampered',
      version: '9.9.9',
      content: randomBytes(1024),
      sign: sha256(Buffer.from('something else')),
    });
    expect(result.data.uploadFirmware.__typename).toBe('SignMismatchError');
    expect(result.data.uploadFirmware.code).toBe('SIGN_MISMATCH');
    expect(await firmwareCount()).toBe(before.count);
    expect((await storedFiles()).length).toBe(before.files);
  });

  it('refuses a duplicate version or name within the product, but not in another product', async () => {
    await uploadFirmware(t, { productKey: 'fw-product', name: 'Dup', version: '2.0.0' });
    const sameVersion = await uploadFirmwareRaw(t, { productKey: 'fw-product', name: 'Other name', version: '2.0.0' });
    expect(sameVersion.data.uploadFirmware).toMatchObject({ __typename: 'AlreadyExistsError', code: 'ALREADY_EXISTS' });
    expect(sameVersion.data.uploadFirmware.message).toContain('2.0.0');
    const sameName = await uploadFirmwareRaw(t, { productKey: 'fw-product', name: 'Dup', version: '2.0.1' });
    expect(sameName.data.uploadFirmware.__typename).toBe('AlreadyExistsError');
    expect(sameName.data.uploadFirmware.message).toContain('Dup');
    await uploadFirmware(t, { productKey: 'other-product', name: 'Dup', version: '2.0.0' });
  });

  it('refuses a file over the limit with a typed error, keeping nothing', async () => {
    const before = { count: await firmwareCount(), files: (await storedFiles()).length };
    const result = await uploadFirmwareRaw(t, { productKey: 'fw-product', name: 'Huge', version: '3.0.0', content: randomBytes(MAX + 1) });
    expect(result.data.uploadFirmware).toMatchObject({ __typename: 'FileTooLargeError', code: 'FILE_TOO_LARGE' });
    expect(await firmwareCount()).toBe(before.count);
    expect((await storedFiles()).length).toBe(before.files);
    // Exactly at the limit is fine.
    await uploadFirmware(t, { productKey: 'fw-product', name: 'At limit', version: '3.0.1', content: randomBytes(MAX) });
  });

  it('answers bad input with typed errors: unknown product, empty version, bad sign', async () => {
    const unknown = await uploadFirmwareRaw(t, { productKey: 'nope', name: 'X', version: '1' });
    expect(unknown.data.uploadFirmware).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    const empty = await uploadFirmwareRaw(t, { productKey: 'fw-product', name: 'X', version: '  ' });
    expect(empty.data.uploadFirmware.__typename).toBe('InvalidInputError');
    const badSign = await uploadFirmwareRaw(t, { productKey: 'fw-product', name: 'X', version: '5', sign: 'not-hex' });
    expect(badSign.data.uploadFirmware.__typename).toBe('InvalidInputError');
  });
});

describe('deleteFirmware', () => {
  const del = (id: string) =>
    t.gql(
      `mutation($id: ID!) { deleteFirmware(id: $id) { __typename ... on MutationDeleteFirmwareSuccess { data { id deleted } } ... on FirmwareInUseError { jobNames } ... on Error { message code } } }`,
      { id },
    );

  it('is refused while a job using it has unfinished tasks, then allowed once it is cancelled', async () => {
    await t.gql(`mutation { registerDevices(input: { productKey: "fw-product", devices: [{ deviceKey: "d1", firmwareVersion: "0.1" }] }) { __typename } }`);
    const firmware = await uploadFirmware(t, { productKey: 'fw-product', name: 'In use', version: '4.0.0' });
    const jobId = await createUpgradeJob(t, { firmwareId: firmware.id, name: 'Uses it', scope: { allDevices: true } });
    const refused = await del(firmware.id);
    expect(refused.data.deleteFirmware).toMatchObject({ __typename: 'FirmwareInUseError', code: 'FIRMWARE_IN_USE', jobNames: ['Uses it'] });
    const files = (await storedFiles()).length;
    expect(files).toBeGreaterThan(0);

    await t.gql(`mutation($id: ID!) { cancelJob(id: $id) { __typename } }`, { id: jobId });
    const deleted = await del(firmware.id);
    expect(deleted.data.deleteFirmware).toMatchObject({ __typename: 'MutationDeleteFirmwareSuccess', data: { deleted: true } });
    expect((await storedFiles()).length).toBe(files - 1);
    // The job still shows which firmware it pushed.
    const job = await t.gql(`query($id: ID!) { job(id: $id) { firmware { version deleted } } }`, { id: jobId });
    expect(job.data.job.firmware).toEqual({ version: '4.0.0', deleted: true });
    // The version is free again, and the deleted firmware is gone from the list.
    await uploadFirmware(t, { productKey: 'fw-product', name: 'In use', version: '4.0.0' });
    const again = await del(firmware.id);
    expect(again.data.deleteFirmware.__typename).toBe('NotFoundError');
  });

  it('reports unknown and malformed ids as NotFoundError', async () => {
    for (const id of ['RmlybXdhcmU6MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw', 'garbage', 'T3RhSm9iOjE=']) {
      const result = await del(id);
      expect(result.data.deleteFirmware.__typename, id).toBe('NotFoundError');
    }
  });
});
