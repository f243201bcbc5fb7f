import type { HistoryEntry } from '@medals/core';

/**
 * A small history as the simulator records it: db leads term 1, fe1 and
 * fe2 deliver two multicast messages in one order, fe2 crashes and comes
 * back, the network splits fe1 away and heals, and clocks are corrected.
 */
export function fixedHistory(): HistoryEntry[] {
  return [
    { at: 0, node: 'sim', event: 'sim:clocks', data: { offsets: { db: 0, fe1: 20, fe2: -10 } } },
    { at: 100, node: 'fe1', event: 'elected', data: { node: 'fe1', leader: 'db', term: 1 } },
    { at: 100, node: 'db', event: 'leadershipActing', data: { node: 'db', term: 1 } },
    {
      at: 130,
      node: 'sim',
      event: 'sim:message',
      data: { kind: 'msg', from: 'fe1', to: 'db', type: 'sequencer.submit', sentAt: 120 },
    },
    {
      at: 150,
      node: 'sim',
      event: 'sim:message',
      data: { kind: 'msg', from: 'db', to: 'fe2', type: 'sequencer.order', sentAt: 140 },
    },
    {
      at: 150,
      node: 'sim',
      event: 'sim:message',
      data: {
        kind: 'msg',
        from: 'db',
        to: 'fe1',
        type: 'sequencer.order',
        sentAt: 140,
        lost: 'loss',
      },
    },
    {
      at: 160,
      node: 'fe2',
      event: 'delivered',
      data: { node: 'fe2', seq: 1, sender: 'fe1', id: 'fe1:1' },
    },
    {
      at: 170,
      node: 'fe1',
      event: 'delivered',
      data: { node: 'fe1', seq: 1, sender: 'fe1', id: 'fe1:1' },
    },
    {
      at: 180,
      node: 'fe2',
      event: 'delivered',
      data: { node: 'fe2', seq: 2, sender: 'fe2', id: 'fe2:1' },
    },
    {
      at: 190,
      node: 'fe1',
      event: 'delivered',
      data: { node: 'fe1', seq: 2, sender: 'fe2', id: 'fe2:1' },
    },
    {
      at: 200,
      node: 'fe1',
      event: 'clockAdjusted',
      data: { node: 'fe1', deltaMs: -19, mode: 'step', server: 'db', round: 1 },
    },
    { at: 300, node: 'sim', event: 'sim:crash', data: { node: 'fe2' } },
    { at: 500, node: 'sim', event: 'sim:restart', data: { node: 'fe2' } },
    { at: 600, node: 'sim', event: 'sim:partition', data: { groups: [['fe1'], ['db', 'fe2']] } },
    {
      at: 700,
      node: 'db',
      event: 'leadershipReleased',
      data: { node: 'db', term: 1, reason: 'lease' },
    },
    { at: 750, node: 'fe2', event: 'elected', data: { node: 'fe2', leader: 'fe2', term: 2 } },
    { at: 800, node: 'sim', event: 'sim:heal', data: {} },
    { at: 1_000, node: 'sim', event: 'sim:clocks', data: { offsets: { db: 0, fe1: 1, fe2: -10 } } },
  ];
}
