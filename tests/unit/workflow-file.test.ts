/**
 * The workflow file parser on its own: a valid file loads; every bad input
 * is one problem naming the file, the right line and (for a step) the step.
 */
import { describe, expect, it } from 'vitest';
import { workflowSkeleton } from '../../src/app/workflows/workflow-skeleton.js';
import { MAX_WORKFLOW_FILE_BYTES, parseWorkflowFile, type ParsedWorkflow } from '../../src/app/workflows/workflow-file.js';

const FILE = '/p/.loom/workflows/demo.yaml';
const parse = (text: string, size?: number): ParsedWorkflow => parseWorkflowFile({ path: FILE, text, source: 'project', ...(size === undefined ? {} : { size }) });

/** Lines 1-10: the head (name .. inputs); line 11 `steps:`; the steps from line 12. */
const HEAD = `name: demo
description: A demo workflow
version: 1.0.0
inputs:
  modules:
    type: list
    required: true
  flag:
    type: boolean
    default: false
`;
const withSteps = (steps: string, head = HEAD): string => `${head}steps:\n${steps}`;

const VALID = withSteps(`  - id: plan
    title: "Plan {{ inputs.modules | size }} modules"
    skill: write_spec
    priority: p0
    context:
      modules: "{{ inputs.modules | join: ', ' }}"
      notes: plain text
  - id: impl
    for_each: inputs.modules
    title: "Change {{ item }} ({{ index }})"
    depends_on: [plan]
    max_attempts: 3
  - id: review
    title: Review
    depends_on: [impl]
    when: "inputs.flag"
    done_when: "approved"
    loop:
      until: "has(output.approved) && output.approved == true"
      max_rounds: 3
      repeat: [impl]
  - id: checks
    uses: lint_and_test
    with: { target: "{{ inputs.modules | first }}" }
    depends_on: [review]
`);

