import type { Merchant, PosProfile } from './merchants.ts';
import type { ResolvedOptions } from './options.ts';

export type CardState = 'UNACTIVATED' | 'ACTIVE' | 'SUSPENDED' | 'TERMINATED';
export type UserStatus = 'UNVERIFIED' | 'LIMITED' | 'ACTIVE' | 'SUSPENDED' | 'CLOSED' | 'TERMINATED';

// Marqeta objects: the fields the simulator reasons about, typed; the rest as sent.
export interface MarqetaObject {
  readonly token: string;
  [field: string]: unknown;
}

export interface UserObject extends MarqetaObject {
  status: UserStatus;
  active: boolean;
}

export interface CardProductObject extends MarqetaObject {
  readonly name: string;
}

// The PAN and CVV live here only: views strip them unless show_pan / show_cvv_number is asked.
export interface CardObject extends MarqetaObject {
  readonly user_token: string;
  readonly card_product_token: string;
  readonly pan: string;
  readonly cvv_number: string;
  readonly last_four: string;
  readonly expiration: string;
  state: CardState;
}

export interface FundingSourceObject extends MarqetaObject {
  url: string;
  basic_auth_username: string;
  basic_auth_password: string;
  timeout_millis: number;
  active: boolean;
  custom_header?: Record<string, string>;
}

export type SignatureAlgorithm = 'HMAC_SHA_256' | 'HMAC_SHA_1';

export interface WebhookConfig {
  url: string;
  basic_auth_username: string;
  basic_auth_password: string;
  secret?: string;
  signature_algorithm: SignatureAlgorithm;
  custom_header?: Record<string, string>;
}

export interface WebhookObject extends MarqetaObject {
  name: string;
  active: boolean;
  events: string[];
  config: WebhookConfig;
}

// The request body a resource was created with: a repeat of the same token must carry it
// unchanged (201, same object) or is a conflict (409).
export interface Stored<T> {
  readonly request: unknown;
  object: T;
}

export interface GatewayLog {
  readonly order_number: string;
  readonly transaction_id: string;
  readonly message: string;
  readonly duration: number;
  readonly timed_out: boolean;
  readonly response?: { readonly code: string; readonly data?: unknown };
}

export interface GatewayLogEntry {
  readonly transaction_token: string;
  readonly jit_token: string;
  readonly method: string;
  readonly gateway_log: GatewayLog;
}

export interface TransactionContext {
  readonly merchant: Merchant;
  readonly pos: PosProfile;
  readonly network: string;
}

export interface TransactionRecord {
  readonly token: string;
  readonly type: string;
  readonly jit_token: string;
  readonly card_token: string;
  readonly user_token: string;
  readonly amount: number | string;
  readonly currency_code: string;
  state: string;
  // Tokens of approved incremental authorizations, for the clearing that follows.
  readonly incremental_jit_tokens: string[];
  // Follow-ups (clearing, reversal, ...) happen at the same merchant, on the same terminal.
  readonly context: TransactionContext;
  // The transaction object as Marqeta would show it (and send in webhooks).
  object: Record<string, unknown>;
}

export interface DeliveryAttempt {
  readonly attempt: number;
  readonly at: string;
  readonly status_code?: number;
  readonly error?: string;
}

export interface DeliveryRecord {
  readonly id: string;
  readonly webhook_token: string;
  readonly body_key: string;
  readonly event_tokens: readonly string[];
  readonly origin: 'event' | 'duplicate' | 'replay';
  readonly attempts: DeliveryAttempt[];
  outcome: 'pending' | 'delivered' | 'failed';
}

export interface SimErrorReport {
  readonly code: string;
  readonly message: string;
  readonly at: string;
}

// In-memory state, inspectable by tests. Histories are bounded: the oldest entries go first.
export class SimState {
  readonly users = new Map<string, Stored<UserObject>>();
  readonly card_products = new Map<string, Stored<CardProductObject>>();
  readonly cards = new Map<string, Stored<CardObject>>();
  readonly funding_sources = new Map<string, Stored<FundingSourceObject>>();
  readonly webhooks = new Map<string, Stored<WebhookObject>>();
  readonly card_transitions = new Map<string, Stored<MarqetaObject>>();
  readonly user_transitions = new Map<string, Stored<MarqetaObject>>();
  readonly transactions = new Map<string, TransactionRecord>();
  readonly gateway_logs: GatewayLogEntry[] = [];
  readonly deliveries: DeliveryRecord[] = [];
  readonly errors: SimErrorReport[] = [];
  readonly #max_history: number;
  readonly #max_transactions: number;

  constructor(options: Pick<ResolvedOptions, 'max_history_entries' | 'max_transactions'>) {
    this.#max_history = options.max_history_entries;
    this.#max_transactions = options.max_transactions;
  }

  rememberTransaction(record: TransactionRecord): void {
    this.transactions.set(record.token, record);
    // Map iteration follows insertion order: the first key is the oldest.
    while (this.transactions.size > this.#max_transactions) {
      const oldest = this.transactions.keys().next().value;
      if (oldest === undefined) break;
      this.transactions.delete(oldest);
    }
  }

  recordGatewayLog(entry: GatewayLogEntry): void {
    this.#append(this.gateway_logs, entry);
  }

  recordDelivery(delivery: DeliveryRecord): void {
    this.#append(this.deliveries, delivery);
  }

  reportError(code: string, message: string): void {
    this.#append(this.errors, { code, message, at: new Date().toISOString() });
  }

  #append<T>(list: T[], entry: T): void {
    list.push(entry);
    if (list.length > this.#max_history) list.splice(0, list.length - this.#max_history);
  }
}
