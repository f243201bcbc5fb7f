import { derivePeerKeys } from '@medals/core';
import { transportCompliance } from '@medals/core/testing';
import { HttpTransport } from '@medals/transport-http';

// The suite's 1 MiB string is a little over 1 MiB once encoded; the default limit stays 1 MiB.
const maxBodyBytes = 4 * 1024 * 1024;

transportCompliance('HttpTransport', {
  setup: (ids, codec) => ids.map((nodeId) => new HttpTransport({ nodeId, codec, maxBodyBytes })),
});

transportCompliance('HttpTransport with a cluster secret', {
  setup: (ids, codec) =>
    ids.map((nodeId) => new HttpTransport({ nodeId, codec, secret: 'compliance', maxBodyBytes })),
});

transportCompliance('HttpTransport with peer keys', {
  setup: (ids, codec) =>
    ids.map(
      (nodeId) =>
        new HttpTransport({
          nodeId,
          codec,
          peerKeys: derivePeerKeys('compliance', nodeId, ids),
          maxBodyBytes,
        }),
    ),
});
