/**
 * Runs once before all test files: provisions Dovecot when it is missing (apt, as root) or stops with a
 * one-line instruction, so parallel test files never race to install it.
 */
import { ensureDovecotInstalled } from './support/dovecot.ts';

export default function setup(): void {
  ensureDovecotInstalled();
}
