// The run report: <runDir>/metrics.jsonl (+ run.json) → <runDir>/report.html, one self-contained
// page that works offline from file:// — uPlot's JS and CSS, the chart specs (train/charts.ts,
// bundled at build time into train/charts.bundle.js by scripts/build-charts.ts) and the run's data
// are all inlined. No compiler runs here. Every number shown is computed from the records.
//
//   npx tsx train/report.ts <runDir>
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { collectRun, SECTIONS, summaryTables, type RunData, type Table } from './charts.js';
import { writeFileAtomic } from './files.js';

const require = createRequire(import.meta.url);

export interface MetricsFile {
  records: unknown[];
  /** why a line was left out (only a torn last line is; anything else throws) */
  notes: string[];
}

/** Parses metrics.jsonl. A bad last line is a write cut short by a crash: noted and skipped. */
export function readMetrics(path: string): MetricsFile {
  if (!existsSync(path)) throw new Error(`no ${path}; pass a run folder written by train/run.ts`);
  const lines = readFileSync(path, 'utf8').split('\n');
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  const records: unknown[] = [], notes: string[] = [];
  lines.forEach((text, i) => {
    if (text.trim() === '') return;
    try {
      records.push(JSON.parse(text));
    } catch (e) {
      if (i < lines.length - 1) throw new Error(`${path} line ${i + 1} is not JSON (${(e as Error).message})`);
      notes.push(`line ${i + 1} (the last) is not complete JSON, probably cut short when the run stopped; left out`);
    }
  });
  return { records, notes };
}

