/**
 * What a usage mistake prints: one line for the mistake and one for where the help is, not the whole
 * help text, which would push the mistake off the screen. A leaf module: every command imports it, and
 * lib/cli/help.ts imports every command.
 */
export function usageErrorText(commandName: string | undefined, problem: string): string {
  const help = commandName === undefined ? 'mailbox-poller --help' : `mailbox-poller ${commandName} --help`;
  return `mailbox-poller: ${problem}\nSee '${help}'.\n`;
}
