'use strict';
/**
 * Child process of the crash test: opens a PostgresTallyStore and increments
 * medals from several concurrent writers as fast as it can, printing the
 * operation id of each write once it is acknowledged, until it is killed.
 *
 * Usage: node pg-writer.js <connection string> <schema> <table prefix> <writers> <id prefix> <application name>
 */
require('../../../core/test/store/support/register-typescript');
const { PostgresTallyStore } = require('../../src/index.ts');
const { crashWriteOf } = require('../../../core/test/store/support/crash-writes.ts');

const [connectionString, schema, tablePrefix, writers, prefix, applicationName] =
  process.argv.slice(2);

async function main() {
  const store = new PostgresTallyStore({
    connectionString,
    schema,
    tablePrefix,
    applicationName,
    poolSize: Number(writers),
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
