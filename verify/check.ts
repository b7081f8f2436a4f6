// Verifier CLI: `npx tsx verify/check.ts < in.jsonl > out.jsonl`
//
// Each input line is a JSON object {"task", "problem", "answer", "options"?}:
//   problem  either a problem object as the generators make it, or just its prompt string
//            ("123+456=", "3,7,12,5;24="). The prompt is the source of truth either way; the only
//            other field read is meta.reverse (answer written least-significant digit first).
//   task     may be left out when problem is an object carrying its task.
//   answer   the model's text after the prompt; anything from "<eos>" on is ignored.
//   options  optional {"formatReward": number, "reverse": boolean} (reverse overrides meta.reverse).
// Each line gets exactly one output line {"correct", "reward", "reason"}, in order. Malformed lines
// (blank, not JSON, missing fields) get correct:false with a "bad-input: …" reason; the exit code is 0.
// This is the package's only Node-specific file.
import { createInterface } from 'node:readline';
import { type TaskName, type VerifyResult, fail } from './common.js';
import { TASK_NAMES, parseProblem, verify } from './tasks.js';

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

function checkLine(line: string): VerifyResult {
  if (line.trim() === '') return fail('bad-input: empty line');
  let input: any;
  try {
    input = JSON.parse(line);
  } catch (err) {
    return fail(`bad-input: not JSON (${message(err)})`);
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return fail('bad-input: not a JSON object');

  const { problem, answer } = input;
  const options = input.options && typeof input.options === 'object' ? input.options : {};
  const isObject = problem !== null && typeof problem === 'object' && !Array.isArray(problem);
  const task = input.task ?? (isObject ? problem.task : undefined);
  if (!TASK_NAMES.includes(task)) return fail(`bad-input: task must be one of ${TASK_NAMES.join(', ')}, got ${JSON.stringify(task)}`);
  if (isObject && problem.task !== undefined && problem.task !== task) {
    return fail(`bad-input: task ${JSON.stringify(task)} differs from problem.task ${JSON.stringify(problem.task)}`);
  }
  const prompt = isObject ? problem.prompt : problem;
  if (typeof prompt !== 'string') return fail('bad-input: problem must be a problem object with a prompt, or a prompt string');
  if (typeof answer !== 'string') return fail('bad-input: answer must be a string');
  const reverse = typeof options.reverse === 'boolean' ? options.reverse : isObject && problem.meta?.reverse === true;
  const formatReward = typeof options.formatReward === 'number' ? options.formatReward : undefined;

  try {
    return verify(parseProblem(task as TaskName, prompt, { reverse }), answer, { formatReward });
  } catch (err) {
    return fail(`bad-input: ${message(err)}`);
  }
}

async function main(): Promise<void> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    let r: VerifyResult;
    try {
      r = checkLine(line);
    } catch (err) {
      r = fail(`bad-input: ${message(err)}`);
    }
    process.stdout.write(JSON.stringify({ correct: r.correct, reward: r.reward, reason: r.reason }) + '\n');
  }
}

await main();
