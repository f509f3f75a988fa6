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
