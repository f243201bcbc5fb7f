'use strict';
/**
 * Lets a child process `require` the TypeScript sources the way jest's
 * ts-jest transform does (transpile only), so crash tests run the code under
 * test without a build. `@medals/<pkg>` and `@medals/core/testing` resolve to
 * the packages' sources, as in the root jest config. Transpiled files are
 * cached by content hash in the OS temp folder: the crash tests start many
 * children, and loading TypeScript costs each one most of a second.
 */
const Module = require('node:module');
const { createHash } = require('node:crypto');
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');

const packagesDir = resolve(__dirname, '../../../..');
const cacheDir = join(tmpdir(), 'medals-transpile-cache');
const typescriptVersion = require('typescript/package.json').version;
mkdirSync(cacheDir, { recursive: true });

function transpile(source, filename) {
  const key = createHash('sha256')
    .update(`${typescriptVersion}\0${filename}\0`)
    .update(source)
    .digest('hex');
  const cached = join(cacheDir, `${key}.js`);
  try {
    return readFileSync(cached, 'utf8');
  } catch {
    const ts = require('typescript');
    const { outputText } = ts.transpileModule(source, {
      fileName: filename,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
      },
    });
    // Rename into place, so a concurrent child never reads half a file.
    const temporary = `${cached}.${process.pid}.tmp`;
    writeFileSync(temporary, outputText);
    renameSync(temporary, cached);
    return outputText;
  }
}

Module._extensions['.ts'] = (module, filename) => {
  module._compile(transpile(readFileSync(filename, 'utf8'), filename), filename);
};

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const match = /^@medals\/([a-z-]+)(\/testing)?$/.exec(request);
  const mapped = match
    ? join(packagesDir, match[1], 'src', match[2] ? 'testing/index.ts' : 'index.ts')
    : request;
  return resolveFilename.call(this, mapped, ...rest);
};
