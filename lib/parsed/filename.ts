/**
 * A part's file name, made safe to show: it is the sender's text, and only ever displayed (keys are
 * indexes, keys.ts). Control characters (C0, DEL, C1) and the bidirectional controls that make
 * `invoice‮fdp.exe` read as `invoiceexe.pdf` are removed, path separators become `_` so no tool that
 * saves under the name writes outside its folder, runs of white space become one space, and the name is
 * cut at `maxChars`. Nothing left: null.
 */

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const SEPARATORS = /[/\\]/g;

export function displayFilename(name: string | undefined, maxChars: number): string | null {
  if (name === undefined) return null;
  const cleaned = name
    .replace(CONTROL, ' ')
    .replace(BIDI_CONTROLS, '')
    .replace(SEPARATORS, '_')
    .replace(/\s+/g, ' ')
    .trim();
  const kept = [...cleaned].slice(0, maxChars).join('');
  // A name of dots alone would read as "this folder" or "the folder above" where it is saved.
  if (kept === '' || /^\.+$/.test(kept)) return null;
  return kept;
}
