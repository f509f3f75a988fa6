/**
 * expandWorkflow on its own, with a lookup over parsed files: inputs read
 * by type, `when` decided, `for_each` fanned out (and its limit), `uses`
 * included with prefixed keys (and its recursion refused), every refusal a
 * coded error naming the workflow and the step.
 */
import { describe, expect, it } from 'vitest';
import { expandWorkflow, type ExpandedRun } from '../../src/app/workflows/expand.js';
import { MAX_FAN_OUT, parseWorkflowFile, type Workflow } from '../../src/app/workflows/workflow-file.js';
import { LoomError } from '../../src/domain/errors.js';

function wf(text: string): Workflow {
  const name = /^name: (\S+)/m.exec(text)?.[1] ?? 'x';
  const r = parseWorkflowFile({ path: `/p/.loom/workflows/${name}.yaml`, text, source: 'project' });
  if (!r.ok) throw new Error(`${r.problem.line}: ${r.problem.reason}`);
  return r.workflow;
}

const FAN = wf(`name: fan
description: Plan, one task per module, then check
version: 1.0.0
inputs:
  modules: { type: list, required: true }
  change: { type: string, default: tidy }
  review: { type: boolean, default: true }
steps:
  - id: plan
    title: "Plan {{ inputs.change }}"
  - id: impl
    for_each: inputs.modules
    title: "{{ inputs.change }}: {{ item }} ({{ index }})"
    context: { module: "{{ item }}" }
    depends_on: [plan]
  - id: check
    title: Check
    depends_on: [impl]
    when: inputs.review
  - id: ship
    title: Ship
    depends_on: [check]
`);

const TYPED = wf(`name: typed
description: Every input type
version: 1.0.0
inputs:
  count: { type: number, required: true }
  flag: { type: boolean, required: true }
  items: { type: list, required: true }
  label: { type: string, required: false }
  colour: { type: string, default: red, enum: [red, green] }
steps:
  - id: one
    title: "{{ inputs.count }} {{ inputs.flag }} {{ inputs.items | join: '+' }}"
`);

const LINT = wf(`name: lint_and_test
description: Lint, then test
version: 1.0.0
inputs:
  target: { type: string, required: true }
  rounds: { type: number, default: 1 }
steps:
  - id: lint
    title: "Lint {{ inputs.target }} x{{ inputs.rounds }}"
  - id: test
    title: "Test {{ inputs.target }}"
    depends_on: [lint]
`);

const RELEASE = wf(`name: release
description: Build, checks from another workflow, publish
version: 1.0.0
inputs:
  version: { type: string, required: true }
steps:
  - id: build
    title: "Build {{ inputs.version }}"
  - id: checks
    uses: lint_and_test
    with: { target: "release {{ inputs.version }}", rounds: "2" }
    depends_on: [build]
  - id: publish
    title: "Publish {{ inputs.version }}"
    depends_on: [checks]
`);

const LOOP_A = wf(`name: loop_a
description: Uses loop_b
version: 1.0.0
steps:
  - id: inner
    uses: loop_b
`);
const LOOP_B = wf(`name: loop_b
description: Uses loop_a
version: 1.0.0
steps:
  - id: back
    uses: loop_a
`);

const ALL = new Map([FAN, TYPED, LINT, RELEASE, LOOP_A, LOOP_B].map((w) => [w.name, w]));
const lookup = async (name: string): Promise<Workflow> => {
  const w = ALL.get(name);
  if (w === undefined) throw new LoomError('WORKFLOW_NOT_FOUND', `no workflow named ${name}`);
  return w;
};
const expand = (w: Workflow, inputs: Record<string, unknown>): Promise<ExpandedRun> => expandWorkflow(w, inputs, lookup);
const deps = (run: ExpandedRun): Record<string, string[]> => Object.fromEntries(run.plan.tasks.map((t) => [t.key, t.depends_on]));