describe('parseWorkflowFile', () => {
  it('loads a valid file: inputs, steps, conditions and templates', () => {
    const r = parse(VALID);
    if (!r.ok) throw new Error(`${r.problem.line}: ${r.problem.reason}`);
    const w = r.workflow;
    expect(w).toMatchObject({ name: 'demo', description: 'A demo workflow', version: '1.0.0', source: 'project', path: FILE });
    expect(w.inputs).toEqual([
      { name: 'modules', type: 'list', required: true },
      { name: 'flag', type: 'boolean', required: false, default: false },
    ]);
    expect(w.steps.map((s) => [s.id, s.line, s.depends_on])).toEqual([
      ['plan', 12, []],
      ['impl', 19, ['plan']],
      ['review', 24, ['impl']],
      ['checks', 33, ['review']],
    ]);
    expect(w.steps[1]!.for_each?.source).toBe('inputs.modules');
    expect(w.steps[2]!.when?.evaluate({ inputs: { flag: true } })).toBe(true);
    expect(w.steps[2]!.loop).toMatchObject({ max_rounds: 3, repeat: ['impl'] });
    expect(w.steps[3]).toMatchObject({ uses: 'lint_and_test' });
    expect(w.content_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('loads with the namespace of a plugin', () => {
    const r = parse(VALID);
    expect(r.ok).toBe(true);
    const namespaced = parseWorkflowFile({ path: FILE, text: VALID, source: 'plugin' }, 'acme');
    expect(namespaced.ok && namespaced.workflow.name).toBe('acme/demo');
  });

  it('the skeleton of loom workflow new loads', () => {
    const r = parseWorkflowFile({ path: FILE, text: workflowSkeleton('release_train'), source: 'project' });
    if (!r.ok) throw new Error(`${r.problem.line}: ${r.problem.reason}`);
    expect(r.workflow.name).toBe('release_train');
    expect(r.workflow.steps.map((s) => s.id)).toEqual(['plan', 'build', 'review']);
  });

  const step = (id: string, extra = '', title = 'T'): string => `  - id: ${id}\n    title: "${title}"\n${extra}`;

  const cases: Array<[string, string | (() => ParsedWorkflow), number, RegExp]> = [
    ['malformed YAML', `name: demo\ndescription: d\nversion: 1.0.0\nsteps:\n  - id: a\n\ttitle: x\n`, 6, /^not valid YAML: .*tab/],
    ['malformed YAML (an unclosed flow list)', `name: demo\ndescription: d\nversion: 1.0.0\nsteps: [\n  { id: a, title: x }\n`, 6, /^not valid YAML/],
    ['not a mapping', `- just\n- a list\n`, 1, /a workflow is a YAML mapping/],
    ['a missing name', withSteps(step('a'), HEAD.replace('name: demo\n', '')), 1, /missing required field "name"/],
    ['an unknown top-level field', withSteps(step('a'), HEAD.replace('version: 1.0.0\n', 'version: 1.0.0\ncolour: red\n')), 4, /unknown field "colour"/],
    ['an unknown step field', withSteps(step('a') + step('b', '    colour: red\n')), 16, /step b\).*unknown field "colour"/],
    ['a step id with a dash', withSteps(step('a') + step('my-step')), 14, /step my-step\).*no dashes/],
    ['an unknown step in depends_on', withSteps(step('a') + step('b', '    depends_on: [a, nope]\n')), 16, /^step b: depends_on names nope, which is no step/],
    ['a step depending on itself', withSteps(step('a', '    depends_on: [a]\n')), 14, /^step a: a step cannot depend on itself/],
    ['a cycle among steps (a -> b -> a)', withSteps(step('a', '    depends_on: [b]\n') + step('b', '    depends_on: [a]\n')), 12, /dependency cycle a -> b -> a/],
    ['duplicate step ids', withSteps(step('a') + step('b') + step('a')), 16, /the step id a is used twice/],
    ['a template naming an unknown variable', withSteps(step('a') + step('b', '', 'Do {{ foo }}')), 15, /^step b\.title: the template uses "foo"/],
    ['{{ item }} outside a for_each step', withSteps(step('a', '', 'Do {{ item }}')), 13, /^step a\.title: the template uses "item"/],
    ['an unknown variable in a context template', withSteps(step('a', '    context:\n      x: "{{ task.id }}"\n')), 14, /^step a\.context\.x: the template uses "task"/],
    ['a template with {% include %}', withSteps(step('a', '', "{% include 'other' %}")), 13, /^step a\.title: a workflow template cannot include files/],
    ['a template that does not parse', withSteps(step('a', '', 'Do {{ inputs.flag ')), 13, /^step a\.title: the template does not parse/],
    ['a condition that does not parse', withSteps(step('a', '    when: "inputs.flag &&"\n')), 14, /^step a\.when: the expression does not parse/],
    ['a condition reaching inputs.x.constructor', withSteps(step('a', '    when: "inputs.x.constructor"\n')), 14, /^step a\.when: .*property tricks are refused/],
    ['a condition reaching inputs.__proto__', withSteps(step('a', '    when: "inputs.__proto__ == null"\n')), 14, /^step a\.when: .*property tricks are refused/],
    ['a condition reaching inputs["constructor"]', withSteps(step('a', `    when: 'inputs["constructor"]'\n`)), 14, /^step a\.when: .*property tricks are refused/],
    ['a condition calling an unknown function', withSteps(step('a', '    when: "foo()"\n')), 14, /^step a\.when: the expression is not valid: .*foo/],
    ['a condition naming an unknown variable', withSteps(step('a', '    when: "task.done"\n')), 14, /^step a\.when: .*task/],
    ['a for_each naming item', withSteps(step('a', '    for_each: "item"\n')), 14, /^step a\.for_each: "item" cannot be used here/],
    ['uses combined with for_each', withSteps(step('a') + '  - id: b\n    uses: other\n    for_each: inputs.modules\n'), 16, /^step b: a step with uses includes another workflow; "for_each" belongs/],
    ['with without uses', withSteps(step('a', '    with: { x: 1 }\n')), 14, /^step a: "with" gives the inputs of a used workflow: it needs uses/],
    ['a step with neither title nor uses', withSteps('  - id: a\n    skill: write_spec\n'), 12, /^step a: missing required field "title"/],
    ['loop.repeat naming an unknown step', withSteps(step('a') + step('b', '    loop:\n      until: "output.ok == true"\n      max_rounds: 2\n      repeat: [nope]\n')), 16, /^step b: loop\.repeat names nope/],
    ['an input default of the wrong type', withSteps(step('a'), HEAD.replace('default: false', 'default: "no"')), 8, /^inputs\.flag: the default is not a boolean/],
    ['an enum value of the wrong type', withSteps(step('a'), HEAD.replace('    type: list\n    required: true\n', '    type: list\n    enum: [1]\n')), 5, /^inputs\.modules: every enum value must be a list/],
    ['an unknown input type', withSteps(step('a'), HEAD.replace('type: boolean', 'type: date')), 9, /inputs\.flag.*must be one of string, number, boolean, list/],
    ['an unknown field of an input', withSteps(step('a'), HEAD.replace('    default: false\n', '    default: false\n    colour: red\n')), 8, /inputs\.flag.*unknown field "colour"/],
    ['an input name with a dash', withSteps(step('a'), HEAD.replace('  flag:', '  my-flag:')), 8, /^inputs: the name "my-flag" must match/],
    ['a name under with with a dash', withSteps(step('a') + '  - id: b\n    uses: other\n    with: { my-x: 1 }\n'), 16, /^steps\.1\.with \(step b\): the name "my-x" must match/],
    ['a bad version', withSteps(step('a'), HEAD.replace('1.0.0', 'one')), 3, /version/],
    ['a file over 256 KiB', () => parse(withSteps(step('a')), MAX_WORKFLOW_FILE_BYTES + 1), 1, /at most 262144/],
    ['a long text over 256 KiB', withSteps(step('a')) + `# ${'x'.repeat(MAX_WORKFLOW_FILE_BYTES)}\n`, 1, /at most 262144/],
    ['a NUL byte', withSteps(step('a', '', 'a\u0000b')), 1, /NUL character/],
  ];

  it.each(cases)('%s: a problem at the right line, naming what is wrong', (_name, input, line, reason) => {
    const r = typeof input === 'function' ? input() : parse(input);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problem.file).toBe(FILE);
    expect(r.problem.reason).toMatch(reason);
    expect(r.problem.line).toBe(line);
  });
});
