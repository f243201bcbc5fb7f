import { parseFault, parseFaultFile, parseTime } from '../../src/sim/fault-spec';

const nodes = ['db', 'fe1', 'fe2'];

describe("medals sim's fault schedules", () => {
  it('reads times in seconds or ms', () => {
    expect([parseTime('3s'), parseTime('1.5s'), parseTime('250ms'), parseTime('3000')]).toEqual([
      3_000, 1_500, 250, 3_000,
    ]);
    expect(() => parseTime('3 minutes')).toThrow('"3 minutes" is not a time');
  });

  it('reads each kind of --fault', () => {
    expect(parseFault('crash:fe2@3s', nodes)).toEqual({ at: 3_000, type: 'crash', node: 'fe2' });
    expect(parseFault('restart:fe2@6s', nodes)).toEqual({
      at: 6_000,
      type: 'restart',
      node: 'fe2',
    });
    expect(parseFault('partition:fe1/fe2,db@8s', nodes)).toEqual({
      at: 8_000,
      type: 'partition',
      groups: [['fe1'], ['fe2', 'db']],
    });
    expect(parseFault('heal@12s', nodes)).toEqual({ at: 12_000, type: 'heal' });
  });

  it('names what is wrong with a bad --fault', () => {
    expect(() => parseFault('crash:fe2', nodes)).toThrow('has no time');
    expect(() => parseFault('crash:fe9@1s', nodes)).toThrow('names "fe9", not one of db, fe1, fe2');
    expect(() => parseFault('partition:fe1@1s', nodes)).toThrow('two or more groups');
    expect(() => parseFault('partition:fe1/fe1,db@1s', nodes)).toThrow('puts a node in two groups');
    expect(() => parseFault('heal:fe1@1s', nodes)).toThrow('heal takes no arguments');
    expect(() => parseFault('explode:fe1@1s', nodes)).toThrow(
      'the kind must be crash, restart, partition or heal',
    );
  });

  it('reads a --faults file of strings and objects, and names its first bad item', () => {
    expect(
      parseFaultFile(
        JSON.stringify([
          'crash:fe1@1s',
          { at: 2_000, type: 'restart', node: 'fe1' },
          { at: 3_000, type: 'conditions', conditions: { loss: 0.1 } },
        ]),
        nodes,
      ),
    ).toEqual([
      { at: 1_000, type: 'crash', node: 'fe1' },
      { at: 2_000, type: 'restart', node: 'fe1' },
      { at: 3_000, type: 'conditions', conditions: { loss: 0.1 } },
    ]);
    expect(() => parseFaultFile('{', nodes)).toThrow('not JSON');
    expect(() => parseFaultFile('{}', nodes)).toThrow('must be a JSON array');
    expect(() =>
      parseFaultFile('["heal@1s", {"at": 1, "type": "crash", "node": "x"}]', nodes),
    ).toThrow('item 1 names "x"');
    expect(() => parseFaultFile('[{"at": -1, "type": "heal"}]', nodes)).toThrow('item 0: at:');
    expect(() =>
      parseFaultFile('[{"at": 1, "type": "conditions", "conditions": {"loss": 2}}]', nodes),
    ).toThrow('item 0: loss must be a probability');
  });
});
