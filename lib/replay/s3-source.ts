/**
 * The stored objects a replay reads, on S3: ListObjectsV2 pages in key order (StartAfter for a resumed
 * run, so where it stopped is one key), HeadObject for the metadata, and the header section read back
 * with ranged GetObjects through the same HeaderCollector the pipeline fed while retrieving, so the
 * bytes it keeps are the same. Every request waits for its turn at the pacer.
 */
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { sendAbortable } from '../adapters/abortable-send.ts';
import { DEFAULT_MAX_HEADER_BYTES, HeaderCollector } from '../notification/index.ts';
import type { RequestPacer } from './pacer.ts';
import type { HeaderSection, StoredObject } from './rebuild.ts';
import type { ReplaySource } from './source.ts';

/**
 * The first read covers a header section HeaderCollector keeps whole, plus room for its closing empty
 * line; a longer one (the collector then keeps whole fields and goes on scanning for the ones it needs)
 * is read on in further ranges of this size until the collector is done.
 */
const HEADER_READ_BYTES = DEFAULT_MAX_HEADER_BYTES + 1024;

export class S3ReplaySource implements ReplaySource {
  readonly bucket: string;
  readonly #client: S3Client;
  readonly #pacer: RequestPacer;

  constructor(options: { client: S3Client; bucket: string; pacer: RequestPacer }) {
    this.#client = options.client;
    this.bucket = options.bucket;
    this.#pacer = options.pacer;
  }

  async *list(prefix: string, startAfter: string | undefined, signal?: AbortSignal) {
    let token: string | undefined;
    do {
      await this.#pacer.turn();
      const page = await sendAbortable(
        this.#client,
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          ...(token === undefined ? (startAfter === undefined ? {} : { StartAfter: startAfter }) : {}),
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
        signal,
      );
      const objects = (page.Contents ?? []).flatMap((entry) =>
        entry.Key === undefined ? [] : [{ key: entry.Key, lastModified: entry.LastModified }],
      );
      yield objects;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async head(key: string, signal?: AbortSignal): Promise<StoredObject> {
    await this.#pacer.turn();
    const head = await sendAbortable(
      this.#client,
      new HeadObjectCommand({ Bucket: this.bucket, Key: key }),
      signal,
    );
    return {
      key,
      size: head.ContentLength ?? 0,
      lastModified: head.LastModified,
      metadata: lowerCaseNames(head.Metadata ?? {}),
    };
  }

  async headerSection(object: StoredObject, signal?: AbortSignal): Promise<HeaderSection> {
    const collector = new HeaderCollector();
    for (let start = 0; start < object.size && !collector.done; start += HEADER_READ_BYTES) {
      const end = Math.min(object.size, start + HEADER_READ_BYTES) - 1;
      await this.#pacer.turn();
      const reply = await sendAbortable(
        this.#client,
        new GetObjectCommand({ Bucket: this.bucket, Key: object.key, Range: `bytes=${start}-${end}` }),
        signal,
      );
      if (reply.Body === undefined) break;
      collector.write(await reply.Body.transformToByteArray());
    }
    return { headerBytes: collector.headerBytes(), truncated: collector.truncated };
  }
}

function lowerCaseNames(metadata: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata).map(([name, value]) => [name.toLowerCase(), value]));
}
