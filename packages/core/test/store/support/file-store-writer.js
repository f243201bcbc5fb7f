'use strict';
/**
 * Child process of the crash test: opens a FileTallyStore and increments
 * medals from several concurrent writers as fast as it can, printing the
 * operation id of each write once it is acknowledged, until it is killed.
 *
 * Usage: node file-store-writer.js <directory> <writers> <id prefix> <compactAfterBytes> <retention>
 */
require('./register-typescript');
const { FileTallyStore } = require('../../../src/store/index.ts');
const { crashWriteOf } = require('./crash-writes.ts');

const [directory, writers, prefix, compactAfterBytes, retention] = process.argv.slice(2);

async function main() {
  const store = new FileTallyStore({
    directory,
    compactAfterBytes: Number(compactAfterBytes),
    idempotencyRetention: Number(retention),
  });
  await store.start();
  process.stdout.write('ready\n');
  let next = 0;
  const writer = async () => {
    for (;;) {
      const write = crashWriteOf(`${prefix}-${next++}`);
      await store.incrementMedal(write.team, write.medal, write.operationId);
      // Synchronous on Linux pipes: once written, the parent has it even if we die next.
      process.stdout.write(`${write.operationId}\n`);
    }
  };
  await Promise.all(Array.from({ length: Number(writers) }, writer));
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
