import { LifecycleError } from '../contracts';
import type { EventScore, MedalTally, TallyStore, TallyStoreOptions } from '../contracts';
import { OperationLedger } from './operation-ledger';
import { TallyCatalog, operationFingerprint } from './tally-catalog';
import type { TallyOperation } from './tally-catalog';
import { TallyState, copyResult } from './tally-state';
import type { TallyResult } from './tally-state';

/**
 * Options of {@link MemoryTallyStore}. `idempotencyRetention` defaults to
 * 100,000 operation ids.
 */
export type MemoryTallyStoreOptions = TallyStoreOptions;

/**
 * A {@link TallyStore} in memory: fast, and gone with the process. For tests,
 * simulations and demos. Its data survives `stop()` and a later `start()` of
 * the same instance.
 */
export class MemoryTallyStore implements TallyStore {
  private readonly catalog: TallyCatalog;
  private readonly state: TallyState;
  private readonly ledger: OperationLedger;
  private running = false;
  private seq = 0;

  constructor(options: MemoryTallyStoreOptions = {}) {
    this.catalog = new TallyCatalog(options);
    this.state = new TallyState(this.catalog.teams);
    this.ledger = new OperationLedger(options.idempotencyRetention);
  }

  async start(): Promise<void> {
    this.running = true;
  }

  async stop(): Promise<void> {
    this.running = false;
  }

  teams(): readonly string[] {
    return this.catalog.teams;
  }

  events(): readonly string[] {
    return this.catalog.events;
  }

  async incrementMedal(team: string, medal: string, operationId: string): Promise<MedalTally> {
    this.assertRunning();
    return this.write(this.catalog.medalOperation(team, medal, operationId)) as MedalTally;
  }

  async getMedalTally(team: string): Promise<MedalTally> {
    return this.medalTallyNow(team);
  }

  medalTallyNow(team: string): MedalTally {
    this.assertRunning();
    return this.state.medalTally(this.catalog.team(team));
  }

  async listMedalTallies(): Promise<MedalTally[]> {
    this.assertRunning();
    return this.catalog.teams.map((team) => this.state.medalTally(team));
  }

  async setScore(
    event: string,
    scores: Readonly<Record<string, number>>,
    operationId: string,
  ): Promise<EventScore> {
    this.assertRunning();
    return this.write(this.catalog.scoreOperation(event, scores, operationId)) as EventScore;
  }

  async getScore(event: string): Promise<EventScore> {
    return this.scoreNow(event);
  }

  scoreNow(event: string): EventScore {
    this.assertRunning();
    return this.state.eventScore(this.catalog.event(event));
  }

  async listScores(): Promise<EventScore[]> {
    this.assertRunning();
    return this.catalog.events.map((event) => this.state.eventScore(event));
  }

  // The fingerprint check makes the result's kind match the operation's, hence the callers' casts.
  private write(operation: TallyOperation): TallyResult {
    const fingerprint = operationFingerprint(operation);
    const known = this.ledger.find(operation.operationId, fingerprint);
    if (known !== undefined) return copyResult(known.result);
    const result = this.state.apply(operation);
    this.ledger.remember(operation.operationId, { fingerprint, result, seq: ++this.seq });
    return copyResult(result);
  }

  private assertRunning(): void {
    if (!this.running) throw new LifecycleError('MemoryTallyStore is not started');
  }
}
