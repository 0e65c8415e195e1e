/**
 * The time range `replay --since T --until T` picks objects by: when their message was retrieved (the
 * `retrieved-at` metadata, lib/replay/metadata.ts), `since` included, `until` excluded, so ranges that
 * meet (`--until T` then `--since T`) neither overlap nor leave a gap. Keys hold no date
 * (docs/object-keys.md), so the range is read from each object's metadata; the listing's LastModified
 * only rules out, before any HeadObject, objects written too early to be in the range.
 */

/**
 * How far the poller's clock may be off S3's: SigV4 requests signed more than 15 minutes off S3's clock
 * are refused (RequestTimeTooSkewed), so every object was written by a machine within this of S3's time.
 */
export const CLOCK_SKEW_MARGIN_MS = 15 * 60 * 1000;

export interface TimeRange {
  readonly since?: Date | undefined;
  readonly until?: Date | undefined;
}

export function inRange(range: TimeRange, at: Date): boolean {
  const time = at.getTime();
  if (range.since !== undefined && time < range.since.getTime()) return false;
  if (range.until !== undefined && time >= range.until.getTime()) return false;
  return true;
}

/**
 * False only when an object with this LastModified cannot have been retrieved within the range: a
 * message is retrieved before its object is written (retrievedAt <= LastModified, give or take the clock
 * margin). There is no such bound from above: a run may take long, and a copy of the bucket (replication,
 * a restore) writes old messages with a new LastModified.
 */
export function mayBeInRange(range: TimeRange, lastModified: Date | undefined): boolean {
  if (range.since === undefined || lastModified === undefined) return true;
  return lastModified.getTime() + CLOCK_SKEW_MARGIN_MS >= range.since.getTime();
}

/**
 * A `--since`/`--until` value: an ISO 8601 date (`2026-12-01`, midnight UTC) or date-time with its zone
 * (`2026-12-01T08:00:00Z`, `…+01:00`). A time without a zone is refused: whose midnight it meant is
 * exactly what a replay must not guess.
 */
export function parseRangeTime(text: string, flag: string): Date {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text);
  const withZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i.test(text);
  const time = Date.parse(text);
  if ((!dateOnly && !withZone) || Number.isNaN(time)) {
    throw new RangeError(
      `${flag} needs an ISO 8601 date or a date-time with its zone (2026-12-01, 2026-12-01T08:00:00Z), not "${text}"`,
    );
  }
  return new Date(time);
}
