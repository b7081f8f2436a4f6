import type { Runtime, Tensor } from './runtime.js';
import { selectWGSL } from './select.wgsl.js';

export type SelectMode = 'top' | 'bottom';

/** The number of rows top-ρ keeps out of n valid ones: exactly ceil(ρ·n), as the 80/20 code does. */
export function selectedCount(rho: number, nValid: number, mode: SelectMode = 'top'): number {
  if (!(rho > 0 && rho <= 1)) throw new Error(`top_entropy_quantile (ρ) is ${rho}; it must be in (0, 1]`);
  const top = Math.min(nValid, Math.ceil(rho * nValid - 1e-9));
  // 'bottom' is the ablation's complement: the lowest-entropy rows the top-ρ selection leaves out.
  return mode === 'top' ? top : nValid - top;
}

/**
 * Selects exactly k rows among the valid ones: the k highest scores ('top') or lowest ('bottom'),
 * ties broken by lower row index. Writes their ids, best first, into rows[0..k) and a 0/1 mask [n].
 */
export function selectRows(
  rt: Runtime,
  a: { score: Tensor; valid: Tensor; rows: Tensor; mask: Tensor; k: number; mode?: SelectMode },
): void {
  const n = a.score.size;
  if (a.rows.size < a.k) throw new Error(`selectRows: rows holds ${a.rows.size} ids, k is ${a.k}`);
  const k = rt.kernel({ name: 'select_rows', code: selectWGSL });
  rt.dispatch(k, {
    params: [n, a.k, a.mode === 'bottom' ? 1 : 0],
    tensors: [a.score, a.valid, a.rows, a.mask],
    groups: [Math.ceil(n / 64)],
  });
}
