// The services every test runs against: the real ones on this machine, overridable for a
// developer whose services live elsewhere.
export const localServiceUrls = {
  postgres: process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  redis: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  amqp: process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  mongodb: process.env.TEST_MONGODB_URI,
} as const;
