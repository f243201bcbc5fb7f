import type { RecoverReply } from '../../src/multicast/sequencer-messages';
import { TermSequencer } from '../../src/multicast/term-sequencer';

/** A fresh view led by `a`, with replicas a, b, c that all start empty. */
function freshSequencer(): TermSequencer {
  const replicas = ['a', 'b', 'c'];
  const empty = (): RecoverReply => ({
    delivered: 0,
    epoch: 0,
    incarnation: 1,
    vouches: true,
    stable: 0,
    senderSeqs: [],
    entries: [],
  });
  const answers = new Map(replicas.map((id) => [id, empty()]));
  return TermSequencer.fromRecovery(
    { term: 1, epoch: 1, leaderStart: 1, replicas, self: 'a' },
    answers,
  ).sequencer;
}

describe('TermSequencer retention', () => {
  it('keeps at most maxRetained entries for a replica that lags, which then skips ahead to what is kept', () => {
    const sequencer = freshSequencer();
    const maxRetained = 100;
    for (let sent = 1; sent <= 20_000; sent += 50) {
      const payloads = Array.from({ length: 50 }, (_, i) => ({ n: sent + i }));
      sequencer.submit('a', 1, sent, payloads, 1_000);
      sequencer.appended();
      // b keeps up; c is down and delivers nothing.
      sequencer.ack('b', sequencer.head, sequencer.head);
      sequencer.advanceStable(maxRetained);
      // Forgotten in chunks: never more than the retention and one chunk.
      expect(sequencer.entries().length).toBeLessThanOrEqual(maxRetained + 1_024);
    }
    expect(sequencer.head).toBe(20_000);
    expect(sequencer.commit).toBe(20_000);
    expect(sequencer.stable).toBe(20_000 - maxRetained);
    expect(sequencer.start).toBeGreaterThan(20_000 - maxRetained - 1_024);
    // The oldest are gone: c, asking from the first position, gets the oldest kept.
    const reply = sequencer.fetch('c', 1, 20_000, 10);
    expect(reply.start).toBe(sequencer.start);
    expect(reply.entries[0]!.seq).toBe(sequencer.start);
    // What is kept is still right: the latest entry carries the latest payload.
    expect(sequencer.fetch('c', 20_000, 20_000, 1).entries[0]!.payload).toEqual({ n: 20_000 });
  });

  it('keeps everything a live replica has not delivered while it is within the retention', () => {
    const sequencer = freshSequencer();
    sequencer.submit(
      'a',
      1,
      1,
      Array.from({ length: 500 }, (_, i) => i),
      1_000,
    );
    sequencer.appended();
    sequencer.ack('a', 500, 500);
    sequencer.ack('b', 500, 500);
    sequencer.ack('c', 500, 200);
    sequencer.advanceStable(100_000);
    expect(sequencer.stable).toBe(200);
    expect(sequencer.fetch('c', 201, 500, 1_000).entries).toHaveLength(300);
  });
});
