const TEAMS = ['Gaul', 'Rome'] as const;
const MEDALS = ['gold', 'silver', 'bronze'] as const;

/** One increment of a crash test; its team and medal follow from its id, so the parent can retry it. */
export interface CrashWrite {
  operationId: string;
  team: string;
  medal: string;
}

/** The write whose operation id is `<prefix>-<n>`. */
export function crashWriteOf(operationId: string): CrashWrite {
  const n = Number(operationId.slice(operationId.lastIndexOf('-') + 1));
  return { operationId, team: TEAMS[n % TEAMS.length], medal: MEDALS[n % MEDALS.length] };
}
