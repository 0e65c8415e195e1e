/**
 * docs/oauth2.md tells a person at a terminal how to run `mailbox-poller oauth login`, on a desktop and on
 * a server without a browser: every option it shows must be one the command takes, and what it says about
 * fixing the listener's port must match the command's options (with a --port option the SSH recipe can
 * name the port up front; without one, the person reads it from the printed address).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OAUTH_LOGIN_USAGE } from '../../../lib/cli/oauth-login.ts';

const PAGE = readFileSync(new URL('../../../docs/oauth2.md', import.meta.url), 'utf8');

/** The shell blocks of the page that run or mention `oauth login`. */
function loginBlocks(): string[] {
  return [...PAGE.matchAll(/```sh\n([\s\S]*?)```/g)]
    .map((match) => match[1] ?? '')
    .filter((block) => block.includes('oauth login'));
}

function optionsOf(text: string): string[] {
  return [...text.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)].map((match) => match[0]);
}

describe('docs/oauth2.md on oauth login', () => {
  it('shows only options the command takes', () => {
    const blocks = loginBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    const shown = new Set(blocks.flatMap(optionsOf));
    expect(shown.size).toBeGreaterThan(4);
    const taken = new Set(optionsOf(OAUTH_LOGIN_USAGE));
    for (const option of shown) expect(taken.has(option), option).toBe(true);
  });

  it('says how to reach the listener from another machine, as the command allows', () => {
    expect(PAGE).toMatch(/ssh -N -L PORT:127\.0\.0\.1:PORT/);
    if (optionsOf(OAUTH_LOGIN_USAGE).includes('--port')) expect(PAGE).toContain('`--port');
    else expect(PAGE.replace(/\s+/g, ' ')).toContain('has no option to fix the port');
  });
});
