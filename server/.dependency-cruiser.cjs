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
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
  },
};
