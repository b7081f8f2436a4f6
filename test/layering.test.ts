// The layers import downwards only: util ← verify ← kernels ← model ← train ← web, scripts; tests may
// import anything. A file importing across (model → verify, scripts → test, web ↔ scripts, …) fails
// here with its path and the import, so the layering the README describes cannot drift silently.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const t = suite('layering');
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** What each top-level folder may import from the repository (besides itself and npm packages). */
const MAY_IMPORT: Record<string, string[]> = {
  util: [],
  verify: ['util'],
  kernels: ['util'],
  model: ['util', 'kernels'],
  train: ['util', 'verify', 'kernels', 'model'],
  web: ['util', 'verify', 'kernels', 'model', 'train'],
  scripts: ['util', 'verify', 'kernels', 'model', 'train'],
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === 'node_modules' ? [] : sources(p);
    return /\.(ts|mts)$/.test(f) ? [p] : [];
  });
}

/** Relative specifiers of static imports, re-exports and dynamic imports with a literal. */
function imports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"](\.[^'"]+)['"]/g)) {
    out.push(m[1] ?? m[2] ?? m[3]);
  }
  return out;
}

t('every import stays within its layer or goes down', () => {
  const bad: string[] = [];
  for (const [layer, allowed] of Object.entries(MAY_IMPORT)) {
    for (const file of sources(join(root, layer))) {
      for (const spec of imports(readFileSync(file, 'utf8'))) {
        const target = relative(root, resolve(dirname(file), spec)).split(/[\\/]/)[0];
        if (target !== layer && !allowed.includes(target)) bad.push(`${relative(root, file)} imports ${spec} (${layer} → ${target})`);
      }
    }
  }
  assert.equal(bad, [], bad.join('\n'));
});

t('the import scanner sees the import forms the layers use', () => {
  const found = imports(`import { a } from '../model/gpt.js';\nimport type { B } from "../verify/index.js";\nexport { c } from '../web/x.js';\nconst m = await import('../scripts/y.js');\nimport '../test/z.js';`);
  assert.equal(found, ['../model/gpt.js', '../verify/index.js', '../web/x.js', '../scripts/y.js', '../test/z.js']);
});

t.run();
