// Vite config for the browser page: `npm run web` serves web/ with hot reload, `npm run build:web`
// writes dist/web/, static files with relative paths that work from any static server, offline.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: './',
  // The page imports kernels/, model/, train/ and verify/ from the repository root.
  server: { host: '127.0.0.1', fs: { allow: [here('..')] } },
  preview: { host: '127.0.0.1' },
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    target: 'es2022', // top-level await for the device
    rollupOptions: { input: { main: here('index.html'), bench: here('bench.html'), gpt2: here('gpt2.html') } },
  },
});
