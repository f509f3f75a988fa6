import { join } from 'node:path';
import { LoomError } from '../../domain/errors.js';
import { SKILL_NAME_PATTERN } from '../skills/skill-file.js';
import { parseWorkflowFile } from './workflow-file.js';
import { projectWorkflowsDir } from './workflow-registry.js';
import { writeNewFile } from '../catalog/new-file.js';

/** A small, valid, commented workflow: two steps, one input, one optional step. */
export function workflowSkeleton(name: string): string {
  return `# A workflow: a template of a task graph. \`loom workflow run ${name} --input goal="..."\`
# makes an epic with one task per step (use --dry-run first to see them).
# Templates ({{ ... }}) may name inputs, workflow, and in a for_each step item and index.
# Conditions (when, for_each) are CEL expressions over inputs.
name: ${name}
description: One line saying what this workflow is for (shown by loom workflow list)
version: 1.0.0
# The epic's title.
title: "${name}: {{ inputs.goal }}"
inputs:
  goal:
    type: string            # string, number, boolean or list
    description: What this run should achieve
    required: true
  with_review:
    type: boolean
    description: Add a review step at the end
    default: true
steps:
  - id: plan                # a step id: lower case, digits and _ (no dashes)
    title: "Plan: {{ inputs.goal }}"
    priority: p0            # p0 (most urgent), p1 (the default) or p2
    context:
      goal: "{{ inputs.goal }}"
      notes: Write down the approach; the next step reads your output.
    done_when: "The output describes the approach precisely enough to build from"

  - id: build
    title: "Build: {{ inputs.goal }}"
    depends_on: [plan]
    max_attempts: 3
    done_when: "The approach is implemented and the tests pass; the output lists the changed files"

  - id: review
    title: "Review: {{ inputs.goal }}"
    skill: review_output    # a skill the task's agent renders (loom skills list)
    depends_on: [build]
    when: "inputs.with_review"
    done_when: "A verdict {approved, findings} as JSON in the output"
`;
}

/** Writes a valid skeleton to .loom/workflows/NAME.yaml: a bad name or an existing file is refused. */
export function writeWorkflowSkeleton(projectDir: string, name: string): { path: string; name: string } {
  if (typeof name !== 'string' || !new RegExp(SKILL_NAME_PATTERN).test(name)) {
    throw new LoomError('VALIDATION_FAILED', `${JSON.stringify(String(name).slice(0, 80))} is not a workflow name`, {
      hint: 'a workflow name matches [a-z][a-z0-9_-]* (at most 64 characters): for example release_train',
      details: { name: String(name).slice(0, 200) },
    });
  }
  const path = join(projectWorkflowsDir(projectDir), `${name}.yaml`);
  const text = workflowSkeleton(name);
  writeNewFile(path, text, {
    check: () => {
      const r = parseWorkflowFile({ path, text, source: 'project' });
      return r.ok ? null : `${r.problem.line}: ${r.problem.reason}`;
    },
    showCommand: `loom workflow show ${name}`,
  });
  return { path, name };
}
