/**
 * Property tests are part of `npm test`, so they must give the same verdict on
 * every run: fast-check draws its cases from one fixed seed. To explore new
 * cases, set MEDALS_FC_SEED to another number; a failure prints the seed and
 * path that replay it.
 */
const fc = require('fast-check');

const seed = Number(process.env.MEDALS_FC_SEED ?? 20260101);
if (!Number.isSafeInteger(seed))
  throw new Error(`MEDALS_FC_SEED must be an integer, got ${process.env.MEDALS_FC_SEED}`);
fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