describe('expandWorkflow', () => {
  it('for_each over a list input: one task per item (impl-1..), and the step after waits for all of them', async () => {
    const run = await expand(FAN, { modules: ['api', 'cli', 'db'] });
    expect(run.plan.tasks.map((t) => t.key)).toEqual(['plan', 'impl-1', 'impl-2', 'impl-3', 'check', 'ship']);
    expect(deps(run)).toEqual({ plan: [], 'impl-1': ['plan'], 'impl-2': ['plan'], 'impl-3': ['plan'], check: ['impl-1', 'impl-2', 'impl-3'], ship: ['check'] });
    const second = run.plan.tasks[2]!;
    expect(second.title).toBe('tidy: cli (1)');
    expect(second.context).toMatchObject({ module: 'cli', item: 'cli', workflow: 'fan', step: 'impl' });
    expect(run.steps).toEqual({ plan: ['plan'], impl: ['impl-1', 'impl-2', 'impl-3'], check: ['check'], ship: ['ship'] });
    expect(run.skipped).toEqual([]);
  });

  it('an empty list skips the step; its dependents wait for what it waited for', async () => {
    const run = await expand(FAN, { modules: [] });
    expect(run.plan.tasks.map((t) => t.key)).toEqual(['plan', 'check', 'ship']);
    expect(deps(run).check).toEqual(['plan']);
    expect(run.skipped).toEqual([{ step: 'impl', reason: 'for_each inputs.modules is empty' }]);
    expect(run.steps.impl).toEqual([]);
  });

  it('when false leaves the step out and its dependents wait for what it waited for; when true keeps it', async () => {
    const off = await expand(FAN, { modules: ['a', 'b'], review: 'false' });
    expect(off.plan.tasks.map((t) => t.key)).toEqual(['plan', 'impl-1', 'impl-2', 'ship']);
    expect(deps(off).ship).toEqual(['impl-1', 'impl-2']);
    expect(off.skipped).toEqual([{ step: 'check', reason: 'when inputs.review is false' }]);
    const on = await expand(FAN, { modules: ['a'], review: true });
    expect(on.plan.tasks.map((t) => t.key)).toContain('check');
    expect(on.skipped).toEqual([]);
  });

  it('a when that gives no boolean is a coded error naming the step, not a silent skip', async () => {
    const text = wf(`name: text_when
description: d
version: 1.0.0
inputs:
  label: { type: string, default: yes }
steps:
  - id: maybe
    title: Maybe
    when: inputs.label
`);
    await expect(expand(text, {})).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/text_when, step maybe .*its when \(inputs\.label\) gives a string, not true or false/) });
  });

  it('a skipped step first in line: its dependents wait for nothing', async () => {
    const first = wf(`name: first
description: d
version: 1.0.0
inputs:
  go: { type: boolean, default: false }
steps:
  - id: maybe
    title: Maybe
    when: inputs.go
  - id: then
    title: Then
    depends_on: [maybe]
`);
    const run = await expand(first, {});
    expect(deps(run)).toEqual({ then: [] });
  });

  it('uses includes another workflow with its with inputs: keys prefixed, wired between its neighbours', async () => {
    const run = await expand(RELEASE, { version: '1.2.0' });
    expect(run.plan.tasks.map((t) => [t.key, t.title])).toEqual([
      ['build', 'Build 1.2.0'],
      ['checks-lint', 'Lint release 1.2.0 x2'],
      ['checks-test', 'Test release 1.2.0'],
      ['publish', 'Publish 1.2.0'],
    ]);
    expect(deps(run)).toEqual({ build: [], 'checks-lint': ['build'], 'checks-test': ['checks-lint'], publish: ['checks-test'] });
    expect(run.steps).toMatchObject({ checks: ['checks-lint', 'checks-test'], 'checks/lint': ['checks-lint'], 'checks/test': ['checks-test'] });
    expect(run.plan.tasks[1]!.context).toMatchObject({ workflow: 'lint_and_test', step: 'checks/lint' });
  });

  it('uses recursion (loop_a -> loop_b -> loop_a) is a coded error naming the chain', async () => {
    await expect(expand(LOOP_A, {})).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('uses recurses: loop_a -> loop_b -> loop_a'),
      details: expect.objectContaining({ workflow: 'loop_b', step: 'back' }),
    });
  });

  it('uses of an unknown workflow, or with inputs it does not take, name the step', async () => {
    const missing = wf(`name: missing\ndescription: d\nversion: 1.0.0\nsteps:\n  - id: sub\n    uses: nope\n`);
    await expect(expand(missing, {})).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/missing, step sub .*uses nope: no workflow named nope/) });
    const extra = wf(`name: extra\ndescription: d\nversion: 1.0.0\nsteps:\n  - id: sub\n    uses: lint_and_test\n    with: { target: x, colour: red }\n`);
    await expect(expand(extra, {})).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/step sub .*uses lint_and_test: .*no input "colour"/) });
    const none = wf(`name: none\ndescription: d\nversion: 1.0.0\nsteps:\n  - id: sub\n    uses: lint_and_test\n`);
    await expect(expand(none, {})).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/step sub .*input "target" is required/) });
  });

  it('text inputs are read by their type', async () => {
    const cases: Array<[Record<string, unknown>, Record<string, unknown>]> = [
      [{ count: '3', flag: 'false', items: 'a,b' }, { count: 3, flag: false, items: ['a', 'b'] }],
      [{ count: ' 2.5 ', flag: 'true', items: '["a"]' }, { count: 2.5, flag: true, items: ['a'] }],
      [{ count: '-1', flag: 'false', items: ' a , b ,c' }, { count: -1, flag: false, items: ['a', 'b', 'c'] }],
      [{ count: '0', flag: 'false', items: '' }, { count: 0, flag: false, items: [] }],
      [{ count: 7, flag: true, items: ['x', 1] }, { count: 7, flag: true, items: ['x', 1] }],
      [{ count: '1', flag: 'true', items: '[not json' }, { count: 1, flag: true, items: ['[not json'] }],
      // A JSON object is no list: read as comma-separated text.
      [{ count: '1', flag: 'true', items: '{"a":1}' }, { count: 1, flag: true, items: ['{"a":1}'] }],
      [{ count: '1', flag: 'true', items: 'a', label: '42' }, { count: 1, flag: true, items: ['a'], label: '42' }],
    ];
    for (const [given, expected] of cases) {
      const run = await expand(TYPED, given);
      expect(run.inputs, JSON.stringify(given)).toEqual({ colour: 'red', ...expected });
    }
    expect((await expand(TYPED, { count: '3', flag: 'false', items: 'a,b' })).plan.tasks[0]!.title).toBe('3 false a+b');
  });

  it('refuses missing, extra and wrongly typed inputs with coded errors naming them', async () => {
    const ok = { count: 1, flag: true, items: ['a'] };
    const cases: Array<[Record<string, unknown>, RegExp, string]> = [
      [{ flag: true, items: ['a'] }, /the input "count" is required/, 'count'],
      [{ ...ok, colour2: 'x' }, /has no input "colour2"/, 'colour2'],
      [{ ...ok, count: 'three' }, /the input "count" must be a number, got a string/, 'count'],
      [{ ...ok, count: '' }, /the input "count" must be a number/, 'count'],
      [{ ...ok, flag: 'yes' }, /the input "flag" must be a boolean, got a string/, 'flag'],
      [{ ...ok, flag: 1 }, /the input "flag" must be a boolean, got a number/, 'flag'],
      [{ ...ok, items: 3 }, /the input "items" must be a list, got a number/, 'items'],
      [{ ...ok, label: 42 }, /the input "label" must be a string, got a number/, 'label'],
      [{ ...ok, colour: 'blue' }, /the input "colour" must be one of "red", "green"/, 'colour'],
    ];
    for (const [given, message, input] of cases) {
      await expect(expand(TYPED, given), JSON.stringify(given)).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        message: expect.stringMatching(message),
        details: expect.objectContaining({ workflow: 'typed', input }),
      });
    }
  });

  it('for_each over something that is not a list is a coded error naming the step', async () => {
    const bad = wf(`name: bad_fan
description: d
version: 1.0.0
inputs:
  change: { type: string, required: true }
steps:
  - id: impl
    for_each: inputs.change
    title: "{{ item }}"
`);
    await expect(expand(bad, { change: 'x' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringMatching(/^bad_fan, step impl \(\/p\/\.loom\/workflows\/bad_fan\.yaml:7\): for_each inputs\.change gives a string, not a list/),
      details: expect.objectContaining({ step: 'impl', line: 7 }),
    });
  });

  it(`fans out to at most ${MAX_FAN_OUT} tasks per step`, async () => {
    const at = await expand(FAN, { modules: Array.from({ length: MAX_FAN_OUT }, (_, i) => `m${i}`), review: false });
    expect(at.steps.impl).toHaveLength(MAX_FAN_OUT);
    await expect(expand(FAN, { modules: Array.from({ length: MAX_FAN_OUT + 1 }, (_, i) => `m${i}`) })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringMatching(/step impl .*1001 items; one step fans out to at most 1000/),
      details: expect.objectContaining({ items: MAX_FAN_OUT + 1, limit: MAX_FAN_OUT }),
    });
  });
});
