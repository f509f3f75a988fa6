export type EscalationSource = 'agent' | 'policy';
export type EscalationStatus = 'open' | 'resolved';

export interface Escalation {
  id: string;
  project_id: string;
  task_id: string;
  message: string;
  source: EscalationSource;
  raised_by: string | null;
  status: EscalationStatus;
  resolution: string | null;
  created_at: string;
  resolved_at: string | null;
}

/** An agent as the orchestrator sees it. */
export interface AgentView {
  agent_id: string;
  first_seen: string;
  last_seen: string;
  claims: string[];
  status: 'active' | 'idle' | 'gone';
}
