import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  composeProblems,
  deployablePackages,
  dockerignoreProblems,
  lintDockerfile,
  lintRepository,
  parseInstructions,
} from '../src/lint-dockerfiles.ts';

const good = `# syntax comment
FROM node:24-bookworm-slim AS build
RUN npm install -g pnpm@10.34.8
RUN pnpm --filter @afc/x deploy --prod --legacy /out

FROM node:24-bookworm-slim
COPY --from=build /out /app
USER node
HEALTHCHECK --interval=10s --timeout=3s \\
  CMD ["node", "-e", "fetch('http://127.0.0.1:3000/health')"]
CMD ["node", "dist/server.js"]
`;

describe('Dockerfile lint', () => {
  it('passes the Dockerfile, and docker-compose.yml builds every deployable package from it', () => {
    const results = lintRepository();
    expect([...results.keys()]).toEqual(['Dockerfile', 'docker-compose.yml', '.dockerignore']);
    for (const [name, problems] of results) expect(problems, name).toEqual([]);
  });

  it('reports a compose build of another Dockerfile, without a port, of an unknown or of no package', async () => {
    const root = await mkdtemp(join(tmpdir(), 'afc-compose-'));
    try {
      await mkdir(join(root, 'services', 'api'), { recursive: true });
      await mkdir(join(root, 'services', 'authorizer'));
      await writeFile(
        join(root, 'docker-compose.yml'),
        [
          'services:',
          '  api:',
          '    build: { context: ., dockerfile: services/api/Dockerfile, args: { PACKAGE: api } }',
          '  ledger:',
          '    build: { context: ., args: { PACKAGE: ledger, PORT: "3009" } }',
          '  authorizer:',
          '    build: { context: ., args: { PACKAGE: authorizer, PORT: "3003" } }',
          '',
        ].join('\n'),
      );
      expect(composeProblems(root, deployablePackages(root))).toEqual([
        'a build uses services/api/Dockerfile, not the root Dockerfile',
        'the build of api passes no PORT',
        'a build has PACKAGE "ledger", which is no deployable package',
        'the build of authorizer passes PORT 3003, its port is 3001',
        'docker-compose.yml builds no image of marqeta-sim',
      ]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('joins continuation lines and skips comments', () => {
    const healthcheck = parseInstructions(good).find((i) => i.keyword === 'HEALTHCHECK');
    expect(healthcheck?.line).toBe(9);
    expect(healthcheck?.argument).toContain('CMD ["node", "-e"');
    expect(lintDockerfile(good)).toEqual([]);
  });

  it('reports what the Docker builder would refuse', () => {
    const problems = lintDockerfile(`${good}HEALTHCHECK --interva=30s CMD ls\nADD app.zip\n`);
    expect(problems.some((p) => p.includes('Unknown flag: interva'))).toBe(true);
    expect(problems.some((p) => p.includes('ADD requires at least two arguments'))).toBe(true);
  });

  it('reports each broken rule of ours', () => {
    const single_stage_root = 'FROM node:20\nRUN npm ci\nCMD node server.js\n';
    expect(lintDockerfile(single_stage_root)).toEqual([
      'not multi-stage (one FROM)',
      'line 1: base image is not a node:24 tag: node:20',
      'no `pnpm deploy --prod` build step',
      'final stage runs as root (no USER)',
      'final stage has no HEALTHCHECK on /health',
      'final stage has no exec-form CMD',
    ]);
    const root_again = good.replace('USER node', 'USER root');
    expect(lintDockerfile(root_again)).toEqual(['final stage runs as root (no USER)']);
  });

  it('keeps the local secrets out of the build context', () => {
    expect(dockerignoreProblems('.git\n/.local/\n**/.env\n')).toEqual([]);
    expect(dockerignoreProblems('.env\n# .local\n.localized\n')).toEqual([
      '.dockerignore does not keep .local out of the build context',
    ]);
  });
});
