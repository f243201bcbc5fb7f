import { spawn } from 'node:child_process';

/** Options of {@link runUntilKilled}. */
export interface CrashTrialOptions {
  /** The Node.js script to run as a separate process. */
  script: string;
  /** Its arguments. */
  args?: readonly string[];
  /** How long after the child prints `ready` (or after spawning, with `killBeforeReady`) to kill it, in ms. */
  killAfterMs: number;
  /** Count `killAfterMs` from the spawn, so the kill may land while the child is still opening its store. Default false. */
  killBeforeReady?: boolean;
  /** Rejects if the child neither dies nor gets killed within this many ms. Default 30,000. */
  timeoutMs?: number;
}

/** What a killed child acknowledged. */
export interface CrashTrialResult {
  /** Every complete line the child printed after `ready`, in order: its acknowledged operation ids. */
  acknowledged: string[];
  /** Whether the child printed `ready` before it was killed. */
  ready: boolean;
}

/**
 * Runs a writer in a real separate process and kills it with SIGKILL at a
 * chosen moment: the crash half of a durability test. The child prints
 * `ready` once its store is open, then one line per acknowledged write
 * (stdout writes are synchronous on Linux pipes, so a printed line was
 * acknowledged before the kill). Rejects if the child exits on its own.
 */
export function runUntilKilled(options: CrashTrialOptions): Promise<CrashTrialResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.script, ...(options.args ?? [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acknowledged: string[] = [];
    let ready = false;
    let partial = '';
    let stderr = '';
    let killed = false;
    const kill = (): void => {
      killed = true;
      child.kill('SIGKILL');
    };
    let killTimer = options.killBeforeReady ? setTimeout(kill, options.killAfterMs) : undefined;
    const deadline = setTimeout(() => {
      kill();
      reject(
        new Error(`${options.script} was still running after ${options.timeoutMs ?? 30_000} ms`),
      );
    }, options.timeoutMs ?? 30_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (ready) acknowledged.push(line);
        else if (line === 'ready') {
          ready = true;
          killTimer ??= setTimeout(kill, options.killAfterMs);
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killTimer);
      clearTimeout(deadline);
      if (killed && signal === 'SIGKILL') resolve({ acknowledged, ready });
      else reject(new Error(`${options.script} exited on its own (${signal ?? code}): ${stderr}`));
    });
  });
}
