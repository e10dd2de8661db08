export const personal_error_codes = {
  not_found: 'AFC_PERSONAL_NOT_FOUND',
  conflict: 'AFC_PERSONAL_CONFLICT',
  invalid_input: 'AFC_PERSONAL_INVALID_INPUT',
  unavailable: 'AFC_PERSONAL_UNAVAILABLE',
  closed: 'AFC_PERSONAL_CLOSED',
} as const;

export type PersonalErrorCode = (typeof personal_error_codes)[keyof typeof personal_error_codes];

// One base class matched by `code`, never by message.
export class PersonalStoreError extends Error {
  readonly code: PersonalErrorCode;

  constructor(code: PersonalErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PersonalStoreError';
    this.code = code;
  }
}

// A referenced user, wallet, card or transaction does not exist.
export class PersonalNotFoundError extends PersonalStoreError {
  constructor(message: string) {
    super(personal_error_codes.not_found, message);
    this.name = 'PersonalNotFoundError';
  }
}

// A token already exists, an id is repeated with different content, a currency does not
// match the wallet's, or a final state (closed user, terminated card) would be left.
export class PersonalConflictError extends PersonalStoreError {
  constructor(message: string) {
    super(personal_error_codes.conflict, message);
    this.name = 'PersonalConflictError';
  }
}

// The caller passed something no valid request contains (edges validate first; reaching
// this is a caller bug, reported without touching the data).
export class PersonalInvalidInputError extends PersonalStoreError {
  constructor(message: string) {
    super(personal_error_codes.invalid_input, message);
    this.name = 'PersonalInvalidInputError';
  }
}

// The backend could not be reached or kept conflicting past the retry bound.
export class PersonalUnavailableError extends PersonalStoreError {
  constructor(message: string, options?: ErrorOptions) {
    super(personal_error_codes.unavailable, message, options);
    this.name = 'PersonalUnavailableError';
  }
}

export class PersonalClosedError extends PersonalStoreError {
  constructor() {
    super(personal_error_codes.closed, 'personal store is closed');
    this.name = 'PersonalClosedError';
  }
}
