import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationSeverity, type ValidatorSettings, validate } from 'dockerfile-utils';
import { local_ports } from './platform.ts';

// No Docker engine runs where this project is built and tested, so the Dockerfile is checked
// two ways without one: dockerfile-utils' validator (the checks the Docker builder itself makes
// before building: unknown flags, missing arguments, bad JSON forms...) with every optional
// check raised to an error, and the rules every image of ours must keep (README "Containers").

const repository_root = fileURLToPath(new URL('../../../', import.meta.url));

const strict_builder_checks: ValidatorSettings = {
  deprecatedMaintainer: ValidationSeverity.ERROR,
  directiveCasing: ValidationSeverity.ERROR,
  emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR,
  instructionCmdMultiple: ValidationSeverity.ERROR,
  instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR,
  instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
  instructionWorkdirRelative: ValidationSeverity.ERROR,
};

export interface Instruction {
  readonly keyword: string;
  readonly argument: string;
  readonly line: number;
}

// Instructions with continuation lines joined, comments and blank lines dropped.
export function parseInstructions(content: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  content.split('\n').forEach((raw, index) => {
    const text = raw.trim();
    if (pending === undefined && (text === '' || text.startsWith('#'))) return;
    if (pending !== undefined && text.startsWith('#')) return;
    const continued = text.endsWith('\\');
    const piece = continued ? text.slice(0, -1) : text;
    pending =
      pending === undefined
        ? { text: piece, line: index + 1 }
        : { ...pending, text: `${pending.text} ${piece}` };
    if (continued) return;
    const [keyword = '', ...rest] = pending.text.split(/\s+/);
    instructions.push({ keyword: keyword.toUpperCase(), argument: rest.join(' '), line: pending.line });
    pending = undefined;
  });
  return instructions;
}

// The final stage: everything after the last FROM.
function finalStage(instructions: readonly Instruction[]): readonly Instruction[] {
  const last_from = instructions.map((i) => i.keyword).lastIndexOf('FROM');
  return last_from < 0 ? [] : instructions.slice(last_from);
}

// Our rules: multi-stage, `pnpm deploy --prod` in a build stage, Node 24 images, an unprivileged
// user, a HEALTHCHECK on /health, and an exec-form CMD (signals reach node, not a shell).
export function projectRuleProblems(content: string): string[] {
  const all = parseInstructions(content);
  const froms = all.filter((i) => i.keyword === 'FROM');
  const final = finalStage(all);
  const problems: string[] = [];
  if (froms.length < 2) problems.push('not multi-stage (one FROM)');
  for (const from of froms)
    if (!/^node:24[-.\w]*(\s+AS\s+\w+)?$/i.test(from.argument))
      problems.push(`line ${from.line}: base image is not a node:24 tag: ${from.argument}`);
  if (!all.some((i) => i.keyword === 'RUN' && /\bpnpm\b.*\bdeploy\b.*--prod\b/.test(i.argument)))
    problems.push('no `pnpm deploy --prod` build step');
  const users = final.filter((i) => i.keyword === 'USER').map((i) => i.argument.split(':')[0]);
  const user = users.at(-1);
  if (user === undefined || user === 'root' || user === '0')
    problems.push('final stage runs as root (no USER)');
  const healthcheck = final.find((i) => i.keyword === 'HEALTHCHECK');
  if (healthcheck === undefined || !healthcheck.argument.includes('/health'))
    problems.push('final stage has no HEALTHCHECK on /health');
  const cmd = final.filter((i) => i.keyword === 'CMD').at(-1);
  if (cmd === undefined || !cmd.argument.startsWith('[')) problems.push('final stage has no exec-form CMD');
  return problems;
}

export function lintDockerfile(content: string): string[] {
  const builder = validate(content, strict_builder_checks).map(
    (d) => `line ${d.range.start.line + 1}: ${d.message}`,
  );
  return [...builder, ...projectRuleProblems(content)];
}

// What is deployed as an image: every service, and the Marqeta simulator.
const deployed_tools = ['marqeta-sim'];

export function deployablePackages(root: string): string[] {
  const services = readdirSync(join(root, 'services'))
    .filter((name) => statSync(join(root, 'services', name)).isDirectory())
    .sort();
  return [...services, ...deployed_tools];
}

interface ComposeBuild {
  readonly package_name: string;
  readonly port: string | undefined;
  readonly dockerfile: string | undefined;
}

// Each `build:` of docker-compose.yml (one line, flow style, as the file writes them).
function composeBuilds(compose: string): ComposeBuild[] {
  return [...compose.matchAll(/^\s*build:\s*(\{.*\})\s*$/gm)].map((match) => {
    const build = match[1] ?? '';
    return {
      package_name: /PACKAGE:\s*"?([\w-]+)"?/.exec(build)?.[1] ?? '',
      port: /PORT:\s*"?(\d+)"?/.exec(build)?.[1],
      dockerfile: /dockerfile:\s*([^\s,}]+)/.exec(build)?.[1],
    };
  });
}

// docker-compose.yml builds every deployable package from the root Dockerfile, with the port
// it listens on (its config default, as tools/dev/src/platform.ts lists them), and builds
// nothing else.
export function composeProblems(root: string, packages: readonly string[]): string[] {
  const ports: Readonly<Record<string, number>> = local_ports;
  const builds = composeBuilds(readFileSync(join(root, 'docker-compose.yml'), 'utf8'));
  const problems: string[] = [];
  for (const build of builds) {
    if (build.dockerfile !== undefined && build.dockerfile !== 'Dockerfile')
      problems.push(`a build uses ${build.dockerfile}, not the root Dockerfile`);
    if (!packages.includes(build.package_name))
      problems.push(`a build has PACKAGE "${build.package_name}", which is no deployable package`);
    const port = ports[build.package_name];
    if (build.port === undefined) problems.push(`the build of ${build.package_name} passes no PORT`);
    else if (port !== undefined && build.port !== String(port))
      problems.push(`the build of ${build.package_name} passes PORT ${build.port}, its port is ${port}`);
  }
  for (const name of packages)
    if (!builds.some((build) => build.package_name === name))
      problems.push(`docker-compose.yml builds no image of ${name}`);
  return problems;
}

// The build context is the repository root: what holds secrets on a developer's machine stays
// out of it (.env; .local has the demo seed with its API key and infra.env with a password).
const kept_out_of_context = ['.env', '.local'];

export function dockerignoreProblems(content: string): string[] {
  const entries = new Set(
    content
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => line.replace(/^\/+|\/+$/g, '')),
  );
  return kept_out_of_context
    .filter((name) => !entries.has(name) && !entries.has(`**/${name}`))
    .map((name) => `.dockerignore does not keep ${name} out of the build context`);
}

export function lintRepository(root: string = repository_root): Map<string, string[]> {
  const results = new Map<string, string[]>();
  results.set('Dockerfile', lintDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8')));
  results.set('docker-compose.yml', composeProblems(root, deployablePackages(root)));
  results.set('.dockerignore', dockerignoreProblems(readFileSync(join(root, '.dockerignore'), 'utf8')));
  return results;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const lines: string[] = [];
  let failed = 0;
  for (const [name, problems] of lintRepository()) {
    lines.push(problems.length === 0 ? `ok    ${name}` : `FAIL  ${name}`);
    for (const problem of problems) lines.push(`      ${problem}`);
    failed += problems.length;
  }
  lines.push(failed === 0 ? 'dockerfiles: no problems' : `dockerfiles: ${failed} problem(s)`);
  process.stdout.write(`${lines.join('\n')}\n`);
  process.exitCode = failed === 0 ? 0 : 1;
}
