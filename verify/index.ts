// The verify package's public surface. Browser-safe: nothing here imports node: modules (check.ts,
// the CLI, is the only file that does, and it is not re-exported).
export * from './tokenizer.js';
export * from './common.js';
export * from './expr.js';
export * from './arithmetic.js';
export * from './countdown.js';
export * from './steps.js';
export * from './tasks.js';
