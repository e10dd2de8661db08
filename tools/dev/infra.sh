#!/usr/bin/env bash
# Makes sure PostgreSQL, Redis and RabbitMQ answer on 127.0.0.1. Where a Docker engine runs,
# `docker compose` starts them from docker-compose.yml; otherwise the locally installed servers
# are started, installed from Debian's packages when absent (root only), or it says exactly what
# to install. MongoDB is optional: without MONGODB_URI the personal store runs on PostgreSQL (see
# docs/decisions/0002-personal-store-backends.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
# Set by the compose path for tools/dev/run.sh (the compose PostgreSQL has a password).
infra_env=.local/infra.env

wait_for() { # name, check command, attempts (1 s apart)
  local name=$1 check=$2 attempts=$3 i
  for ((i = 0; i < attempts; i++)); do
    if eval "$check" >/dev/null 2>&1; then echo "infra: $name is up"; return 0; fi
    sleep 1
  done
  echo "infra: $name did not answer after ${attempts}s" >&2
  return 1
}

apt_install() { # packages...
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "infra: please install: $* (or start a Docker engine: this script then runs them with docker compose)" >&2
    exit 1
  fi
  if [ -z "${afc_apt_updated:-}" ]; then apt-get update -qq; afc_apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Plain TCP probes for machines without the client tools (a Docker host).
tcp_answers() { timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
redis_pongs() {
  timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/6379 && printf "PING\r\n" >&3 && head -c 5 <&3' 2>/dev/null | grep -q PONG
}
pg_answers() {
  if command -v pg_isready >/dev/null 2>&1; then pg_isready -h 127.0.0.1 -p 5432 -q; else tcp_answers 5432; fi
}

# A listening port is not enough: a wedged broker accepts TCP and never answers the AMQP
# protocol header. The check sends it and waits (bounded) for the first byte of Connection.Start.
amqp_answers() {
  timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/5672 && printf "AMQP\x00\x00\x09\x01" >&3 && head -c 1 <&3 | od -An -tx1 | grep -q 01' 2>/dev/null
}

# Compose with a running engine: `docker compose` (v2, waits for the healthchecks) or the older
# `docker-compose` (no --wait: the checks below wait). Only the infrastructure: `npm start` runs
# the services themselves from source. Empty where no engine (or no compose) runs.
compose=()
if command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1; then
  if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
  elif command -v docker-compose >/dev/null 2>&1; then
    compose=(docker-compose)
  fi
fi

compose_up() { # the compose services to start (those not answering)
  echo "infra: starting $* with ${compose[*]}"
  if [ "${compose[0]}" = docker ]; then
    "${compose[@]}" up -d --wait "$@"
  else
    "${compose[@]}" up -d "$@"
  fi
}

# Whether this project's compose PostgreSQL is the one answering: started now or by an earlier
# run (`ps -q` of the older docker-compose also lists stopped containers, hence the inspect).
compose_runs_postgres() {
  local id
  id=$("${compose[@]}" ps -q postgres 2>/dev/null | head -1) || true
  [ -n "$id" ] && [ "$(docker inspect -f '{{.State.Running}}' "$id" 2>/dev/null)" = true ]
}

# The compose PostgreSQL checks a password on TCP (docker-compose.yml, POSTGRES_PASSWORD): the
# services and the tests (@afc/testkit) are given it. A later run, where everything already
# answers, keeps the file an earlier one wrote unless the environment now says otherwise.
compose_settings() {
  if ! compose_runs_postgres; then rm -f "$infra_env"; return 0; fi
  if [ -f "$infra_env" ] && [ -z "${POSTGRES_PASSWORD:-}${DATABASE_URL:-}${TEST_POSTGRES_URL:-}" ]; then
    return 0
  fi
  mkdir -p .local
  local password=${POSTGRES_PASSWORD:-postgres}
  {
    printf 'export DATABASE_URL=%q\n' "${DATABASE_URL:-postgres://postgres:$password@127.0.0.1:5432/atlanticfrewaycard}"
    printf 'export TEST_POSTGRES_URL=%q\n' "${TEST_POSTGRES_URL:-postgres://postgres:$password@127.0.0.1:5432/postgres}"
  } >"$infra_env"
}

start_local_postgres() {
  local pg_check='pg_isready -h 127.0.0.1 -p 5432 -q'
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then apt_install postgresql postgresql-client; fi
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
  # Local development trusts loopback connections, as the machines here are set up.
  wait_for postgresql "$pg_check" 30
}

start_local_redis() {
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  wait_for redis redis_pongs 30
}

start_local_rabbitmq() {
  command -v rabbitmq-server >/dev/null 2>&1 || apt_install rabbitmq-server
  if pgrep -u rabbitmq beam.smp >/dev/null 2>&1; then
    echo "infra: rabbitmq is running but does not answer AMQP; restarting it" >&2
    timeout 30 rabbitmqctl stop >/dev/null 2>&1 || pkill -9 -u rabbitmq beam.smp || true
    sleep 1
  fi
  rabbitmq-server -detached || true
  wait_for rabbitmq amqp_answers 90
}

missing=()
pg_answers >/dev/null 2>&1 || missing+=(postgres)
redis_pongs || missing+=(redis)
amqp_answers || missing+=(rabbitmq)

if [ "${#compose[@]}" -gt 0 ]; then
  if [ "${#missing[@]}" -gt 0 ]; then compose_up "${missing[@]}"; fi
  wait_for postgresql pg_answers 60
  wait_for redis redis_pongs 60
  wait_for rabbitmq amqp_answers 120
  compose_settings
  exit 0
fi

# Without compose the servers answering are local ones, which need no settings.
rm -f "$infra_env"
for service in postgres redis rabbitmq; do
  name=$service
  if [ "$service" = postgres ]; then name=postgresql; fi
  if [[ " ${missing[*]} " == *" $service "* ]]; then
    "start_local_$service"
  else
    echo "infra: $name is up"
  fi
done
