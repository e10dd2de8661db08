import type { Logger } from '@afc/log';

// Why a wrapper and not postgres.js's `debug` hook: `debug` fires when a query is written to a
// socket but never when it completes, so it cannot time anything; and turning it on makes
// postgres.js capture a stack per query and attach the parameter VALUES to every error as
// enumerable properties, which an error serializer would then write to the log. Instead the
// `sql` function is wrapped in a Proxy: every query it (or `unsafe`, `file`, a transaction's
// or reserved connection's `sql`) creates is returned behind a thin Proxy whose `then` starts
// a timer the first time the query is awaited (postgres.js queries are lazy: awaiting is what
// runs them) and stops it when the query settles. The measured time includes waiting for a
// free connection, which is what the caller experiences. Queries consumed only through
// `cursor()` or COPY streams are not timed.

export interface QueryCounters {
  in_flight: number;
  completed: number;
  failed: number;
  slow: number;
}

export interface QueryObserver {
  readonly counters: QueryCounters;
  readonly slow_query_ms: number;
  readonly logger: Logger;
}

// A migration can be a whole schema: the log gets its head, which is enough to recognise it.
const max_statement_chars = 1_000;

type AnyFunction = (...args: unknown[]) => unknown;

interface StatementMeta {
  readonly statement?: { readonly string?: unknown };
}

export function createQueryObserver(logger: Logger, slow_query_ms: number): QueryObserver {
  return { counters: { in_flight: 0, completed: 0, failed: 0, slow: 0 }, slow_query_ms, logger };
}

export function instrumentSql<S extends object>(sql: S, observer: QueryObserver): S {
  return new Proxy(sql, {
    apply(target, this_arg, args: unknown[]) {
      const result = Reflect.apply(target as AnyFunction, this_arg, args);
      return observeQuery(result, observer, templateText(args[0]));
    },
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      const method = value as AnyFunction;
      switch (property) {
        case 'unsafe':
          return (...args: unknown[]) =>
            observeQuery(method.apply(target, args), observer, typeof args[0] === 'string' ? args[0] : '');
        case 'file':
          return (...args: unknown[]) =>
            observeQuery(method.apply(target, args), observer, `[file ${String(args[0])}]`);
        case 'begin':
        case 'savepoint':
          return (...args: unknown[]) => method.apply(target, instrumentScopeCallback(args, observer));
        case 'reserve':
          return async () => instrumentSql((await method.apply(target)) as object, observer);
        default:
          return value;
      }
    },
  });
}

// begin(fn), begin(mode, fn), savepoint(fn), savepoint(name, fn): the callback is last and gets
// a fresh `sql` bound to the transaction's connection, which is wrapped too.
function instrumentScopeCallback(args: unknown[], observer: QueryObserver): unknown[] {
  const last = args.at(-1);
  if (typeof last !== 'function') return args;
  const callback = last as (scoped: object) => unknown;
  return [...args.slice(0, -1), (scoped: object) => callback(instrumentSql(scoped, observer))];
}

function observeQuery(result: unknown, observer: QueryObserver, fallback_text: string): unknown {
  // Identifiers and insert/update helpers (sql('name'), sql(rows)) are not queries.
  if (!(result instanceof Promise)) return result;
  const query = result;
  let started = false;
  const proxy: Promise<unknown> = new Proxy(query, {
    get(target, property) {
      if (property === 'then') {
        return (on_fulfilled?: AnyFunction, on_rejected?: AnyFunction) => {
          if (!started) {
            started = true;
            track(target, observer, fallback_text);
          }
          return target.then(on_fulfilled, on_rejected);
        };
      }
      // Promise.prototype.catch/finally call this.then: routed through the proxy they start the timer.
      if (property === 'catch')
        return (on_rejected?: AnyFunction) => Promise.prototype.catch.call(proxy, on_rejected);
      if (property === 'finally')
        return (on_finally?: () => void) => Promise.prototype.finally.call(proxy, on_finally);
      const value: unknown = Reflect.get(target, property, target);
      if (property === 'constructor' || typeof value !== 'function') return value;
      // Modifiers (values(), raw(), simple(), describe(), execute()…) return the query itself:
      // hand back the proxy so the chain stays observed.
      return (...args: unknown[]) => {
        const returned = (value as AnyFunction).apply(target, args);
        return returned === target ? proxy : returned;
      };
    },
  });
  return proxy;
}

function track(query: Promise<unknown>, observer: QueryObserver, fallback_text: string): void {
  const { counters } = observer;
  counters.in_flight += 1;
  const started_at = performance.now();
  // Attached before the caller's handlers, so the counters are settled when the caller resumes.
  query.then(
    (result) => finish(observer, started_at, statementText(result, fallback_text), undefined),
    (error: unknown) => finish(observer, started_at, fallback_text, error),
  );
}

function finish(observer: QueryObserver, started_at: number, text: string, error: unknown): void {
  const { counters } = observer;
  counters.in_flight -= 1;
  if (error === undefined) counters.completed += 1;
  else counters.failed += 1;
  const duration_ms = performance.now() - started_at;
  if (duration_ms <= observer.slow_query_ms) return;
  counters.slow += 1;
  // Only the statement text (placeholders, never values) and the error's SQLSTATE: an error
  // message or detail can quote a value ("Key (jit_token)=(…) already exists").
  observer.logger.warn(
    {
      statement: compact(text),
      duration_ms: Math.round(duration_ms),
      failed: error !== undefined,
      ...(error === undefined ? {} : { error_code: errorCode(error) }),
    },
    'slow postgres query',
  );
}

// One line without SQL comments: multi-line template literals and migration headers stay
// readable in a JSON log. Only the log's copy is changed.
function compact(text: string): string {
  return text
    .replace(/--[^\n]*/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, max_statement_chars);
}

// The text postgres.js sent ($1, $2 … for values, helpers expanded) when the result carries it.
function statementText(result: unknown, fallback_text: string): string {
  const text = (result as StatementMeta | null)?.statement?.string;
  return typeof text === 'string' ? text : fallback_text;
}

// The tagged template's literal parts with numbered placeholders: our own input, never values.
function templateText(first: unknown): string {
  if (!Array.isArray(first) || !('raw' in first)) return '';
  return first
    .map((part: unknown, index: number) => (index === 0 ? String(part) : `$${index}${String(part)}`))
    .join('');
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
