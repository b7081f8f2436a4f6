// Training progress for train/run.ts. On a terminal: cli-progress's bar, redrawn in place. Without
// one (piped to a file, CI) a bar prints nothing, and a 2000-step SFT would say nothing between
// held-out evaluations minutes apart; so there a plain line is printed about every 30 s instead:
// step, steps/s, the bar's metrics, time left.
import cliProgress from 'cli-progress';

/** Seconds between progress lines when the output is not a terminal. */
export const PLAIN_INTERVAL_S = 30;

type Payload = Record<string, string>;

export interface ProgressOptions {
  /** the stage's name, first on each plain line (SFT, RL) */
  stage: string;
  /** cli-progress's format and ETA window, for the terminal bar */
  format: string;
  etaBuffer: number;
  /** payload fields shown on plain lines, in order, with their labels ({ loss: 'loss' }); '-' values are left out */
  fields: Record<string, string>;
  /** defaults: whether stdout is a terminal, console.log, performance.now, PLAIN_INTERVAL_S */
  tty?: boolean;
  write?: (line: string) => void;
  now?: () => number;
  intervalS?: number;
}

/** '1h 02m', '3m 05s', '42s'. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const t = Math.round(s), h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

/** The part of cli-progress's SingleBar that run.ts uses: start, update (value and/or payload), stop. */
export class ProgressDisplay {
  private readonly bar: cliProgress.SingleBar | null;
  private readonly write: (line: string) => void;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private total = 0;
  private value = 0;
  private startValue = 0;
  private startMs = 0;
  private lastLineMs = 0;
  private payload: Payload = {};

  constructor(private readonly o: ProgressOptions) {
    const tty = o.tty ?? !!process.stdout.isTTY;
    this.bar = tty ? new cliProgress.SingleBar({ format: o.format, etaBuffer: o.etaBuffer }, cliProgress.Presets.shades_classic) : null;
    this.write = o.write ?? ((line) => console.log(line));
    this.now = o.now ?? (() => performance.now());
    this.intervalMs = 1000 * (o.intervalS ?? PLAIN_INTERVAL_S);
    if (!(this.intervalMs > 0)) throw new Error(`progress interval is ${o.intervalS} s; it must be positive`);
  }

  start(total: number, startValue: number, payload: Payload = {}): void {
    this.bar?.start(total, startValue, payload);
    this.total = total;
    this.value = this.startValue = startValue;
    this.payload = { ...payload };
    this.startMs = this.lastLineMs = this.now();
  }

  update(value: number | Payload, payload: Payload = {}): void {
    if (typeof value === 'number') this.bar?.update(value, payload);
    else this.bar?.update(value);
    if (this.bar) return;
    if (typeof value === 'number') this.value = value;
    Object.assign(this.payload, typeof value === 'number' ? payload : value);
    const t = this.now();
    if (t - this.lastLineMs >= this.intervalMs) {
      this.lastLineMs = t;
      this.write(this.line(t));
    }
  }

  stop(): void {
    this.bar?.stop();
  }

  /** e.g. "SFT step 120/2000 | 2.31 steps/s | loss 0.1234 | 13m 34s left" */
  private line(t: number): string {
    const rate = (this.value - this.startValue) / ((t - this.startMs) / 1000);
    const left = rate > 0 ? formatDuration((this.total - this.value) / rate) : '?';
    const shown = Object.entries(this.o.fields).filter(([k]) => this.payload[k] !== undefined && this.payload[k] !== '-').map(([k, label]) => `${label} ${this.payload[k]}`);
    return [`${this.o.stage} step ${this.value}/${this.total}`, `${rate.toFixed(2)} steps/s`, ...shown, `${left} left`].join(' | ');
  }
}
