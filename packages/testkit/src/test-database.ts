import postgres from 'postgres';
import { localServiceUrls } from './local-service-urls.ts';
import { uniqueTestId } from './unique-test-id.ts';

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

// A database of its own per test file: tests never see each other's rows, and dropping it
// cleans up everything the test made.
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = uniqueTestId('afc_test_');
  const admin = postgres(localServiceUrls.postgres, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(localServiceUrls.postgres);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const dropper = postgres(localServiceUrls.postgres, { max: 1, connect_timeout: 5, onnotice: () => {} });
      try {
        await dropper.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await dropper.end({ timeout: 5 });
      }
    },
  };
}
