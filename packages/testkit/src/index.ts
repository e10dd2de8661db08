export { type CapturedLogs, captureLogs } from './capture-logs.ts';
export {
  Cleanups,
  type IsolatedInfrastructure,
  isolatedInfrastructure,
  startWithCleanups,
} from './cleanups.ts';
export { clearOfUtcMidnight, waitForUtcDay } from './clear-of-utc-midnight.ts';
export {
  freePort,
  listenOnStablePort,
  ServerExitedAtStartError,
  startWithFreshPorts,
} from './free-port.ts';
export {
  card_number_arbitrary,
  deeplyNested,
  type HostileBody,
  hostileBody,
  hostileJsonText,
  hostileValue,
  type JsonPath,
  jsonPaths,
  luhnNumber,
  sendPastShedding,
  withCardNumber,
  withField,
} from './hostile.ts';
export { localServiceUrls } from './local-service-urls.ts';
export { TcpProxy, type TcpProxyOptions } from './tcp-proxy.ts';
export { createTestDatabase, type TestDatabase } from './test-database.ts';
export { createTestRedisPrefix, type TestRedisPrefix } from './test-redis-prefix.ts';
export { uniqueTestId } from './unique-test-id.ts';
export { type WaitUntilOptions, waitUntil } from './wait-until.ts';
