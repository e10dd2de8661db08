import type { ClientSession, Document, Filter } from 'mongodb';
import { PersonalConflictError, PersonalNotFoundError } from '../errors.ts';
import type {
  AwaitingIssueCursor,
  CardIssueOutcome,
  CardState,
  CreateCardInput,
  CreateUserInput,
  IssuedCardDetails,
  PersonalCard,
  PersonalUser,
  UpdateUserInput,
} from '../types.ts';
import { max_cards_listed } from '../validate.ts';
import type { CardDoc, PersonalCollections, UserDoc } from './collections.ts';
import { cardFromDoc, userFromDoc } from './convert.ts';
import { isDuplicateKey } from './transaction.ts';

// The user and their empty wallet in one transaction: a user never exists without a wallet,
// and a failed create leaves neither behind.
export async function createUserIn(
  c: PersonalCollections,
  session: ClientSession,
  at: Date,
  input: CreateUserInput,
): Promise<PersonalUser> {
  const user: UserDoc = {
    user_token: input.user_token,
    email: input.email,
    kyc_status: input.kyc_status ?? 'pending',
    wallet_address: input.wallet_address,
    status: input.status ?? 'active',
    created_at: at,
    updated_at: at,
  };
  try {
    await c.users.insertOne(user, { session });
    await c.wallets.insertOne(
      {
        user_token: input.user_token,
        currency: input.currency,
        available_minor: 0,
        held_minor: 0,
        version: 0,
        created_at: at,
        updated_at: at,
      },
      { session },
    );
  } catch (error) {
    if (isDuplicateKey(error)) throw new PersonalConflictError(`user ${input.user_token} exists`);
    throw error;
  }
  return userFromDoc(user);
}

export async function getUser(c: PersonalCollections, user_token: string): Promise<PersonalUser | null> {
  const doc = await c.users.findOne({ user_token });
  return doc === null ? null : userFromDoc(doc);
}

// One conditional update: a closed user may not be reopened, whatever runs concurrently.
export async function updateUser(
  c: PersonalCollections,
  at: Date,
  user_token: string,
  input: UpdateUserInput,
): Promise<PersonalUser> {
  const filter: Filter<UserDoc> = { user_token };
  if (input.status !== undefined && input.status !== 'closed') filter.status = { $ne: 'closed' };
  const set: Partial<UserDoc> = {};
  if (input.kyc_status !== undefined) set.kyc_status = input.kyc_status;
  if (input.status !== undefined) set.status = input.status;
  // updated_at is the cardholder's version in Redis (read-card-record.ts), like a card's.
  const doc = await c.users.findOneAndUpdate(filter, versionedUpdate(set, at), { returnDocument: 'after' });
  if (doc !== null) return userFromDoc(doc);
  if ((await getUser(c, user_token)) === null) throw new PersonalNotFoundError(`no user ${user_token}`);
  throw new PersonalConflictError(`user ${user_token} is closed`);
}

// Users are never deleted, so "the user exists" checked before the insert stays true.
export async function createCard(
  c: PersonalCollections,
  at: Date,
  input: CreateCardInput,
): Promise<PersonalCard> {
  if ((await getUser(c, input.user_token)) === null)
    throw new PersonalNotFoundError(`no user ${input.user_token}`);
  const card: CardDoc = {
    card_token: input.card_token,
    user_token: input.user_token,
    state: input.state,
    currency: input.currency,
    expiration_month: input.expiration_month,
    expiration_year: input.expiration_year,
    last_four: input.last_four,
    failure_reason: null,
    card_product_token: input.card_product_token ?? null,
    created_at: at,
    updated_at: at,
  };
  try {
    await c.cards.insertOne(card);
  } catch (error) {
    if (isDuplicateKey(error)) throw new PersonalConflictError(`card ${input.card_token} exists`);
    throw error;
  }
  return cardFromDoc(card);
}

export async function getCard(c: PersonalCollections, card_token: string): Promise<PersonalCard | null> {
  const doc = await c.cards.findOne({ card_token });
  return doc === null ? null : cardFromDoc(doc);
}

