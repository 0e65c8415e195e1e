/**
 * The import graph of lib/, infra/ and functions/ (static imports, `import type` included) has no cycle
 * and no upward import. A cycle makes two modules one: neither can be read, tested or moved without the
 * other, and which one initialises first depends on who imported first. An upward import puts a layer's
 * dependencies into the layer below it (the protocol core would pull in an SDK, the ports an adapter).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildImportGraph, importCycles } from '../../support/import-graph.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const graph = buildImportGraph(ROOT, ['lib', 'infra', 'functions']);

/**
 * The layers of ARCHITECTURE.md, lowest first: a file may import files of its own layer or of a lower
 * one. Where a file and its folder are both listed, the file's entry wins.
 *
 * 0. Leaves import nothing of the project: the run's Deadline, the AWS service limits, the health states
 *    and the metric names (both shared with the CDK construct, which must not pull the runtime in).
 * 1. The sans-I/O protocol core (pop3/) and the notification builder: pure functions of bytes.
 * 2. The ports (ports.ts) and the shape of the health record they carry (health/record.ts): what the
 *    pipeline may see of the outside world, so nothing above the core.
 * 3. The POP3 client (the only sockets) and the configuration types (config/), built on the ports.
 * 4. The pipeline and the circuit breaker around it (health/): they see only ports and a Deadline.
 * 5. The adapters that implement the ports (S3, SQS, Secrets Manager, local files) and OAuth2 tokens;
 *    the parse stage (parsed/), which writes through the adapters' S3 client and uploader. Replay (replay/)
 *    reads what the S3 store wrote, so it sits beside it.
 * 6. The edges that choose adapters: the Lambda glue (lambda/), the CLI (cli/ with its demo maildrop,
 *    demo/) and the package's public entry point (index.ts).
 * 7. What is built from the edges: the Lambda handlers (functions/) and the CDK construct (infra/).
 */
const LAYERS: Readonly<Record<string, number>> = {
  'lib/deadline.ts': 0,
  'lib/aws-limits.ts': 0,
  'lib/health/states.ts': 0,
  'lib/lambda/metric-names.ts': 0,
  'lib/pop3': 1,
  'lib/notification': 1,
  'lib/ports.ts': 2,
  'lib/health/record.ts': 2,
  'lib/pop3-client': 3,
  'lib/config': 3,
  'lib/pipeline': 4,
  'lib/health': 4,
  'lib/adapters': 5,
  'lib/oauth': 5,
  'lib/parsed': 5,
  'lib/replay': 5,
  'lib/lambda': 6,
  'lib/cli': 6,
  'lib/demo': 6,
  'lib/index.ts': 6,
  functions: 7,
  infra: 7,
};

/** The layer of a file: its own entry, else the longest folder entry that holds it. */
function layerOf(file: string): number | undefined {
  let best: { prefix: string; layer: number } | undefined;
  for (const [prefix, layer] of Object.entries(LAYERS)) {
    const holds = file === prefix || file.startsWith(`${prefix}/`);
    if (holds && (best === undefined || prefix.length > best.prefix.length)) best = { prefix, layer };
  }
  return best?.layer;
}

describe('import graph of lib/, infra/ and functions/', () => {
  it('reads every file and finds their imports (the graph is not empty by mistake)', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('lib/pipeline/poll-mailbox.ts')).toContain('lib/ports.ts');
  });

  it('has no import cycle', () => {
    expect(importCycles(graph)).toEqual([]);
  });

  it('puts every file in a layer', () => {
    expect([...graph.keys()].filter((file) => layerOf(file) === undefined)).toEqual([]);
  });

  it('has no upward import', () => {
    const upward: string[] = [];
    for (const [file, targets] of graph) {
      for (const target of targets) {
        const from = layerOf(file);
        const to = layerOf(target);
        if (from !== undefined && to !== undefined && to > from)
          upward.push(`${file} (${from}) → ${target} (${to})`);
      }
    }
    expect(upward).toEqual([]);
  });
});
