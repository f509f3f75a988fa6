import { createRequire } from 'node:module';
import type { Environment } from '@marcbachmann/cel-js';

/**
 * Workflow conditions (`when`, `for_each`, `loop.until`) are CEL expressions
 * (the Common Expression Language, evaluated by @marcbachmann/cel-js): no
 * JavaScript, no `eval`, no calls but CEL's own functions and macros, map
 * access by key only (`x.constructor`, `x.__proto__` are "no such key").
 */

/** The variables an expression may name; anything else is refused when the workflow loads. */
export const CONDITION_VARIABLES = ['inputs', 'outputs', 'output', 'item', 'index', 'round'] as const;
export type ConditionVariable = (typeof CONDITION_VARIABLES)[number];

const MAX_EXPRESSION_CHARS = 2000;

let env: Environment | undefined;

/**
 * The CEL environment, made on first use: loading the library (~50 ms) would
 * otherwise sit on the embedded daemon's start, though most projects never
 * evaluate a condition. `require` of an ES module: Node 20.19 and later.
 */
function celEnvironment(): Environment {
  env ??= new (createRequire(import.meta.url)('@marcbachmann/cel-js') as typeof import('@marcbachmann/cel-js')).Environment({
    unlistedVariablesAreDyn: false,
    limits: { maxAstNodes: 500, maxDepth: 32, maxListElements: 200, maxMapEntries: 200, maxCallArguments: 8 },
  })
    .registerVariable('inputs', 'map')
    .registerVariable('outputs', 'map')
    .registerVariable('output', 'map')
    .registerVariable('item', 'dyn')
    .registerVariable('index', 'int')
    .registerVariable('round', 'int');
  return env;
}

export interface CompiledCondition {
  source: string;
  /** The variables it names (e.g. `outputs`: it can only be decided at run time). */
  uses: Set<ConditionVariable>;
  /** The steps whose outputs it reads (`outputs.review...`), or null when it reads `outputs` some other way (`outputs[x]`). */
  outputSteps: string[] | null;
  evaluate(scope: Partial<Record<ConditionVariable, unknown>>): unknown;
}

/** Thrown when an expression does not parse or names what it may not: the message says why. */
export class ConditionError extends Error {}

function identifiers(ast: unknown, into: Set<string>): void {
  // Only through `args`: the nodes also point at their source positions.
  const stack: unknown[] = [ast];
  const seen = new Set<unknown>();
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object' || seen.has(node)) continue;
    seen.add(node);
    if (Array.isArray(node)) {
      stack.push(...node);
      continue;
    }
    const n = node as { op?: unknown; args?: unknown };
    if (n.op === 'id' && typeof n.args === 'string') into.add(n.args);
    else if (n.op !== 'value') stack.push(n.args);
  }
}

export function compileCondition(source: string): CompiledCondition {
  if (source.length > MAX_EXPRESSION_CHARS) throw new ConditionError(`the expression is ${source.length} characters; at most ${MAX_EXPRESSION_CHARS}`);
  if (/__proto__|\bconstructor\b|\bprototype\b/.test(source)) throw new ConditionError('the expression names __proto__, constructor or prototype: property tricks are refused');
  let parsed: ReturnType<Environment['parse']>;
  try {
    parsed = celEnvironment().parse(source);
  } catch (e) {
    throw new ConditionError(`the expression does not parse: ${firstLine(e)}`);
  }
  const check = parsed.check();
  if (!check.valid) throw new ConditionError(`the expression is not valid: ${firstLine(check.error)}`);
  const ids = new Set<string>();
  identifiers(parsed.ast, ids);
  const outputSteps = stepsRead(parsed.ast);
  const uses = new Set<ConditionVariable>();
  for (const id of ids) if ((CONDITION_VARIABLES as readonly string[]).includes(id)) uses.add(id as ConditionVariable);
  return {
    source,
    uses,
    outputSteps,
    evaluate(scope) {
      const ctx: Record<string, unknown> = { inputs: {}, outputs: {}, output: {}, item: null, index: 0n, round: 0n };
      for (const [k, v] of Object.entries(scope)) ctx[k] = toCel(v);
      try {
        return fromCel(parsed(ctx));
      } catch (e) {
        throw new ConditionError(firstLine(e));
      }
    },
  };
}

/** `outputs.X` and `outputs["X"]` name step X; any other use of `outputs` (a variable key, `outputs` alone) makes the answer null. */
function stepsRead(ast: unknown): string[] | null {
  const steps = new Set<string>();
  let opaque = false;
  const visit = (node: unknown, parentReads: boolean): void => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const n of node) visit(n, false);
      return;
    }
    const n = node as { op?: unknown; args?: unknown };
    if (n.op === 'id' && n.args === 'outputs' && !parentReads) opaque = true;
    if ((n.op === '.' || n.op === '[]') && Array.isArray(n.args)) {
      const [target, key] = n.args as [unknown, unknown];
      const isOutputs = (target as { op?: unknown; args?: unknown })?.op === 'id' && (target as { args?: unknown }).args === 'outputs';
      if (isOutputs) {
        const name = n.op === '.' ? key : (key as { op?: unknown; args?: unknown })?.op === 'value' ? (key as { args?: unknown }).args : undefined;
        if (typeof name === 'string') steps.add(name);
        else opaque = true;
        if (n.op === '[]') visit(key, false);
        return;
      }
    }
    if (n.op !== 'value') visit(n.args, false);
  };
  visit(ast, false);
  return opaque ? null : [...steps];
}

const firstLine = (e: unknown): string => String((e as Error)?.message ?? e).split('\n')[0]!;

/** JSON into CEL values: whole numbers become ints (CEL compares int and double, but `size(x) == 2` wants ints). */
function toCel(v: unknown): unknown {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(toCel);
  if (v !== null && typeof v === 'object') {
    const out = new Map<string, unknown>();
    for (const [k, x] of Object.entries(v)) out.set(k, toCel(x));
    return Object.fromEntries(out);
  }
  return v;
}

/** CEL values back into JSON. */
function fromCel(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(fromCel);
  if (v instanceof Map) return Object.fromEntries([...v.entries()].map(([k, x]) => [String(k), fromCel(x)]));
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromCel(x)]));
  return v;
}
