#!/usr/bin/env bash
# Makes sure PostgreSQL, Redis and RabbitMQ answer on 127.0.0.1. Starts them when installed but
# stopped, installs them from Debian's packages when absent (root only), and otherwise says
# exactly what to install. MongoDB is optional: without MONGODB_URI the personal store runs on
# PostgreSQL (see docs/decisions/0002-personal-store-backends.md).
set -euo pipefail

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
    echo "infra: please install: $*" >&2
    exit 1
  fi
  if [ -z "${afc_apt_updated:-}" ]; then apt-get update -qq; afc_apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_check='pg_isready -h 127.0.0.1 -p 5432 -q'
if ! command -v pg_isready >/dev/null 2>&1 || ! eval "$pg_check" >/dev/null 2>&1; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then apt_install postgresql postgresql-client; fi
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
  # Local development trusts loopback connections, as the machines here are set up.
  wait_for postgresql "$pg_check" 30
else
  echo "infra: postgresql is up"
fi

redis_check='redis-cli -h 127.0.0.1 -p 6379 ping'
if ! command -v redis-cli >/dev/null 2>&1 || ! eval "$redis_check" >/dev/null 2>&1; then
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  wait_for redis "$redis_check" 30
else
  echo "infra: redis is up"
fi

rabbit_check='rabbitmq-diagnostics -q check_port_listener 5672'
if ! command -v rabbitmq-diagnostics >/dev/null 2>&1 || ! eval "$rabbit_check" >/dev/null 2>&1; then
  command -v rabbitmq-server >/dev/null 2>&1 || apt_install rabbitmq-server
  rabbitmq-server -detached || true
  wait_for rabbitmq "$rabbit_check" 90
else
  echo "infra: rabbitmq is up"
fi
