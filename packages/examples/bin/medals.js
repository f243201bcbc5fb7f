#!/usr/bin/env node
'use strict';
// The CLI is compiled into dist/. This file is committed, so npm links the
// `medals` command at install time, before anything is built.
try {
  require.resolve('../dist/cli.js');
} catch {
  process.stderr.write('medals: not built yet; run `npm run build` at the repository root\n');
  process.exit(1);
}
require('../dist/cli.js');
