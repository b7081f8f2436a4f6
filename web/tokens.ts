// The token view: recent rollouts with every generated character shaded by the entropy of the
// distribution it was sampled from (the heatmaps of the forking-token papers), the tokens the
// top-ρ selection trained on underlined, and each sample's verdict from the exact verifier.
import { TOKENS, VOCAB_SIZE } from '../verify/index.js';
import type { RolloutView } from './session.js';

/** The most uncertain a next-token distribution can be: uniform over the vocabulary. */
const MAX_NATS = Math.log(VOCAB_SIZE);

/** White (certain) → yellow → red (uniform over `max` nats, default forkgrad's vocabulary); square
 * root so the many small entropies differ. */
export function entropyColor(nats: number, max = MAX_NATS): string {
  const t = Math.sqrt(Math.min(1, Math.max(0, nats / max)));
  return `hsl(${(55 * (1 - t)).toFixed(0)}, 95%, ${(98 - 45 * t).toFixed(1)}%)`;
}

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text = '') => {
  const e = document.createElement(tag);
  e.className = cls;
  e.textContent = text;
  return e;
};

export function renderLegend(box: HTMLElement, threshold: number): void {
  const stops = Array.from({ length: 11 }, (_, i) => entropyColor((i / 10) * MAX_NATS)).join(', ');
  const bar = el('span', 'legend-bar');
  bar.style.background = `linear-gradient(to right, ${stops})`;
  const mark = el('span', 'legend-mark');
  mark.style.left = `${(100 * Math.sqrt(threshold / MAX_NATS)).toFixed(1)}%`;
  mark.title = `forking threshold ${threshold} nats`;
  bar.append(mark);
  const fork = el('span', 'tok fork', 'x');
  box.replaceChildren(
    el('span', '', 'entropy 0 '), bar, el('span', '', ` ln ${VOCAB_SIZE} = ${MAX_NATS.toFixed(2)} nats (uniform) · mark: forking threshold ${threshold} nats · `),
    fork, el('span', '', ' trained on (top-ρ) · ✓/✗ the exact verifier'),
  );
}

/** The answer text train/rl.ts reports, split back into its tokens: one character each, except
 * the special tokens, which it writes as <pad> and <bos>. */
export function answerTokens(answer: string): string[] {
  return answer.match(SPLIT) ?? [];
}
const SPLIT = new RegExp(`${TOKENS.slice(0, 3).join('|')}|.`, 'gsu'); // '<pad>', '<bos>', '<eos>': no regex syntax in them

export function renderRollouts(box: HTMLElement, views: RolloutView[]): void {
  if (!views.length) {
    box.replaceChildren(el('p', 'note', 'Rollouts appear here once RL runs.'));
    return;
  }
  const parts: HTMLElement[] = [];
  for (const v of views) {
    const right = v.samples.filter((s) => s.correct).length;
    parts.push(el('div', 'rollout-step', `RL step ${v.step}: ${right} of ${v.samples.length} shown correct`));
    for (const s of v.samples) {
      const row = el('div', `rollout ${s.correct ? 'correct' : 'wrong'}`);
      row.append(el('span', 'verdict', s.correct ? '✓' : '✗'), el('span', 'prompt', s.prompt));
      answerTokens(s.answer).forEach((text, i) => {
        const h = s.entropy[i] ?? 0;
        const tok = el('span', `tok${s.selected[i] ? ' fork' : ''}${h >= v.threshold ? ' high' : ''}${text.length > 1 ? ' special' : ''}`, text);
        tok.style.background = entropyColor(h);
        tok.title = `H = ${h.toFixed(3)} nats (${(h / Math.LN2).toFixed(3)} bits)${s.selected[i] ? ', trained on' : ''}`;
        row.append(tok);
      });
      parts.push(row);
    }
  }
  box.replaceChildren(...parts);
}
