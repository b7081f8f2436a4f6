// Bundles what a run on a lent GPU machine needs into one ESM file each, so the machine needs no tsx
// and no node_modules except webgpu's native addon (scripts/device/pack.sh lays that beside them):
//   bench-step.mjs   scripts/bench-step.ts
//   bench-rl.mjs     scripts/bench-rl.ts
//   tests.mjs        test/all.ts with the GPU test files below compiled in (all.ts lists its folder
//                    and imports each file by path at run time; a bundle has no folder to list, so
//                    the two expressions that do so are swapped for a fixed list and literal
//                    imports; the runner's counting and filtering stay test/all.ts's own)
// 'webgpu' stays outside (kernels/device.ts imports it by a name esbuild cannot see).
//
//   npx tsx scripts/device/bundle.ts OUT_DIR
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Kernel suites (run first on the device): every test file whose name contains one of these words,
 * the rule test/all.ts filters by, so a new kernel's suite (matmul-gelu.test.ts) comes along. Then
 * whole-model suites that touch no files or child processes, by exact name (run if time is left).
 * run-device.sh passes the same words to the bundled runner, which filters the bundled list. */
const KERNEL_TESTS = ['matmul', 'attention', 'layernorm', 'softmax', 'elementwise', 'reduce', 'embedding',
  'loss', 'pgloss', 'sample', 'select', 'optim', 'runtime', 'unstage'];
const MODEL_TESTS = ['gpt', 'generate', 'reuse', 'sparse', 'tail'];

const FIXED_FILES = 'readdirSync(here)';
const IMPORT_BY_PATH = 'await import(pathToFileURL(join(here, f)).href);';

function replaceOnce(text: string, what: string, by: string): string {
  const n = text.split(what).length - 1;
  if (n !== 1) throw new Error(`test/all.ts has ${n} copies of \`${what}\` (expected 1): update scripts/device/bundle.ts to its new form`);
  return text.replace(what, () => by);
}

/** test/all.ts with a fixed file list and literal imports, so esbuild compiles every suite in. */
function fixedTestList(files: string[]): Plugin {
  return {
    name: 'fixed-test-list',
    setup(b) {
      b.onLoad({ filter: /[\\/]test[\\/]all\.ts$/ }, (args) => {
        let src = readFileSync(args.path, 'utf8');
        src = replaceOnce(src, FIXED_FILES, JSON.stringify(files));
        const loaders = files.map((f) => `${JSON.stringify(f)}: () => import(${JSON.stringify(`./${f}`)})`).join(',\n  ');
        src = replaceOnce(src, IMPORT_BY_PATH, `await ({\n  ${loaders}\n} as Record<string, () => Promise<unknown>>)[f]();`);
        return { contents: src, loader: 'ts', resolveDir: dirname(args.path) };
      });
    },
  };
}

async function bundle(outDir: string): Promise<string[]> {
  const all = readdirSync(join(root, 'test')).filter((f) => f.endsWith('.test.ts'));
  const kernel = all.filter((f) => KERNEL_TESTS.some((w) => f.includes(w)));
  const missing = KERNEL_TESTS.filter((w) => !kernel.some((f) => f.includes(w)));
  if (missing.length) throw new Error(`scripts/device/bundle.ts: no test file matches ${missing.join(', ')}; update KERNEL_TESTS`);
  const gone = MODEL_TESTS.filter((w) => !all.includes(`${w}.test.ts`));
  if (gone.length) console.warn(`WARNING: ${gone.map((w) => `test/${w}.test.ts`).join(', ')} missing: the device run will not have it`);
  const modelWords = MODEL_TESTS.filter((w) => !gone.includes(w));
  const model = modelWords.map((w) => `${w}.test.ts`);
  const files = [...new Set([...kernel, ...model])].sort();
  console.log(`bundled ${files.length} test files: ${files.join(' ')}`);
  const common = {
    absWorkingDir: root, bundle: true, platform: 'node' as const, format: 'esm' as const, target: 'node20',
    outExtension: { '.js': '.mjs' }, external: ['webgpu'], legalComments: 'none' as const, logLevel: 'warning' as const,
    // CommonJS dependencies (commander) call require() for Node built-ins; an ESM bundle has none
    banner: { js: "import { createRequire as __fgCreateRequire } from 'node:module'; const require = __fgCreateRequire(import.meta.url);" },
  };
  await build({ ...common, entryPoints: { 'bench-step': 'scripts/bench-step.ts', 'bench-rl': 'scripts/bench-rl.ts' }, outdir: outDir });
  await build({ ...common, entryPoints: { tests: 'test/all.ts' }, outdir: outDir, plugins: [fixedTestList(files)] });
  return modelWords;
}

const out = process.argv[2];
if (!out) throw new Error('usage: npx tsx scripts/device/bundle.ts OUT_DIR');
const modelWords = await bundle(out);
// the suites' words, for run-device.sh's two phases
writeFileSync(join(out, 'tests.env'), `KERNEL_TESTS="${KERNEL_TESTS.join(' ')}"\nMODEL_TESTS="${modelWords.join(' ')}"\n`);
