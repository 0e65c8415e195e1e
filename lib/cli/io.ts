/**
 * The CLI's streams and environment, passed to every command so tests and the demo run a command with
 * their own. Its own module, below main.ts and the commands, so that a command needs nothing from
 * main.ts (which imports every command) and the CLI's modules form no import cycle.
 */
import type { Output } from './report.ts';

export interface CliIo {
  readonly stdout: Output;
  readonly stderr: Output;
  readonly env: NodeJS.ProcessEnv;
}

export const processIo: CliIo = {
  stdout: closableOutput(process.stdout),
  stderr: closableOutput(process.stderr),
  env: process.env,
};

/**
 * A standard stream whose reader may go away early (`poll --dry-run | head -2`): EPIPE ends our output to
 * it, not the run. The run goes on to its end (a poll that stopped halfway would leave retrieved messages
 * uncommitted) and exits with its own status; nothing more is written there. Any other stream error is
 * still thrown, as Node would.
 */
function closableOutput(stream: NodeJS.WriteStream): Output {
  let closed = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    closed = true;
  });
  return {
    write: (text) => {
      if (!closed) stream.write(text);
    },
    isTTY: stream.isTTY === true,
  };
}

/** One line of a command's step-by-step output (`check`). */
export type Report = (line: string) => void;
