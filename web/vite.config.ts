import { defineConfig } from 'vite';
import solid from 'vite-plugin-solid';
import { trustedDocuments } from './trusted-documents';

export default defineConfig({
  plugins: [solid(), trustedDocuments()],
  server: {
    proxy: { '/graphql': { target: 'http://127.0.0.1:4000', ws: true }, '/healthz': 'http://127.0.0.1:4000' },
  },
  build: { target: 'es2022' },
});
