/**
 * The dashboard's trusted documents: its build writes web/dist/trusted-documents.json (every
 * operation of web/src with the fragments it spreads, by id); the server registers them at start,
 * so the dashboard can send ids alone. No manifest (the dashboard was not built): nothing to do.
 */
import { readFile } from 'node:fs/promises';
import type { Executor } from '../db/client.js';
import { registerDashboardDocuments } from '../domain/trusted-documents.js';

export const MANIFEST_FILE = 'trusted-documents.json';

export interface DocumentManifest {
  format: 'updraft-trusted-documents';
  version: 1;
  /** id → document text. */
  documents: Record<string, string>;
}

export async function registerDashboardManifest(db: Executor, webDist: string): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(`${webDist}/${MANIFEST_FILE}`, 'utf8');
  } catch {
    return null;
  }
  const manifest = JSON.parse(text) as DocumentManifest;
  if (manifest.format !== 'updraft-trusted-documents' || manifest.version !== 1) throw new Error(`${MANIFEST_FILE}: unknown format`);
  return registerDashboardDocuments(db, manifest.documents);
}
