/** A command's arguments with the flags every command takes taken out. */
export interface CommandArgs {
  /** What the command itself parses. */
  args: string[];
  /** `--verbose`: a failure shows its stack. */
  verbose: boolean;
}

const negativeNumber = /^-\d+(\.\d+)?$/;

/**
 * Takes `--verbose` out of `args` and joins each `--flag -5` into
 * `--flag=-5`: `parseArgs` reads a value that starts with a dash as a
 * flag and refuses it ("argument is ambiguous"), where the user meant a
 * number, which the command then checks with a message of its own.
 */
export function commandArgs(args: readonly string[]): CommandArgs {
  const out: string[] = [];
  let verbose = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    if (arg === '--verbose') {
      verbose = true;
      continue;
    }
    const next = args[i + 1];
    if (/^--[^=]+$/.test(arg) && next !== undefined && negativeNumber.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
      continue;
    }
    out.push(arg);
  }
  return { args: out, verbose };
}
