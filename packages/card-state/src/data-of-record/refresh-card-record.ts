import type { CardStateStore } from '../store.ts';
import { type RecordSources, readCardRecord } from './read-card-record.ts';
import { writeCardRecord } from './write-card-record.ts';

// The card as the data of record holds it now, written through to Redis (versioned: never
// regresses). False when neither program knows the card: nothing is written, and whether that
// is an error is the caller's to say (a writer that just recorded the card expects it there).
export async function refreshCardRecord(
  sources: RecordSources,
  store: CardStateStore,
  card_token: string,
  now_ms: number,
): Promise<boolean> {
  const record = await readCardRecord(sources, card_token, now_ms);
  if (record === undefined) return false;
  await writeCardRecord(store, record);
  return true;
}
