/**
 * Firmware files on disk (FIRMWARE_DIR). An upload streams into a temporary file while its size
 * is counted and its digests computed, so a file over the limit is cut off as soon as it crosses it
 * and never held whole in memory by this module.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FileTooLargeError } from './errors.js';

export interface StagedFile {
  tempPath: string;
  size: number;
  md5: string;
  sha256: string;
}

export interface FirmwareStore {
  readonly dir: string;
  /** Streams an upload to a temporary file; throws FileTooLargeError past `maxBytes`. */
  stage(source: ReadableStream<Uint8Array> | Readable, maxBytes: number): Promise<StagedFile>;
  /** Moves a staged file to its permanent name. */
  commit(staged: StagedFile, storageKey: string): Promise<void>;
  discard(staged: StagedFile): Promise<void>;
  remove(storageKey: string): Promise<void>;
  pathOf(storageKey: string): string;
  size(storageKey: string): Promise<number | null>;
  open(storageKey: string, range?: { start: number; end: number }): Readable;
}

export function createFirmwareStore(dir: string): FirmwareStore {
  const tempDir = path.join(dir, '.incoming');
  const pathOf = (storageKey: string) => {
    if (!/^[A-Za-z0-9_.-]+$/.test(storageKey) || storageKey.startsWith('.')) throw new Error(`Bad storage key ${storageKey}`);
    return path.join(dir, storageKey);
  };
  return {
    dir,
    async stage(source, maxBytes) {
      await mkdir(tempDir, { recursive: true });
      const tempPath = path.join(tempDir, randomUUID());
      const md5 = createHash('md5');
      const sha256 = createHash('sha256');
      let size = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          size += chunk.length;
          if (size > maxBytes) return callback(new FileTooLargeError(maxBytes));
          md5.update(chunk);
          sha256.update(chunk);
          callback(null, chunk);
        },
      });
      const input = source instanceof Readable ? source : Readable.from(readChunks(source));
      try {
        await pipeline(input, meter, createWriteStream(tempPath));
      } catch (error) {
        await rm(tempPath, { force: true });
        throw error;
      }
      return { tempPath, size, md5: md5.digest('hex'), sha256: sha256.digest('hex') };
    },
    async commit(staged, storageKey) {
      await rename(staged.tempPath, pathOf(storageKey));
    },
    async discard(staged) {
      await rm(staged.tempPath, { force: true });
    },
    async remove(storageKey) {
      await rm(pathOf(storageKey), { force: true });
    },
    pathOf,
    async size(storageKey) {
      try {
        return (await stat(pathOf(storageKey))).size;
      } catch {
        return null;
      }
    },
    open(storageKey, range) {
      return createReadStream(pathOf(storageKey), range ? { start: range.start, end: range.end } : undefined);
    },
  };
}

/**
 * Chunks of a WHATWG stream, whichever implementation made it (yoga hands over its own ponyfill,
 * which Node's Readable.fromWeb refuses).
 */
async function* readChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}