// Terminated is final at Marqeta too: a terminated card is never brought back. Leaving 'failed'
// (Marqeta says the card exists after all) drops the failure's reason.
export async function setCardState(
  c: PersonalCollections,
  at: Date,
  card_token: string,
  state: CardState,
): Promise<PersonalCard> {
  const filter: Filter<CardDoc> = { card_token };
  if (state !== 'terminated') filter.state = { $ne: 'terminated' };
  const doc = await c.cards.findOneAndUpdate(filter, versionedUpdate({ state, failure_reason: null }, at), {
    returnDocument: 'after',
  });
  if (doc !== null) return cardFromDoc(doc);
  if ((await getCard(c, card_token)) === null) throw new PersonalNotFoundError(`no card ${card_token}`);
  throw new PersonalConflictError(`card ${card_token} is terminated`);
}

// Only while the card is still the version the caller read (BSON dates are milliseconds, as the
// Date it read), so a caller can fence its write without holding a transaction open.
export async function setCardStateIfUnchanged(
  c: PersonalCollections,
  at: Date,
  card_token: string,
  state: CardState,
  expected_updated_at: Date,
): Promise<CardIssueOutcome> {
  const filter: Filter<CardDoc> = { card_token, updated_at: expected_updated_at };
  if (state !== 'terminated') filter.state = { $ne: 'terminated' };
  const doc = await c.cards.findOneAndUpdate(filter, versionedUpdate({ state, failure_reason: null }, at), {
    returnDocument: 'after',
  });
  return conditionalOutcome(c, card_token, doc);
}

// An update pipeline: updated_at is the version of a card or cardholder in Redis, which refuses
// a version that is not newer, so it must be strictly later than before, even within one
// millisecond or with a clock that went back (the twin of greatest(at, updated_at + 1 ms)).
function versionedUpdate(fields: Partial<CardDoc> | Partial<UserDoc>, at: Date): Document[] {
  return [{ $set: { ...literalFields(fields), updated_at: { $max: [at, { $add: ['$updated_at', 1] }] } } }];
}

// In a pipeline a string starting with $ would be read as a field path: values go in $literal.
function literalFields(fields: Partial<CardDoc> | Partial<UserDoc>): Document {
  return Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, { $literal: value }]));
}

const awaiting_or_failed: readonly CardState[] = ['unactivated', 'failed'];

export async function recordCardIssued(
  c: PersonalCollections,
  at: Date,
  card_token: string,
  details: IssuedCardDetails,
): Promise<CardIssueOutcome> {
  const { last_four, expiration_month, expiration_year } = details;
  const doc = await c.cards.findOneAndUpdate(
    { card_token, state: { $in: [...awaiting_or_failed] } },
    versionedUpdate(
      { state: 'active', failure_reason: null, last_four, expiration_month, expiration_year },
      at,
    ),
    { returnDocument: 'after' },
  );
  return conditionalOutcome(c, card_token, doc);
}

export async function recordCardIssueFailed(
  c: PersonalCollections,
  at: Date,
  card_token: string,
  reason: string,
): Promise<CardIssueOutcome> {
  const doc = await c.cards.findOneAndUpdate(
    { card_token, state: { $in: [...awaiting_or_failed] } },
    versionedUpdate({ state: 'failed', failure_reason: reason }, at),
    { returnDocument: 'after' },
  );
  return conditionalOutcome(c, card_token, doc);
}

// A conditional update that matched no document changed nothing: the card as it is, or not found.
async function conditionalOutcome(
  c: PersonalCollections,
  card_token: string,
  doc: CardDoc | null,
): Promise<CardIssueOutcome> {
  if (doc !== null) return { card: cardFromDoc(doc), changed: true };
  const card = await getCard(c, card_token);
  if (card === null) throw new PersonalNotFoundError(`no card ${card_token}`);
  return { card, changed: false };
}

export async function listCardsAwaitingIssue(
  c: PersonalCollections,
  created_before: Date,
  limit: number,
  after: AwaitingIssueCursor | undefined,
): Promise<PersonalCard[]> {
  const past_cursor =
    after === undefined
      ? {}
      : {
          $or: [
            { created_at: { $gt: after.created_at } },
            { created_at: after.created_at, card_token: { $gt: after.card_token } },
          ],
        };
  const docs = await c.cards
    .find({ state: 'unactivated', created_at: { $lt: created_before }, ...past_cursor })
    .sort({ created_at: 1, card_token: 1 })
    .limit(limit)
    .toArray();
  return docs.map(cardFromDoc);
}

export async function listCards(c: PersonalCollections, user_token: string): Promise<PersonalCard[]> {
  const docs = await c.cards
    .find({ user_token })
    .sort({ created_at: 1, card_token: 1 })
    .limit(max_cards_listed)
    .toArray();
  return docs.map(cardFromDoc);
}
