import type { Document, Filter } from 'mongodb';
import { assertSameTransactionOwner, eventAmounts, merchantOf } from '../common.ts';
import { decodeCursor, toPage } from '../cursor.ts';
import { PersonalUnavailableError } from '../errors.ts';
import { withRetry } from '../retry.ts';
import type {
  Page,
  PageRequest,
  PersonalTransaction,
  RecordTransactionEventResult,
  TransactionEventInput,
} from '../types.ts';
import type { HistoryDoc, PersonalCollections, TransactionDoc } from './collections.ts';
import { transactionFromDoc } from './convert.ts';
import { isDuplicateKey } from './transaction.ts';

// One document per jit_token holds the totals and the history, so an event is one atomic
// single-document upsert and needs no multi-document transaction. The filter's $ne on
// history.event_id is the replay guard: a document that already has the event does not match.

// Values from callers go through $literal: in an update pipeline a string starting with '$'
// would otherwise be read as a field path.
function literal(value: unknown): Document {
  return { $literal: value };
}

function eventPipeline(input: TransactionEventInput, at: Date): Document[] {
  const amounts = eventAmounts(input);
  const merchant = merchantOf(input);
  const entry: HistoryDoc = {
    event_id: input.event_id,
    state: input.state,
    occurred_at: input.occurred_at,
    ...amounts,
    recorded_at: at,
  };
  const sum = (field: keyof typeof amounts) => ({ $add: [{ $ifNull: [`$${field}`, 0] }, amounts[field]] });
  const keep = (field: string, value: unknown) => ({ $ifNull: [`$${field}`, literal(value)] });
  return [
    {
      $set: {
        card_token: keep('card_token', input.card_token),
        user_token: keep('user_token', input.user_token),
        currency: keep('currency', input.currency),
        created_at: keep('created_at', at),
        // The state follows the event that occurred last (ties: the later recorded), so
        // webhooks arriving out of order end in the same record as in order.
        state: {
          $cond: [
            { $gte: [input.occurred_at, { $ifNull: ['$state_at', new Date(0)] }] },
            literal(input.state),
            '$state',
          ],
        },
        state_at: { $max: [{ $ifNull: ['$state_at', input.occurred_at] }, input.occurred_at] },
        authorized_minor: sum('authorized_minor'),
        cleared_minor: sum('cleared_minor'),
        reversed_minor: sum('reversed_minor'),
        refunded_minor: sum('refunded_minor'),
        merchant: {
          mid: keep('merchant.mid', merchant.mid),
          name: keep('merchant.name', merchant.name),
          mcc: keep('merchant.mcc', merchant.mcc),
          city: keep('merchant.city', merchant.city),
          country_code: keep('merchant.country_code', merchant.country_code),
        },
        history: { $concatArrays: [{ $ifNull: ['$history', []] }, [literal(entry)]] },
        updated_at: at,
      },
    },
  ];
}

async function findReplay(
  c: PersonalCollections,
  input: TransactionEventInput,
): Promise<RecordTransactionEventResult | null> {
  const doc = await c.transactions.findOne({ 'history.event_id': input.event_id });
  if (doc === null) return null;
  const transaction = transactionFromDoc(doc);
  assertSameTransactionOwner(transaction, input);
  return { transaction, replayed: true };
}

// A duplicate key means either the event is already recorded (a replay: answer it) or
// another event created this jit_token's document first (run the upsert again, now an update).
const insert_race_retry = { max_attempts: 4, base_delay_ms: 2, max_delay_ms: 20 };

export async function recordTransactionEvent(
  c: PersonalCollections,
  now: () => Date,
  input: TransactionEventInput,
): Promise<RecordTransactionEventResult> {
  const replay = await findReplay(c, input);
  if (replay !== null) return replay;
  const existing = await c.transactions.findOne({ jit_token: input.jit_token });
  if (existing !== null) assertSameTransactionOwner(existing, input);
  try {
    return await withRetry(
      async () => {
        const filter: Filter<TransactionDoc> = {
          jit_token: input.jit_token,
          'history.event_id': { $ne: input.event_id },
        };
        try {
          const doc = await c.transactions.findOneAndUpdate(filter, eventPipeline(input, now()), {
            upsert: true,
            returnDocument: 'after',
          });
          if (doc === null) throw new PersonalUnavailableError('upsert returned no document');
          return { transaction: transactionFromDoc(doc), replayed: false };
        } catch (error) {
          if (!isDuplicateKey(error)) throw error;
          const again = await findReplay(c, input);
          if (again !== null) return again;
          throw error;
        }
      },
      isDuplicateKey,
      insert_race_retry,
    );
  } catch (error) {
    if (!isDuplicateKey(error)) throw error;
    throw new PersonalUnavailableError(`event ${input.event_id} kept racing other inserts`, { cause: error });
  }
}

export async function getTransaction(
  c: PersonalCollections,
  jit_token: string,
): Promise<PersonalTransaction | null> {
  const doc = await c.transactions.findOne({ jit_token });
  return doc === null ? null : transactionFromDoc(doc);
}

export async function listTransactions(
  c: PersonalCollections,
  by: { readonly column: 'card_token' | 'user_token'; readonly token: string },
  limit: number,
  page: PageRequest | undefined,
): Promise<Page<PersonalTransaction>> {
  const filter: Filter<TransactionDoc> = { [by.column]: by.token };
  if (page?.cursor !== undefined) {
    const after = decodeCursor(page.cursor);
    filter.$or = [
      { created_at: { $lt: after.created_at } },
      { created_at: after.created_at, jit_token: { $lt: after.jit_token } },
    ];
  }
  const docs = await c.transactions
    .find(filter)
    .sort({ created_at: -1, jit_token: -1 })
    .limit(limit + 1)
    .toArray();
  return toPage(docs.map(transactionFromDoc), limit);
}
