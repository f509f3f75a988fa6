/** A message between agents: direct (`to` an agent id) or broadcast (`to` = '*'), optionally threaded. */
export interface Message {
  id: number;
  project_id: string;
  from_agent: string;
  to_agent: string;
  thread_id: string | null;
  body: string;
  created_at: string;
}

export const BROADCAST = '*';
