import type { HostileMessage } from '@medals/core/testing';

/**
 * Payloads every built-in election must drop: wrong shapes, absurd terms, a
 * leader who is no member or does not own the term (5 members `n1` … `n5`,
 * so term 1,000 belongs to `n1`).
 */
export function badLeadershipNews(type: string): HostileMessage[] {
  return [
    { type, payload: 'n1' },
    { type, payload: null },
    { type, payload: { leader: 'n1' } },
    { type, payload: { leader: 'n1', term: '1000' } },
    { type, payload: { leader: 'n1', term: 2 ** 60 } },
    // Terms that do belong to their leaders, but are absurd.
    { type, payload: { leader: 'n2', term: 2 ** 60 } },
    { type, payload: { leader: 'n3', term: 2 ** 60 + 256 } },
    { type, payload: { leader: 'n1', term: Number.MAX_SAFE_INTEGER - 1 } },
    { type, payload: { leader: 'n1', term: -5 } },
    { type, payload: { leader: 'n1', term: 1000.5 } },
    { type, payload: { leader: 'mallory', term: 1000 } },
    { type, payload: { leader: 'n2', term: 1000 } },
  ];
}
