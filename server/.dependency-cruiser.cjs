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
        'services.ts is made of db/, domain/, events/ and live/: those take what they need as parameters and never import it back. Other folders (engine, devices, auth, http) run on the assembled services.',
      from: { path: '^src/(db|domain|events|live)/' },
      to: { path: '^src/services\\.ts$' },
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
