// The coded errors of @afc/card-state. Callers match on `code`, never on the message.
// Declines are values (DecideResult), never errors: these are for calls that cannot be made
// (bad input), state that cannot be read, and bugs.
export const card_state_error_codes = {
  // A request or document failed validation before reaching Redis (or the script's own check).
  invalid: 'AFC_CARD_STATE_INVALID',
  // Stored state a script cannot read (not JSON, wrong shape, broken hold invariant).
  corrupt: 'AFC_CARD_STATE_CORRUPT',
  // A rule invariant failed inside a script (a bug): nothing was written.
  invariant: 'AFC_CARD_STATE_INVARIANT',
  // A script answered in a shape this package does not know, or failed in another way.
  reply: 'AFC_CARD_STATE_REPLY',
} as const;

export type CardStateErrorCode = (typeof card_state_error_codes)[keyof typeof card_state_error_codes];

export class CardStateError extends Error {
  readonly code: CardStateErrorCode;

  constructor(code: CardStateErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export class CardStateInvalidError extends CardStateError {
  constructor(message: string, options?: ErrorOptions) {
    super(card_state_error_codes.invalid, message, options);
  }
}

export class CardStateCorruptError extends CardStateError {
  constructor(message: string, options?: ErrorOptions) {
    super(card_state_error_codes.corrupt, message, options);
  }
}

export class CardStateInvariantError extends CardStateError {
  constructor(message: string, options?: ErrorOptions) {
    super(card_state_error_codes.invariant, message, options);
  }
}

export class CardStateReplyError extends CardStateError {
  constructor(message: string, options?: ErrorOptions) {
    super(card_state_error_codes.reply, message, options);
  }
}

// A script's error reply starts with our code (lib.lua `fail`); anything else is a reply error.
export function errorFromReply(script: string, message: string, cause: unknown): CardStateError {
  const text = `${script}: ${message}`;
  if (message.startsWith(card_state_error_codes.invalid)) return new CardStateInvalidError(text, { cause });
  if (message.startsWith(card_state_error_codes.corrupt)) return new CardStateCorruptError(text, { cause });
  if (message.startsWith(card_state_error_codes.invariant))
    return new CardStateInvariantError(text, { cause });
  return new CardStateReplyError(text, { cause });
}
