/**
 * Reads V8 CPU profiles (`node --cpu-prof`) of the poller child and says where its time went: self time
 * by area (our modules by file, each npm package, Node internals, GC, idle) and the hottest functions.
 *
 * The profiled child is an unminified bundle, the same code as the measured one. esbuild starts every
 * module in it with a `// path/to/module.js` comment, which maps each frame's line back to its module.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface TimeShare {
  readonly name: string;
  readonly ms: number;
  readonly share: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Time not spent running JavaScript or GC: waiting for sockets, disk, timers, other processes. */
  readonly idleMs: number;
  /** Coarse: AWS SDK, mailbox-poller's own code, config validation, Node runtime, system calls, GC, idle. */
  readonly groups: readonly TimeShare[];
  readonly areas: readonly TimeShare[];
  readonly functions: readonly TimeShare[];
}

const MODULE_COMMENT = /^\/\/ (\S+\.(?:[cm]?[jt]s|json))$/;

/** Line → module of an unminified esbuild bundle. */
export class BundleMap {
  readonly #starts: { line: number; module: string }[] = [];

  constructor(readonly file: string) {
    for (const [index, line] of fs.readFileSync(file, 'utf8').split('\n').entries()) {
      const match = MODULE_COMMENT.exec(line);
      if (match) this.#starts.push({ line: index, module: match[1]! });
    }
  }

  /** The module a zero-based line belongs to. */
  moduleAt(line: number): string {
    let low = 0;
    let high = this.#starts.length - 1;
    let found = '(bundle prelude)';
    while (low <= high) {
      const middle = (low + high) >> 1;
      const start = this.#starts[middle]!;
      if (start.line <= line) {
        found = start.module;
        low = middle + 1;
      } else high = middle - 1;
    }
    return found;
  }
}

/** Merges the main-thread profiles in `dir` (one per process) and summarizes their self time. */
export function summarizeProfiles(dir: string, bundle: BundleMap, top = 12): ProfileSummary {
  const byArea = new Map<string, number>();
  const byGroup = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let totalMs = 0;
  for (const file of fs.readdirSync(dir).filter(isMainThreadProfile)) {
    const profile = JSON.parse(fs.readFileSync(`${dir}/${file}`, 'utf8')) as CpuProfile;
    const nodes = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
    for (const [index, id] of profile.samples.entries()) {
      const frame = nodes.get(id);
      if (frame === undefined) continue;
      const ms = (profile.timeDeltas[index] ?? 0) / 1000;
      totalMs += ms;
      const module = moduleOf(frame, bundle);
      const area = areaOf(module);
      byArea.set(area, (byArea.get(area) ?? 0) + ms);
      byGroup.set(groupOf(area), (byGroup.get(groupOf(area)) ?? 0) + ms);
      // Bundle line numbers say nothing about the source, so functions are named by module only.
      const name =
        frame.url === ''
          ? frame.functionName.startsWith('(')
            ? frame.functionName
            : `${frame.functionName} (native)`
          : `${frame.functionName || '(anonymous)'} — ${shortModule(module)}`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    }
  }
  const shares = (map: Map<string, number>) =>
    [...map]
      .sort(([, a], [, b]) => b - a)
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms, share: totalMs === 0 ? 0 : ms / totalMs }));
  return {
    totalMs,
    idleMs: byArea.get('(idle)') ?? 0,
    groups: shares(byGroup),
    areas: shares(byArea),
    functions: shares(byFunction),
  };
}

/** Node names profiles `CPU.<date>.<time>.<pid>.<thread>.<sequence>.cpuprofile`; thread 0 is the main one. */
function isMainThreadProfile(name: string): boolean {
  return name.endsWith('.cpuprofile') && name.split('.')[4] === '0';
}

/** The module of a frame: a bundled module's path, a `node:` URL, or `(idle)`, `(garbage collector)`... */
function moduleOf(frame: ProfileNode['callFrame'], bundle: BundleMap): string {
  const { url, functionName } = frame;
  // Frames without a script are V8's own "(idle)", "(garbage collector)", "(program)", or native code:
  // mostly the system calls behind socket writes and file I/O.
  if (url === '') return functionName.startsWith('(') ? functionName : '(native: system calls, I/O)';
  if (url.startsWith('node:')) return url;
  const file = url.startsWith('file:') ? fileURLToPath(url) : url;
  return file === bundle.file ? bundle.moduleAt(frame.lineNumber) : file;
}

/** `lib/adapters/s3-message-store.ts`, `@aws-sdk/client-s3`, `node:internal/streams`, `(garbage collector)`... */
function areaOf(module: string): string {
  if (module.startsWith('node:')) {
    const parts = module.slice('node:'.length).split('/');
    return `node:${parts.slice(0, parts[0] === 'internal' ? 2 : 1).join('/')}`;
  }
  const modules = module.lastIndexOf('node_modules/');
  if (modules < 0) return module;
  const rest = module.slice(modules + 'node_modules/'.length).split('/');
  return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? module);
}

const AWS_SDK = /^@(aws-sdk|smithy|aws-crypto)\/|^(fast-xml-parser|strnum|tslib|bowser)$/;
const CONFIG_VALIDATION = /^(ajv|ajv-formats|fast-uri|fast-deep-equal|json-schema-traverse)$/;

function groupOf(area: string): string {
  if (AWS_SDK.test(area)) return 'AWS SDK';
  if (CONFIG_VALIDATION.test(area)) return 'config validation (ajv)';
  if (area.startsWith('lib/')) return 'mailbox-poller (lib/)';
  // "(bundle prelude)" is esbuild's module wrappers at the top of the bundle.
  if (area === 'node:internal/modules' || area === 'node:internal/bootstrap' || area === '(bundle prelude)')
    return 'module loading';
  if (area.startsWith('node:')) return 'Node.js runtime (streams, events, http, crypto…)';
  if (area.startsWith('(native')) return 'system calls, I/O (native)';
  if (area.startsWith('(')) return area;
  return 'other packages';
}

/** A module path short enough for a table: its package (if any) and file name. */
function shortModule(module: string): string {
  const area = areaOf(module);
  const file = module.split('/').at(-1) ?? module;
  return area === module || area.startsWith('node:') ? module : `${area}/…/${file}`;
}
