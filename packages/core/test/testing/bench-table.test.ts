import { benchResult, benchVerdict, formatBenchTable } from '@medals/core/testing';

describe('the bench table', () => {
  const latency = benchResult('http.request.p50', 'us', 113, true, { name: 'wrk', value: 100 });
  const throughput = benchResult('http.request', 'req/s', 1_330, false, {
    name: 'wrk',
    value: 1_000,
  });

  it('says better or worse in words, each figure in its own direction', () => {
    // The same ratio above 1 is worse for a latency and better for a throughput.
    expect(benchVerdict(latency)).toBe('13% worse');
    expect(benchVerdict(throughput)).toBe('33% better');
    expect(benchVerdict(benchResult('cpu', 'us/req', 25, true, { name: 'x', value: 100 }))).toBe(
      '4.0x better',
    );
    expect(benchVerdict(benchResult('msg', 'msg/s', 250, false, { name: 'x', value: 1_000 }))).toBe(
      '4.0x worse',
    );
    expect(benchVerdict(benchResult('rtt', 'ms', 100.2, true, { name: 'x', value: 100 }))).toBe(
      'same',
    );
    expect(benchVerdict(benchResult('alone', 'ms', 5, true))).toBe('');
  });

  it('prints plain text, without colour codes, a line per figure with its verdict', () => {
    const table = formatBenchTable([latency, throughput, benchResult('alone', 'ms', 5, true)]);
    expect(table).not.toContain('\u001b');
    const lines = table.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^name +value +better +baseline +ratio +vs baseline$/);
    expect(lines[2]).toMatch(/^http\.request\.p50 +113 us +lower +100 \(wrk\) +1\.13 +13% worse$/);
    expect(lines[3]).toMatch(
      /^http\.request +1330 req\/s +higher +1000 \(wrk\) +1\.33 +33% better$/,
    );
    expect(lines[4]).toMatch(/^alone +5 ms +lower$/);
  });
});
