import { MemoryNetwork } from '@medals/core';
import { transportCompliance } from '@medals/core/testing';

transportCompliance('MemoryNetwork', {
  setup: (ids, codec) => {
    const network = new MemoryNetwork({ codec });
    return ids.map((id) => network.transport(id));
  },
});
