import {
  PeerKeyring,
  derivePairKey,
  derivePeerKeys,
  formatPeerKeys,
  parsePeerKeys,
} from '../../src';

const SECRET = 'a cluster secret of at least some length';

describe('derivePairKey', () => {
  it('gives both nodes of a pair the same key, and other pairs other keys', () => {
    const ab = derivePairKey(SECRET, 'a', 'b');
    expect(ab).toHaveLength(32);
    expect(derivePairKey(SECRET, 'b', 'a').equals(ab)).toBe(true);
    expect(derivePairKey(SECRET, 'a', 'c').equals(ab)).toBe(false);
    expect(derivePairKey('another secret', 'a', 'b').equals(ab)).toBe(false);
  });

  it('does not confuse ids that run together', () => {
    expect(derivePairKey(SECRET, 'a', 'bc').equals(derivePairKey(SECRET, 'ab', 'c'))).toBe(false);
  });
});

describe('peer keys', () => {
  it('round-trip through their text form', () => {
    const keys = derivePeerKeys(SECRET, 'fe1', ['db', 'fe1', 'fe2']);
    expect(Object.keys(keys).sort()).toEqual(['db', 'fe2']);
    const parsed = parsePeerKeys(formatPeerKeys(keys));
    expect(parsed.db!.equals(derivePairKey(SECRET, 'fe1', 'db'))).toBe(true);
    expect(parsed.fe2!.equals(derivePairKey(SECRET, 'fe1', 'fe2'))).toBe(true);
  });

  it('refuses malformed text without echoing a key', () => {
    expect(() => parsePeerKeys('db=c2hvcnQ')).toThrow(/malformed peer key entry for "db"/);
    expect(() => parsePeerKeys('=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).toThrow(/entry #1/);
    try {
      parsePeerKeys('db=c2hvcnQ');
    } catch (err) {
      expect((err as Error).message).not.toContain('c2hvcnQ');
    }
  });

  it('refuses peer ids that the text form cannot carry', () => {
    expect(() => formatPeerKeys({ 'a=b': 'x'.repeat(32) })).toThrow(RangeError);
  });
});

describe('PeerKeyring', () => {
  it('derives any pair key from the cluster secret', () => {
    const ring = PeerKeyring.from('fe1', { secret: SECRET })!;
    expect(ring.holdsClusterSecret).toBe(true);
    expect(ring.peers).toBeUndefined();
    expect(ring.keyFor('db')!.equals(derivePairKey(SECRET, 'db', 'fe1'))).toBe(true);
    expect(ring.keyFor('fe1')).toBeUndefined();
  });

  it('knows only the peers it was given keys for', () => {
    const ring = PeerKeyring.from('fe1', { peerKeys: derivePeerKeys(SECRET, 'fe1', ['db']) })!;
    expect(ring.holdsClusterSecret).toBe(false);
    expect(ring.peers).toEqual(['db']);
    expect(ring.keyFor('db')!.equals(derivePairKey(SECRET, 'fe1', 'db'))).toBe(true);
    expect(ring.keyFor('fe2')).toBeUndefined();
  });

  it('is absent without credentials and refuses bad ones', () => {
    expect(PeerKeyring.from('a', {})).toBeUndefined();
    expect(() => PeerKeyring.from('a', { secret: '' })).toThrow(RangeError);
    expect(() => PeerKeyring.from('a', { peerKeys: { b: 'c2hvcnQ' } })).toThrow(RangeError);
    expect(() =>
      PeerKeyring.from('a', { secret: SECRET, peerKeys: { b: 'A'.repeat(43) } } as never),
    ).toThrow(/either/);
  });
});
