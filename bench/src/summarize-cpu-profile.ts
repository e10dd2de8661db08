import { readFile } from 'node:fs/promises';

// `node src/summarize-cpu-profile.ts <file.cpuprofile>`: where a V8 CPU profile (from
// BENCH_CPU_PROF_DIR) spent its self time, by area (package or Node internals) and by
// function. Enough to say what dominates, without opening DevTools.

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function areaOf(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)';
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules)/.exec(url);
  if (module?.[1] !== undefined) return module[1];
  const workspace = /\/(packages|services|tools|bench)\/([^/]+)\//.exec(url);
  if (workspace?.[2] !== undefined) return `${workspace[1]}/${workspace[2]}`;
  if (url.startsWith('node:')) return 'node internals';
  return url;
}

function selfTimes(profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  return self;
}

function table(title: string, totals: Map<string, number>, all_us: number, rows: number): string[] {
  const lines = [title];
  for (const [key, us] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
    lines.push(
      `${((us / all_us) * 100).toFixed(1).padStart(6)} %  ${(us / 1_000).toFixed(0).padStart(7)} ms  ${key}`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: summarize-cpu-profile.ts <file.cpuprofile>');
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const by_area = new Map<string, number>();
  const by_function = new Map<string, number>();
  let all_us = 0;
  for (const [id, us] of selfTimes(profile)) {
    const frame = nodes.get(id)?.callFrame;
    if (frame === undefined) continue;
    all_us += us;
    const area = areaOf(frame.url, frame.functionName);
    by_area.set(area, (by_area.get(area) ?? 0) + us);
    const where =
      frame.url === ''
        ? ''
        : ` ${frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(packages|services|bench)\//, '$1/')}:${frame.lineNumber + 1}`;
    const name = `${frame.functionName || '(anonymous)'}${where}`;
    by_function.set(name, (by_function.get(name) ?? 0) + us);
  }
  const lines = [
    ...table('self time by area', by_area, all_us, 25),
    '',
    ...table('self time by function', by_function, all_us, 40),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
