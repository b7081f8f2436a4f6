// The seven arms of the forking-token experiment (issue 6), as overrides of the default RL options.
// Every arm starts from the same SFT base and gets the same rollout budget; only which tokens carry
// a gradient, how the backward pass computes it and the advantage differ.
import type { RlOptions } from '../../train/rl.js';

export const ARM_IDS = ['a', 'b', 'c', 'd', 'e', 'f', 'g'] as const;
export type ArmId = (typeof ARM_IDS)[number];

export interface Arm {
  id: ArmId;
  /** what the arm trains on and how, for tables and legends */
  label: string;
  rl: Pick<RlOptions, 'topEntropyQuantile' | 'selection' | 'backward' | 'entropyShaping' | 'logGradCosine'>;
}

/** The arms for a top-ρ share `rho` (the 20%). */
export function arms(rho: number): Arm[] {
  const top = `top-${+(rho * 100).toFixed(1)}%`, bottom = `bottom-${+((1 - rho) * 100).toFixed(1)}%`;
  const base = { selection: 'top', entropyShaping: false, logGradCosine: false } as const;
  return [
    { id: 'a', label: 'all tokens (ρ = 1)', rl: { ...base, topEntropyQuantile: 1, backward: 'dense' } },
    { id: 'b', label: `${top}, masked dense backward`, rl: { ...base, topEntropyQuantile: rho, backward: 'dense' } },
    { id: 'c', label: `${top}, exact sparse backward`, rl: { ...base, topEntropyQuantile: rho, backward: 'exact' } },
    // The cosine to the exact gradient costs one more backward per step, booked as 'diagnostic'
    // (outside the arm's training FLOPs and time).
    { id: 'd', label: `${top}, fork-only backward`, rl: { ...base, topEntropyQuantile: rho, backward: 'forkOnly', logGradCosine: true } },
    { id: 'e', label: `${bottom} only`, rl: { ...base, topEntropyQuantile: rho, selection: 'bottom', backward: 'exact' } },
    { id: 'f', label: 'all tokens + entropy-shaped advantage', rl: { ...base, topEntropyQuantile: 1, backward: 'dense', entropyShaping: true } },
    { id: 'g', label: `${top} + entropy-shaped advantage`, rl: { ...base, topEntropyQuantile: rho, backward: 'exact', entropyShaping: true } },
  ];
}
