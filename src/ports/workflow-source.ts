import type { ServiceIdentifier } from 'inversify';
import type { SkillFile, SkillSource } from './skill-source.js';

/**
 * Where workflows come from: the same kinds of sources as skills (builtin,
 * plugins, ~/.loom/workflows/, the project's .loom/workflows/), listing YAML
 * files. A multi-binding, so the plugin loader adds sources later.
 */
export type WorkflowFile = SkillFile;
export type WorkflowSource = SkillSource;
export const WorkflowSource: ServiceIdentifier<WorkflowSource> = Symbol.for('loom.WorkflowSource');