/** run.json → label/value rows: the command line, the adapter, then every option by its dotted path. */
export function runSettings(runDir: string): [string, string][] {
  const path = join(runDir, 'run.json');
  if (!existsSync(path)) return [];
  let run: any;
  try {
    run = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path} is not valid JSON (${(e as Error).message})`);
  }
  const rows: [string, string][] = [];
  if (Array.isArray(run.argv)) rows.push(['command', ['train/run.ts', ...run.argv].join(' ')]);
  const a = run.adapter;
  if (a) rows.push(['adapter', [a.vendor, a.architecture, a.description || a.device].filter(Boolean).join(' / ') + (a.isSoftware ? ' (software)' : '')]);
  const walk = (prefix: string, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) walk(prefix ? `${prefix}.${k}` : k, x);
    else rows.push([prefix, JSON.stringify(v)]);
  };
  walk('', run.options ?? {});
  return rows;
}

export const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** Inline <script> text may not contain "</script"; JSON also gets "<" escaped wholesale. */
export const scriptSafe = (js: string) => js.replace(/<\/(script)/gi, '<\\/$1');
export const jsonSafe = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

/** uPlot's minified build and CSS, with the banner's URL replaced by a URL-free attribution. */
export function uplotAssets(): { js: string; css: string } {
  const dir = join(require.resolve('uplot/package.json'), '..');
  const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  const copyright = readFileSync(join(dir, 'LICENSE'), 'utf8').match(/Copyright[^\n]*/)?.[0] ?? '';
  const js = readFileSync(join(dir, 'dist/uPlot.iife.min.js'), 'utf8').replace(/^\/\*![\s\S]*?\*\/\s*/, '');
  const css = readFileSync(join(dir, 'dist/uPlot.min.css'), 'utf8');
  return { js: `/*! uPlot ${version} (github.com/leeoniya/uPlot), MIT license, ${copyright} */\n${js}`, css };
}

let chartsJs: string | null = null;
/** train/charts.ts as a classic script defining the global ForkCharts (committed, built by scripts/build-charts.ts). */
function chartsScript(): string {
  if (chartsJs) return chartsJs;
  const path = fileURLToPath(new URL('./charts.bundle.js', import.meta.url));
  if (!existsSync(path)) throw new Error(`${path} is missing; rebuild it with npx tsx scripts/build-charts.ts`);
  chartsJs = readFileSync(path, 'utf8');
  return chartsJs;
}

// Mounts every chart the specs produce into the placeholder the static HTML has for it.
const BOOT = `(function () {
  var run = JSON.parse(document.getElementById('run-data').textContent);
  var made = [];
  ForkCharts.SECTIONS.forEach(function (s) { s.charts.forEach(function (spec) {
    var c = spec(run);
    var el = document.getElementById('chart-' + c.id);
    var u = el && ForkCharts.drawChart(uPlot, c, el);
    if (u) made.push([u, el]);
  }); });
  ForkCharts.fitOnResize(function () { return made; });
})();`;

const CSS = `
body { font: 14px/1.45 system-ui, sans-serif; color: #222; max-width: 1000px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 32px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
table { border-collapse: collapse; margin: 8px 0 16px; } td, th { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
.tables { display: flex; flex-wrap: wrap; gap: 8px 32px; align-items: flex-start; } .tables table { max-width: 100%; }
.settings { columns: 2; column-gap: 32px; font-size: 12px; font-family: ui-monospace, monospace; }
.settings div { break-inside: avoid; overflow-wrap: anywhere; } .settings .k { color: #666; }
figure { margin: 0 0 24px; } figcaption, .note, .sub { color: #555; font-size: 13px; } .note { font-style: italic; }
.chart { width: 100%; min-height: 40px; }`;

function table(t: Table): string {
  const head = t.head.some(Boolean) ? `<tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>` : '';
  return `<table><caption style="text-align:left;font-weight:600">${esc(t.title)}</caption>${head}` +
    t.rows.map((r) => `<tr>${r.map((c, i) => (i ? `<td>${esc(c)}</td>` : `<th>${esc(c)}</th>`)).join('')}</tr>`).join('') + '</table>';
}

export function renderReport(run: RunData, o: { name: string; settings: [string, string][]; notes: string[] }): string {
  const { js, css } = uplotAssets();
  const counts = `${run.sftSteps.length} SFT steps, ${run.sftEvals.length} SFT evaluations, ${run.rlSteps.length} RL steps, ` +
    `${run.evals.length} held-out evaluations${run.baseEval ? ', an SFT-base evaluation' : ''}`;
  const notes = [...o.notes, ...(run.unknown ? [`${run.unknown} records of no known kind were left out`] : [])];
  const sections = SECTIONS.map((s) => `<section><h2>${esc(s.title)}</h2>` + s.charts.map((spec) => {
    const c = spec(run);
    const body = c.opts ? `<div class="chart" id="chart-${c.id}"></div><figcaption>${esc(c.caption)}</figcaption>` : `<p class="note">${esc(c.note ?? '')}</p>`;
    return `<figure id="fig-${c.id}"><h3>${esc(c.title)}</h3>${body}</figure>`;
  }).join('') + '</section>').join('\n');
  const settings = o.settings.length
    ? `<h2>Run settings</h2><div class="settings">${o.settings.map(([k, v]) => `<div><span class="k">${esc(k)}</span> ${esc(v)}</div>`).join('')}</div>`
    : '<h2>Run settings</h2><p class="note">No run.json in the run folder.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>forkgrad report: ${esc(o.name)}</title>
<style>${css}</style><style>${CSS}</style></head>
<body>
<h1>forkgrad run report</h1>
<p class="sub">${esc(o.name)} · from metrics.jsonl: ${esc(counts)}${notes.map((n) => `<br>note: ${esc(n)}`).join('')}</p>
<h2>Final numbers</h2><div class="tables">${summaryTables(run).map(table).join('') || '<p class="note">No records to summarise.</p>'}</div>
${settings}
${sections}
<script type="application/json" id="run-data">${jsonSafe(run)}</script>
<script>${scriptSafe(js)}</script>
<script>${scriptSafe(chartsScript())}</script>
<script>${BOOT}</script>
</body></html>
`;
}

/** Writes <runDir>/report.html from <runDir>/metrics.jsonl (and run.json); returns its path. */
export function writeReport(runDir: string): string {
  const m = readMetrics(join(runDir, 'metrics.jsonl'));
  const html = renderReport(collectRun(m.records), { name: basename(resolve(runDir)), settings: runSettings(runDir), notes: m.notes });
  const out = join(runDir, 'report.html');
  writeFileAtomic(out, html);
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: npx tsx train/report.ts <runDir>');
    process.exit(1);
  }
  try {
    console.log(`wrote ${writeReport(dir)}`);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    process.exit(1);
  }
}
