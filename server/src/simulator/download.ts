/**
 * Firmware download as a device does it: stream the file from the push's `fileUrl`, hash it on the
 * fly (never holding the whole file, since thousands of devices may download at once), and resume
 * with a `Range` request when the connection drops half way.
 */
import { createHash, type Hash } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { SignMethod } from '../db/sign-methods.js';

export interface DownloadOptions {
  url: string;
  /** `fileSize` from the push: receiving more than this stops the download. */
  expectedSize: number;
  signMethod: SignMethod;
  signal: AbortSignal;
  /** How many times a dropped transfer is resumed before giving up. */
  maxResumes: number;
  resumeDelayMs: number;
  /** No byte for this long ends the attempt (and may resume). */
  idleTimeoutMs: number;
  /** Flip one byte before it reaches the hash, as flash or RAM corruption would (the `corrupt` behaviour). */
  corrupt?: boolean;
  /** Stop on purpose after this many bytes (the `downloadFail` behaviour). */
  abortAfterBytes?: number;
  onProgress?: (receivedBytes: number) => void;
  httpAgent?: http.Agent;
  httpsAgent?: https.Agent;
}

export type DownloadResult =
  | { ok: true; bytes: number; digest: string; resumes: number }
  /** `download`: the file could not be fetched (→ step -2); `oversize`: more bytes than fileSize (→ -3). */
  | { ok: false; failure: 'download' | 'oversize' | 'cancelled'; desc: string; resumes: number };

const MAX_REDIRECTS = 5;

class AttemptFailed extends Error {
  constructor(
    message: string,
    /** Transient: worth a resume. Permanent: an HTTP error or a protocol violation. */
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

class DownloadCancelled extends Error {}

class StopDownload extends Error {
  constructor(
    readonly failure: 'download' | 'oversize',
    message: string,
  ) {
    super(message);
  }
}

function hashFor(method: SignMethod): Hash {
  return createHash(method === 'MD5' ? 'md5' : 'sha256');
}

function get(url: URL, headers: Record<string, string>, options: DownloadOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const secure = url.protocol === 'https:';
    const request = (secure ? https : http).get(url, { headers, agent: secure ? options.httpsAgent : options.httpAgent });
    let response: IncomingMessage | undefined;
    // Aborting by hand rather than with the `signal` option: once a response is complete its
    // keep-alive socket already belongs to the agent's pool, and destroying it then raises an error
    // nobody listens to. A complete response is left alone; the reader sees the abort itself.
    const onAbort = () => {
      if (!response?.complete) request.destroy(new Error('download cancelled'));
    };
    options.signal.addEventListener('abort', onAbort, { once: true });
    request.on('close', () => options.signal.removeEventListener('abort', onAbort));
    // Later errors land on a settled promise and are ignored; the reader sees them as a short body.
    request.on('error', reject);
    request.setTimeout(options.idleTimeoutMs, () => request.destroy(new Error(`no data for ${options.idleTimeoutMs} ms`)));
    request.once('response', (incoming) => {
      response = incoming;
      incoming.on('error', () => {});
      resolve(incoming);
    });
    if (options.signal.aborted) onAbort();
  });
}

/** Parses `bytes start-end/total` and returns start, or null. */
function contentRangeStart(header: string | undefined): number | null {
  const match = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(header ?? '');
  return match ? Number(match[1]) : null;
}

export async function downloadFirmware(options: DownloadOptions): Promise<DownloadResult> {
  let hash = hashFor(options.signMethod);
  let received = 0;
  let resumes = 0;
  const corruptAt = options.corrupt ? Math.floor(options.expectedSize / 2) : -1;
  let corrupted = false;

  const restartFromZero = () => {
    hash = hashFor(options.signMethod);
    received = 0;
    corrupted = false;
  };

  /** Feeds one chunk into the hash; throws StopDownload when the device must stop. */
  const consume = (chunk: Buffer) => {
    let data = chunk;
    if (corruptAt >= 0 && !corrupted && corruptAt < received + data.length) {
      data = Buffer.from(data); // never modify a buffer the HTTP stack may still own
      data[corruptAt - received] = data[corruptAt - received]! ^ 0xff;
      corrupted = true;
    }
    if (options.abortAfterBytes !== undefined && received + data.length >= options.abortAfterBytes) {
      const keep = Math.max(0, options.abortAfterBytes - received);
      hash.update(data.subarray(0, keep));
      received += keep;
      throw new StopDownload('download', `download aborted after ${received} bytes (simulated failure)`);
    }
    if (received + data.length > options.expectedSize) {
      throw new StopDownload('oversize', `server sent more than the expected ${options.expectedSize} bytes`);
    }
    hash.update(data);
    received += data.length;
    options.onProgress?.(received);
    // The progress callback may have cancelled the download (the device hung, failed or was cancelled).
    if (options.signal.aborted) throw new DownloadCancelled();
  };

  /** One HTTP exchange (following redirects); resolves when the body ended completely. */
  const attempt = async () => {
    let url = new URL(options.url);
    for (let redirects = 0; ; redirects++) {
      const resuming = received > 0;
      const headers: Record<string, string> = resuming ? { range: `bytes=${received}-` } : {};
      let response: IncomingMessage;
      try {
        response = await get(url, headers, options);
      } catch (error) {
        throw options.signal.aborted ? error : new AttemptFailed((error as Error).message, true);
      }
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400 && response.headers.location) {
        response.resume();
        if (redirects >= MAX_REDIRECTS) throw new AttemptFailed('too many redirects', false);
        url = new URL(response.headers.location, url);
        continue;
      }
      if (resuming && status === 206) {
        if (contentRangeStart(response.headers['content-range']) !== received) {
          response.resume();
          throw new AttemptFailed(`resume answered with the wrong range ${response.headers['content-range']}`, false);
        }
      } else if (status === 200) {
        // A server that ignores Range sends the whole file again: start over.
        if (resuming) restartFromZero();
      } else {
        response.resume();
        throw new AttemptFailed(`HTTP ${status} from ${url.origin}${url.pathname}`, false);
      }
      try {
        for await (const chunk of response) consume(chunk as Buffer);
      } catch (error) {
        response.destroy();
        if (error instanceof StopDownload || options.signal.aborted) throw error;
        throw new AttemptFailed(`connection lost after ${received} bytes: ${(error as Error).message}`, true);
      }
      if (!response.complete) throw new AttemptFailed(`connection closed after ${received} bytes`, true);
      return;
    }
  };

  for (;;) {
    try {
      await attempt();
      return { ok: true, bytes: received, digest: hash.digest('hex'), resumes };
    } catch (error) {
      if (options.signal.aborted) return { ok: false, failure: 'cancelled', desc: 'download cancelled', resumes };
      if (error instanceof StopDownload) return { ok: false, failure: error.failure, desc: error.message, resumes };
      const failed = error instanceof AttemptFailed ? error : new AttemptFailed(String(error), false);
      if (!failed.retryable || resumes >= options.maxResumes) {
        return { ok: false, failure: 'download', desc: failed.message, resumes };
      }
      resumes++;
      await delay(options.resumeDelayMs, options.signal);
      if (options.signal.aborted) return { ok: false, failure: 'cancelled', desc: 'download cancelled', resumes };
    }
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
