/** Import rules of server/src, checked by .ci/run (npx depcruise server/src). */
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycle',
      severity: 'error',
      comment: 'A folder of server/src never imports a folder that imports it back (docs/architecture.md).',
      scope: 'folder',
      from: { path: '^src' },
      to: { circular: true },
    },
    {
      name: 'no-cycle-through-services',
      severity: 'error',
      comment:
        'services.ts is made of db/, domain/, events/, live/, documents/ and observability/: those take what they need as parameters and never import it back. Other folders (engine, devices, auth, http) run on the assembled services.',
      from: { path: '^src/(db|domain|events|live|documents|observability)/' },
      to: { path: '^src/services\\.ts$' },
    },
    {
      name: 'no-module-cycle',
      severity: 'error',
      comment: 'No module imports one that imports it back, type-only imports included (tsPreCompilationDeps).',
      from: { path: '^src' },
      to: { circular: true },
    },
    {
      name: 'context-only-for-resolvers',
      severity: 'error',
      comment:
        'context.ts is built from auth/ and services.ts; only the schema (and the files that assemble the server) name it. Elsewhere take the narrow part you need as a parameter type.',
      from: { path: '^src/', pathNot: '^src/(schema/|app\\.ts$|builder\\.ts$|context\\.ts$)' },
      to: { path: '^src/context\\.ts$' },
    },
    {
      name: 'no-import-of-app',
      severity: 'error',
      comment: 'app.ts and main.ts assemble the server; nothing in a folder imports them.',
      from: { path: '^src/[^/]+/' },
      to: { path: '^src/(app|main)\\.ts$' },
    },
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
  },
};
