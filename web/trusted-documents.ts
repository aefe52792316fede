/**
 * The dashboard's trusted documents, made at build time. Every query and mutation lives in a
 * `documents.ts` / `*-documents.ts` module (the build fails on one written elsewhere); the plugin
 * loads those modules, and for each operation takes the text urql will send (its cache exchange adds
 * `__typename` to queries and mutations, so formatDocument, then stringifyDocument: the client's own
 * functions, so the text cannot differ) and its id, `sha256:` + the hex SHA-256 of that text (server/src/domain/trusted-documents.ts).
 * It writes web/dist/trusted-documents.json (id → text), which the server registers at start, and
 * gives the bundle `virtual:trusted-document-ids` (operation name → id), with which the client
 * sends ids instead of documents (src/api/persisted-operations.ts). `vite` (dev) gets no ids.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { formatDocument, stringifyDocument } from '@urql/core';
import type { DocumentNode } from 'graphql';
import { createServer, type Plugin } from 'vite';

const VIRTUAL = 'virtual:trusted-document-ids';
const RESOLVED = `\0${VIRTUAL}`;
const MANIFEST_FILE = 'trusted-documents.json';

const isDocumentModule = (file: string) => /(^|[-/])documents\.ts$/.test(file) || file.endsWith('api/error-fields.ts');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

function isOperationDocument(value: unknown): value is DocumentNode {
  const doc = value as DocumentNode | null;
  return !!doc && doc.kind === 'Document' && doc.definitions.some((d) => d.kind === 'OperationDefinition');
}

export function trustedDocuments(): Plugin {
  let ids: Record<string, string> = {};
  let documents: Record<string, string> = {};
  let root = process.cwd();
  let serving = false;
  return {
    name: 'updraft-trusted-documents',
    configResolved(config) {
      root = config.root;
      serving = config.command === 'serve';
    },
    async buildStart() {
      if (serving) return;
      const files = sourceFiles(path.join(root, 'src'));
      const stray = files.filter((f) => !isDocumentModule(f) && /graphql\(\s*`\s*(query|mutation)\b/.test(readFileSync(f, 'utf8')));
      if (stray.length) throw new Error(`GraphQL operations outside a documents module (they would not be trusted documents): ${stray.join(', ')}`);
      const loader = await createServer({
        configFile: false,
        root,
        logLevel: 'error',
        appType: 'custom',
        optimizeDeps: { noDiscovery: true, include: [] },
        server: { middlewareMode: true, hmr: false, ws: false },
      });
      ids = {};
      documents = {};
      try {
        for (const file of files.filter(isDocumentModule)) {
          const module = (await loader.ssrLoadModule(file)) as Record<string, unknown>;
          for (const value of Object.values(module)) {
            if (!isOperationDocument(value)) continue;
            const operation = value.definitions.find((d) => d.kind === 'OperationDefinition');
            const name = operation && 'name' in operation ? operation.name?.value : undefined;
            if (!name) throw new Error(`${file}: every dashboard operation needs a name`);
            // Subscriptions skip the cache exchange: they go out as written.
            const text = operation?.operation === 'subscription' ? stringifyDocument(value) : stringifyDocument(formatDocument(value));
            const id = `sha256:${createHash('sha256').update(text).digest('hex')}`;
            if (ids[name] && ids[name] !== id) throw new Error(`Two dashboard operations are named ${name}: names must be unique`);
            ids[name] = id;
            documents[id] = text;
          }
        }
      } finally {
        await loader.close();
      }
    },
    resolveId(id) {
      return id === VIRTUAL ? RESOLVED : null;
    },
    load(id) {
      return id === RESOLVED ? `export default ${JSON.stringify(ids)};` : null;
    },
    generateBundle() {
      this.emitFile({
        type: 'asset',
        fileName: MANIFEST_FILE,
        source: `${JSON.stringify({ format: 'updraft-trusted-documents', version: 1, documents }, null, 1)}\n`,
      });
    },
  };
}
