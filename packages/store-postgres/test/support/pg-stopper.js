'use strict';
/**
 * Child process of the partition test: opens a PostgresTallyStore, makes one
 * write and prints `ready`; at the first line on stdin it stops the store,
 * prints `stopped`, and then does nothing more, so it exits only if the store
 * has let go of every socket and timer.
 *
 * Usage: node pg-stopper.js <connection string> <schema> <table prefix> <stop timeout ms>
 */
require('../../../core/test/store/support/register-typescript');
const { PostgresTallyStore } = require('../../src/index.ts');

const [connectionString, schema, tablePrefix, stopTimeoutMs] = process.argv.slice(2);

async function main() {
  const store = new PostgresTallyStore({
    connectionString,
    schema,
    tablePrefix,
    stopTimeoutMs: Number(stopTimeoutMs),
  });
  await store.start();
  await store.incrementMedal('Gaul', 'gold', 'child');
  process.stdin.once('data', () => {
    process.stdin.destroy();
    store.stop().then(
      () => process.stdout.write('stopped\n'),
      (error) => {
        process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
        process.exitCode = 1;
      },
    );
  });
  process.stdout.write('ready\n');
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
