import { parseAddressList } from '../../src/cli/address-list';
import { formatEvent, forwarded } from '../../src/cli/event-log';
import { nodeArgs } from '../../src/cli/node-process-group';
import { parseNodeArgs } from '../../src/cli/node-command';
import { serviceOptionsFromFlags } from '../../src/cli/service-flags';
import { UsageError } from '../../src/cli/usage-error';
import { testOptions } from './support';

describe('the CLI log', () => {
  it('renders the key events as one readable line each', () => {
    expect(formatEvent('elected', { node: 'fe1', leader: 'fe2', term: 3 })).toEqual({
      level: 'info',
      text: 'leader is fe2 (term 3)',
    });
    expect(
      formatEvent('clockAdjusted', {
        node: 'db',
        deltaMs: -3000,
        mode: 'step',
        server: 'fe2',
        round: 1,
      }).text,
    ).toBe('clock adjusted by -3000.0 ms (step, round 1 of fe2)');
    expect(
      formatEvent('raffleWinner', {
        node: 'fe1',
        draw: 2,
        seed: 9,
        candidates: 5,
        winner: { entry: 7, requestSeq: 700, client: 'tab', server: 'fe2', requestId: undefined },
      }).text,
    ).toBe('raffle draw #2: entry #7 wins (tab at fe2, 5 candidates)');
    expect(formatEvent('peerSuspected', { node: 'fe1', peer: 'db', neverHeard: false })).toEqual({
      level: 'warn',
      text: 'suspects db is down',
    });
    expect(formatEvent('peerRecovered', { node: 'fe1', peer: 'db', firstHeard: false })).toEqual({
      level: 'info',
      text: 'hears from db again',
    });
    expect(
      formatEvent('clockSyncRound', {
        node: 'db',
        server: 'db',
        round: 2,
        participants: 3,
        unreachable: ['fe2'],
        outliers: [],
      }),
    ).toEqual({ level: 'info', text: 'led clock sync round 2 with 3 clocks; unreachable: fe2' });
    expect(
      formatEvent('node:error', {
        node: 'fe1',
        component: 'bully',
        code: 'ERR_INVALID_MESSAGE',
        message: 'bad',
      }).level,
    ).toBe('error');
  });

  it("tells start-up noise at debug: a peer never heard from, a leadership race, a client's own clock round", () => {
    expect(formatEvent('peerSuspected', { node: 'db', peer: 'fe2', neverHeard: true })).toEqual({
      level: 'debug',
      text: 'never heard from fe2',
    });
    expect(formatEvent('peerRecovered', { node: 'db', peer: 'fe2', firstHeard: true })).toEqual({
      level: 'debug',
      text: 'hears from fe2 for the first time',
    });
    const race = {
      node: 'db',
      component: 'berkeley',
      code: 'ERR_NOT_LEADER',
      message: 'berkeley.poll from fe1 in term 2, but this node follows no leader in term 0',
    };
    expect(formatEvent('node:error', race).level).toBe('debug');
    expect(formatEvent('node:error', { ...race, code: 'ERR_REMOVED' }).level).toBe('warn');
    expect(
      formatEvent('clockSyncRound', {
        node: 'fe1',
        server: 'db',
        round: 1,
        participants: 0,
        unreachable: ['db'],
        outliers: [],
      }),
    ).toEqual({ level: 'debug', text: 'synced its clock with db (round 1); unreachable: db' });
    // Below info, but the clock experiment reads every round.
    expect(forwarded('clockSyncRound', { node: 'fe1', server: 'db' }, 'info')).toBe(true);
  });

  it('forwards per-request events only at debug, and the key events at any level', () => {
    expect(forwarded('delivered', {}, 'info')).toBe(false);
    expect(forwarded('delivered', {}, 'debug')).toBe(true);
    expect(forwarded('clockSyncRound', {}, 'error')).toBe(true);
    expect(forwarded('electionStarted', {}, 'info')).toBe(false);
    // Shown only at debug (the round's one line is the leader's), but the clock experiment reads them.
    expect(formatEvent('clockAdjusted', { deltaMs: 1 }).level).toBe('debug');
    expect(forwarded('clockAdjusted', { deltaMs: 1 }, 'error')).toBe(true);
  });
});

describe('the CLI flags', () => {
  it('round-trip a node spec and its options through the command line a launcher builds', () => {
    const options = testOptions({
      transport: 'http',
      election: 'ring',
      raffleEvery: 7,
      clockOffsetMs: -2_000,
      readCache: false,
      insecure: true,
      httpServer: {
        headersTimeoutMs: 500,
        requestTimeoutMs: 900,
        idleTimeoutMs: 700,
        maxConnections: 9,
        maxBodyBytes: 1_000,
      },
    });
    const spec = {
      role: 'frontend' as const,
      id: 'fe1',
      listen: '127.0.0.1:7001',
      http: '127.0.0.1:0',
      peers: { db: 'http://127.0.0.1:7000' },
    };
    const parsed = parseNodeArgs(nodeArgs(spec, options, 'warn'));
    expect(parsed.spec).toEqual(spec);
    expect(parsed.logLevel).toBe('warn');
    expect(parsed.options).toMatchObject({
      transport: 'http',
      election: 'ring',
      raffleEvery: 7,
      clockOffsetMs: -2_000,
      clockSyncIntervalMs: 500,
      readCache: false,
      insecure: true,
      httpServer: options.httpServer,
    });
  });

  it('refuse values outside what the service knows', () => {
    expect(() =>
      serviceOptionsFromFlags({
        transport: 'udp',
        election: 'bully',
        'clock-sync': 'off',
        multicast: 'lamport',
        'raffle-every': '1',
        store: 'memory',
        'data-dir': 'x',
      }),
    ).toThrow(UsageError);
    expect(() =>
      serviceOptionsFromFlags({
        transport: 'tcp',
        election: 'bully',
        'clock-sync': 'off',
        multicast: 'lamport',
        'raffle-every': '0',
        store: 'memory',
        'data-dir': 'x',
      }),
    ).toThrow(/--raffle-every must be a whole number ≥ 1, got 0/);
    expect(() => parseAddressList('--peers', 'db=tcp://a:1,db=tcp://b:2')).toThrow(/named twice/);
    expect(() => parseAddressList('--peers', 'tcp://a:1')).toThrow(/expected id=address/);
    expect(parseAddressList('--peers', 'db=tcp://a:1, fe2=tcp://b:2')).toEqual({
      db: 'tcp://a:1',
      fe2: 'tcp://b:2',
    });
  });
});
