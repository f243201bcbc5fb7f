import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { freePorts } from '../../src/cli/free-ports';

function ephemeralStart(): number | undefined {
  try {
    return Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
  } catch {
    return undefined;
  }
}

describe('freePorts', () => {
  it('gives distinct ports that can be listened on, below the ephemeral range where the kernel says where it starts', async () => {
    const ports = await freePorts(8);
    expect(new Set(ports).size).toBe(8);
    const start = ephemeralStart();
    // Outgoing connections take their source ports from that range: a node's port must not be one of them.
    if (start !== undefined) for (const port of ports) expect(port).toBeLessThan(start);
    for (const port of ports) {
      await new Promise<void>((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
      });
    }
  });
});
