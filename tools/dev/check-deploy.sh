#!/usr/bin/env bash
# Does locally what the Dockerfile does for one package, then proves the result starts:
#   turbo build of the package and its dependencies → pnpm deploy --prod --legacy into a temp
#   dir → `node dist/server.js` there (plain node, no @afc/source condition) against a throwaway
#   database, Redis key prefix and AMQP namespace → GET /health = 200 → SIGTERM → clean exit.
# Usage: tools/dev/check-deploy.sh <authorizer|api|card-issuer|webhooks|settlement|marqeta-sim>
# Needs the local PostgreSQL, Redis and RabbitMQ (tools/dev/infra.sh). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/dev/env.sh
set -euo pipefail
root="$(pwd)"

service="${1:-}"
case "$service" in
  authorizer | api | card-issuer | webhooks | settlement) dir="services/$service" ;;
  marqeta-sim) dir="tools/marqeta-sim" ;;
  *)
    echo "usage: tools/dev/check-deploy.sh authorizer|api|card-issuer|webhooks|settlement|marqeta-sim" >&2
    exit 2
    ;;
esac
pkg="@afc/$service"
# Every image answers GET /health without credentials (the Dockerfile's HEALTHCHECK).
health_path=/health
health_timeout_s="${CHECK_DEPLOY_HEALTH_TIMEOUT_S:-30}"
stop_timeout_s="${CHECK_DEPLOY_STOP_TIMEOUT_S:-15}"

postgres_admin_url="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
redis_url="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"
amqp_url="${TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672}"

id="deploy_$(date +%s)_$$"
database="afc_check_${id}"
key_prefix="afc-check-${id}:"
namespace="afc-check-${id//_/-}"
work="$(mktemp -d "${TMPDIR:-/tmp}/afc-check-deploy.XXXXXX")"
out="$work/out"
log="$work/server.log"
pid=""
database_created=""
started=$SECONDS

say() { echo "check-deploy[$service]: $*" >&2; }

# Helpers run from workspace packages so their dependencies resolve (postgres, ioredis, @afc/amqp).
node_in() {
  local cwd="$1"
  shift
  (cd "$root/$cwd" && node --conditions=@afc/source --input-type=module -e "$@")
}

cleanup() {
  local status=$?
  set +e
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  if [ "$service" != marqeta-sim ]; then
    if [ -n "$database_created" ]; then
      DB="$database" URL="$postgres_admin_url" node_in packages/testkit "
        import postgres from 'postgres';
        const sql = postgres(process.env.URL, { max: 1, connect_timeout: 5, onnotice: () => {} });
        await sql.unsafe('drop database if exists \"' + process.env.DB + '\" with (force)');
        await sql.end({ timeout: 5 });" || {
        say "could not drop database $database"
        status=1
      }
    fi
    PREFIX="$key_prefix" URL="$redis_url" node_in packages/testkit "
      import { Redis } from 'ioredis';
      const redis = new Redis(process.env.URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await redis.connect();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', process.env.PREFIX + '*', 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== '0');
      redis.disconnect();" || {
      say "could not delete Redis keys $key_prefix*"
      status=1
    }
    NS="$namespace" URL="$amqp_url" node_in services/"$service" "
      import { deleteTopology, product_topology } from '@afc/amqp';
      await deleteTopology(process.env.URL, { ...product_topology, namespace: process.env.NS });" || {
      say "could not delete the queues of namespace $namespace"
      status=1
    }
  fi
  if [ "$status" -ne 0 ] && [ -f "$log" ]; then
    say "server log (last 40 lines):"
    tail -n 40 "$log" >&2
  fi
  rm -rf "$work"
  say "$([ "$status" -eq 0 ] && echo ok || echo FAILED) in $((SECONDS - started))s"
  exit "$status"
}
trap cleanup EXIT

say "build: pnpm turbo run build --filter=$pkg..."
pnpm turbo run build "--filter=$pkg..." --output-logs=errors-only >&2

say "deploy: pnpm --filter $pkg deploy --prod --legacy $out"
pnpm --filter "$pkg" deploy --prod --legacy "$out" >"$work/deploy.log" 2>&1 || {
  cat "$work/deploy.log" >&2
  exit 1
}
[ -f "$out/dist/server.js" ] || {
  say "$out/dist/server.js is missing"
  exit 1
}
[ ! -e "$out/node_modules/@afc/testkit" ] || {
  say "the deploy holds @afc/testkit: a dev dependency leaked into production"
  exit 1
}

if [ "$service" != marqeta-sim ]; then
  DB="$database" URL="$postgres_admin_url" node_in packages/testkit "
    import postgres from 'postgres';
    const sql = postgres(process.env.URL, { max: 1, connect_timeout: 5, onnotice: () => {} });
    await sql.unsafe('create database \"' + process.env.DB + '\"');
    await sql.end({ timeout: 5 });"
  database_created=1
fi
[ "$service" != marqeta-sim ] || say "marqeta-sim keeps its state in memory: no database, keys or queues"
database_url="$(URL="$postgres_admin_url" DB="$database" node -e '
  const url = new URL(process.env.URL); url.pathname = "/" + process.env.DB; console.log(url.toString());')"

say "start: node dist/server.js (PORT=0, database $database, prefix $key_prefix, namespace $namespace)"
(
  cd "$out"
  exec env -u NODE_OPTIONS NODE_ENV=production HOST=127.0.0.1 PORT=0 LOG_LEVEL=info \
    DATABASE_URL="$database_url" REDIS_URL="$redis_url" REDIS_KEY_PREFIX="$key_prefix" \
    AMQP_URL="$amqp_url" AMQP_NAMESPACE="$namespace" \
    node dist/server.js
) >"$log" 2>&1 &
pid=$!

# The server logs its address once listening (PORT=0 lets the kernel pick a free port); the
# simulator logs its Core API url instead.
address=""
deadline=$((SECONDS + health_timeout_s))
while [ -z "$address" ]; do
  kill -0 "$pid" 2>/dev/null || {
    say "the server exited before listening"
    exit 1
  }
  [ "$SECONDS" -lt "$deadline" ] || {
    say "no 'listening' log line within ${health_timeout_s}s"
    exit 1
  }
  address="$(sed -n 's/.*"\(address\|url\)":"\(http:\/\/[^/"]*\)[^"]*".*/\2/p' "$log" | head -n 1)"
  [ -n "$address" ] || sleep 0.2
done

health_status=""
while [ "$health_status" != 200 ]; do
  [ "$SECONDS" -lt "$deadline" ] || {
    say "GET $address$health_path did not answer 200 within ${health_timeout_s}s (last: ${health_status:-none})"
    exit 1
  }
  health_status="$(ADDRESS="$address" HEALTH_PATH="$health_path" node -e '
    fetch(process.env.ADDRESS + process.env.HEALTH_PATH, { signal: AbortSignal.timeout(2000) })
      .then((r) => console.log(r.status), () => console.log("error"))')"
  [ "$health_status" = 200 ] || sleep 0.3
done
say "GET $address$health_path = 200"

kill -TERM "$pid"
stop_deadline=$((SECONDS + stop_timeout_s))
while kill -0 "$pid" 2>/dev/null; do
  [ "$SECONDS" -lt "$stop_deadline" ] || {
    say "still running ${stop_timeout_s}s after SIGTERM"
    exit 1
  }
  sleep 0.2
done
set +e
wait "$pid"
exit_code=$?
set -e
pid=""
[ "$exit_code" -eq 0 ] || {
  say "exited with $exit_code after SIGTERM"
  exit 1
}
say "stopped cleanly on SIGTERM"
