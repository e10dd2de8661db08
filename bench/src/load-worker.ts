import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '@afc/log';
import autocannon from 'autocannon';
import { jitBodyFactory, mixedBodyFactory } from './jit-traffic.ts';
import type { LoadInit, LoadRun, PhaseResult, PhaseSpec, WorkerReply } from './load-protocol.ts';

// The load generator, in a process of its own (forked by load-client.ts): autocannon and the
// building of request bodies never share an event loop or a core's time slice accounting
// with the server under test.

const logger = createLogger({ name: 'bench-load', level: 'warn', destination: process.stderr });

interface Tally {
  // Decisions only (200 approve, 402 decline): a shed 503 is fast and would flatter the figures.
  readonly decisions: RecordableHistogram;
  readonly all: RecordableHistogram;
  readonly status_counts: Record<string, number>;
}

function reply(message: WorkerReply): void {
  process.send?.(message);
}

function runInstance(options: autocannon.Options, tally: Tally): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error: unknown, result: autocannon.Result) => {
      if (error) reject(error instanceof Error ? error : new Error(String(error)));
      else resolve(result);
    });
    instance.on('response', (_client, status_code, _bytes, response_time_ms) => {
      // Microseconds: autocannon's own histogram keeps whole milliseconds only.
      const microseconds = Math.max(1, Math.round(response_time_ms * 1_000));
      tally.all.record(microseconds);
      if (status_code === 200 || status_code === 402) tally.decisions.record(microseconds);
      const key = String(status_code);
      tally.status_counts[key] = (tally.status_counts[key] ?? 0) + 1;
    });
  });
}

function instanceOptions(init: LoadInit, phase: PhaseSpec, nextBody: () => string) {
  return {
    url: phase.url,
    duration: phase.duration_s,
    pipelining: 1,
    timeout: phase.timeout_s,
    headers: { authorization: init.authorization, 'content-type': 'application/json' },
    requests: [
      {
        method: 'POST' as const,
        path: '/v1/jit',
        setupRequest: (request: autocannon.Request) => ({ ...request, body: nextBody() }),
      },
    ],
  };
}

// autocannon's overallRate gives each connection a quota per second that it sends back to back,
// every connection's second starting together: one instance offers its whole rate as a burst
// at the top of each second. Several instances, started evenly across the first second, spread
// the same rate over the second the way independent card networks' traffic arrives.
async function runLanes(init: LoadInit, phase: PhaseSpec, tally: Tally, nextBody: () => string) {
  const lanes = phase.overall_rate === undefined ? 1 : (phase.lanes ?? 1);
  const rate = phase.overall_rate;
  const per_lane_connections = Math.max(1, Math.ceil(phase.connections / lanes));
  const runs = Array.from({ length: lanes }, async (_unused, lane) => {
    await sleep(Math.floor((lane * 1_000) / lanes));
    const lane_rate = rate === undefined ? undefined : share(rate, lanes, lane);
    return runInstance(
      {
        ...instanceOptions(init, phase, nextBody),
        connections: per_lane_connections,
        ...(lane_rate === undefined ? {} : { overallRate: lane_rate }),
      },
      tally,
    );
  });
  return Promise.all(runs);
}

function share(total: number, parts: number, index: number): number {
  return Math.floor(total / parts) + (index < total % parts ? 1 : 0);
}

const round3 = (value: number) => Math.round(value * 1_000) / 1_000;
const ms = (microseconds: number) => round3(microseconds / 1_000);

function percentiles(h: RecordableHistogram): PhaseResult['latency_ms'] {
  if (h.count === 0) return null;
  return {
    min: ms(h.min),
    p50: ms(h.percentile(50)),
    p90: ms(h.percentile(90)),
    p99: ms(h.percentile(99)),
    p999: ms(h.percentile(99.9)),
    max: ms(h.max),
    mean: ms(h.mean),
  };
}

async function runPhase(init: LoadInit, phase: PhaseSpec): Promise<PhaseResult> {
  const tally: Tally = {
    decisions: createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 }),
    all: createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 }),
    status_counts: {},
  };
  const traffic = {
    cards: init.cards,
    token_prefix: `${init.token_prefix}-${phase.name}`,
    seed: phase.seed,
    decline_share: init.decline_share,
  };
  const nextBody =
    phase.follow_ups === undefined
      ? jitBodyFactory(traffic)
      : mixedBodyFactory({ ...traffic, follow_ups: phase.follow_ups });
  const started = process.hrtime.bigint();
  const results = await runLanes(init, phase, tally, nextBody);
  const wall_s = Number(process.hrtime.bigint() - started) / 1e9;
  const responses = Object.values(tally.status_counts).reduce((sum, count) => sum + count, 0);
  const decisions = (tally.status_counts['200'] ?? 0) + (tally.status_counts['402'] ?? 0);
  const sum = (pick: (result: autocannon.Result) => number) =>
    results.reduce((total, r) => total + pick(r), 0);
  // Each instance's own measured duration (lanes run side by side, staggered by under a second).
  const duration_s = results.length === 0 ? wall_s : sum((r) => r.duration) / results.length;
  const first = results[0];
  return {
    name: phase.name,
    connections: results.length * Math.max(1, Math.ceil(phase.connections / results.length)),
    overall_rate: phase.overall_rate ?? null,
    lanes: results.length,
    duration_s: round3(duration_s),
    sent: sum((r) => r.requests.sent),
    responses,
    decisions,
    req_per_s: Math.round(decisions / duration_s),
    responses_per_s: Math.round(responses / duration_s),
    latency_ms: percentiles(tally.decisions),
    latency_all_ms: percentiles(tally.all),
    status_counts: tally.status_counts,
    socket_errors: sum((r) => r.errors) - sum((r) => r.timeouts),
    timeouts: sum((r) => r.timeouts),
    autocannon: {
      requests_average: sum((r) => r.requests.average),
      latency_p50_ms: first?.latency.p50 ?? 0,
      latency_p99_ms: first?.latency.p99 ?? 0,
      non2xx: sum((r) => r.non2xx),
      errors: sum((r) => r.errors),
      timeouts: sum((r) => r.timeouts),
    },
  };
}

let init: LoadInit | undefined;

process.on('message', (message: LoadInit | LoadRun) => {
  if (message.type === 'init') {
    init = message;
    reply({ type: 'ready' });
    return;
  }
  const ready = init;
  if (ready === undefined) {
    reply({ type: 'failed', message: 'run before init' });
    return;
  }
  runPhase(ready, message.phase).then(
    (result) => reply({ type: 'result', result }),
    (error: unknown) => {
      logger.error({ err: error, phase: message.phase.name }, 'load phase failed');
      reply({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
    },
  );
});

// The benchmark owns this process: when it goes, so does the load.
process.on('disconnect', () => process.exit(0));
