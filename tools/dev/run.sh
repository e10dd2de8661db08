#!/usr/bin/env bash
# The two promised commands (`npm start`, `npm test`) and CI go through here, so that a machine
# with any Node and npm gets Node 24, pnpm, the locked dependencies and the local services.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/dev/env.sh

# Debian's docker-compose validates the compose file without a Docker engine (none runs here).
docker_compose_config() {
  if ! command -v docker-compose >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
    else
      echo "ci: docker-compose is not installed; cannot validate docker-compose.yml" >&2
      return 1
    fi
  fi
  docker-compose -f docker-compose.yml config -q
  echo "ci: docker-compose.yml is valid"
}

# Debian's nginx checks tools/nginx/nginx.conf (syntax, directives, values) as the compose
# nginx loads it. The replicas' names only resolve inside compose, so the check reads a copy
# with them pointed at 127.0.0.1; nothing is started.
nginx_config_check() {
  if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
    else
      echo "ci: nginx is not installed; cannot check tools/nginx/nginx.conf" >&2
      return 1
    fi
  fi
  local nginx_bin
  nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
  local scratch
  scratch="$(mktemp -d)"
  sed -E 's/authorizer-[0-9]+:/127.0.0.1:/' tools/nginx/nginx.conf > "$scratch/nginx.conf"
  if ! "$nginx_bin" -t -q -e stderr -p "$scratch" -c "$scratch/nginx.conf" -g "pid $scratch/nginx.pid;"; then
    rm -rf "$scratch"
    echo "ci: tools/nginx/nginx.conf is not valid" >&2
    return 1
  fi
  rm -rf "$scratch"
  echo "ci: tools/nginx/nginx.conf is valid"
}

# The infrastructure up (tools/dev/infra.sh), and the settings it leaves for the services when it
# used docker compose (the compose PostgreSQL's password).
infrastructure() {
  bash tools/dev/infra.sh
  if [ -f .local/infra.env ]; then source .local/infra.env; fi
}

install_dependencies() {
  if [ ! -f node_modules/.modules.yaml ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ] || [ -n "${CI:-}" ]; then
    pnpm install --frozen-lockfile --prefer-offline --reporter=append-only
  fi
}

case "${1:-}" in
  start)
    install_dependencies
    infrastructure
    pnpm run migrate
    exec node --conditions=@afc/source tools/dev/src/start.ts "${@:2}"
    ;;
  test)
    install_dependencies
    infrastructure
    exec pnpm exec vitest run "${@:2}"
    ;;
  ci)
    install_dependencies
    infrastructure
    pnpm run lint
    pnpm run typecheck
    docker_compose_config
    nginx_config_check
    # Without a Docker engine, the Dockerfile is checked as the builder would and against our rules.
    pnpm run lint:docker
    # The container path of the hot path: dist/ built, deployed as the Dockerfile does, started
    # with plain node and healthy (docs/decisions/0001).
    bash tools/dev/check-deploy.sh authorizer
    # The fault drills (tests/faults) alone, before the suite: their cuts, floods and restarts
    # would disturb the timing of tests running beside them on two cores.
    pnpm run test:faults
    exec pnpm exec vitest run
    ;;
  *)
    echo "usage: tools/dev/run.sh start|test|ci" >&2
    exit 2
    ;;
esac
