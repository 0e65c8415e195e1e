/**
 * The keys of a message's parsed document and parts, derived from the raw message's key alone
 * (docs/object-keys.md, "Parsed messages"):
 *
 *   <raw key without .eml>.parsed/message.json     the document
 *   <raw key without .eml>.parsed/parts/<n>        attachment or inline part n (1, 2, …, in message order)
 *
 * Never from a file name: a name is the sender's text (`../../x`, 2,000 characters, control characters)
 * and is shown in the document only. The same raw key always gives the same keys, so a redelivered S3
 * event writes the same bytes to the same keys. None of them ends in `.eml`, so the construct's S3 event
 * filter (suffix `.eml`) never sends a parsed object back to the parse stage.
 */

export const RAW_SUFFIX = '.eml';
export const PARSED_FOLDER_SUFFIX = '.parsed/';
export const DOCUMENT_NAME = 'message.json';
export const PARTS_FOLDER = 'parts/';

/** Folders of the store that hold no raw message (temporary uploads, keep-mode state, health records). */
const NOT_MESSAGES = ['.incoming/', '.state/', '.health/'];

/** The folder of the parsed objects of `rawKey`, ending in `/`; undefined for a key that is no raw message. */
export function parsedFolderFor(rawKey: string, keyPrefix = ''): string | undefined {
  if (!isRawMessageKey(rawKey, keyPrefix)) return undefined;
  return `${rawKey.slice(0, -RAW_SUFFIX.length)}${PARSED_FOLDER_SUFFIX}`;
}

/** True for the key of a stored message under `keyPrefix`, as lib/adapters/object-key.ts makes them. */
export function isRawMessageKey(key: string, keyPrefix = ''): boolean {
  if (!key.startsWith(keyPrefix) || !key.endsWith(RAW_SUFFIX)) return false;
  const rest = key.slice(keyPrefix.length);
  return rest.includes('/') && !NOT_MESSAGES.some((folder) => rest.startsWith(folder));
}

/** The mailbox id of a raw message key: its first segment after the prefix. */
export function mailboxIdOfKey(rawKey: string, keyPrefix = ''): string {
  return rawKey.slice(keyPrefix.length).split('/', 1)[0]!;
}

export function documentKeyIn(folder: string): string {
  return `${folder}${DOCUMENT_NAME}`;
}

/** Part `index` (1-based) in `folder`: a number, never a name the message chose. */
export function partKeyIn(folder: string, index: number): string {
  return `${folder}${PARTS_FOLDER}${index}`;
}
