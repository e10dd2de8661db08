import type { TopologyDescription } from './topology.ts';

// The product's broker layout, shared as data by every service that publishes or consumes.

export const exchange_names = {
  // Money movements: authorizations and their outcomes, clearing, refunds.
  transactions: 'transactions',
  // Everything else: inbound webhooks, card lifecycle commands and their results.
  events: 'events',
} as const;

export type ExchangeName = (typeof exchange_names)[keyof typeof exchange_names];

export const routing_keys = {
  authorization_approved: 'authorization.approved',
  authorization_declined: 'authorization.declined',
  authorization_incremental: 'authorization.incremental',
  authorization_reversed: 'authorization.reversed',
  transaction_cleared: 'transaction.cleared',
  transaction_refunded: 'transaction.refunded',
  // Marqeta webhooks, `webhook.<body key>` (services/webhooks publishes one message per event,
  // message type `webhook.received`); keys the receiver does not know are `webhook.unknown.<key>`.
  webhook_transactions: 'webhook.transactions',
  webhook_card_transitions: 'webhook.cardtransitions',
  webhook_user_transitions: 'webhook.usertransitions',
  webhook_business_transitions: 'webhook.businesstransitions',
  card_issue_requested: 'card.issue.requested',
  // Outcomes of issuance, published by the card-issuer (CardIssued, CardIssueFailed).
  card_issued: 'card.issued',
  card_issue_failed: 'card.issue.failed',
} as const;

export type RoutingKey = (typeof routing_keys)[keyof typeof routing_keys];

// Which exchange each routing key is published to: publishers look it up here instead of
// spelling exchange names.
export const exchange_of: Readonly<Record<RoutingKey, ExchangeName>> = {
  'authorization.approved': exchange_names.transactions,
  'authorization.declined': exchange_names.transactions,
  'authorization.incremental': exchange_names.transactions,
  'authorization.reversed': exchange_names.transactions,
  'transaction.cleared': exchange_names.transactions,
  'transaction.refunded': exchange_names.transactions,
  'webhook.transactions': exchange_names.events,
  'webhook.cardtransitions': exchange_names.events,
  'webhook.usertransitions': exchange_names.events,
  'webhook.businesstransitions': exchange_names.events,
  'card.issue.requested': exchange_names.events,
  'card.issued': exchange_names.events,
  'card.issue.failed': exchange_names.events,
};

export const queue_names = {
  settlement: 'settlement',
  webhook_events: 'webhook-events',
  card_issuance: 'card-issuance',
  // card.issued / card.issue.failed, consumed by the api into each card's lifecycle history
  // (card_lifecycle_events). Its own queue: the issuer publishes with `mandatory`, so a routing
  // key no queue binds would be refused as unroutable.
  card_events: 'card-events',
} as const;

export const product_topology: TopologyDescription = {
  exchanges: [
    { name: exchange_names.transactions, type: 'topic' },
    { name: exchange_names.events, type: 'topic' },
  ],
  queues: [
    {
      name: queue_names.settlement,
      bindings: [
        { exchange: exchange_names.transactions, routing_keys: ['authorization.#', 'transaction.#'] },
        // Marqeta's transaction webhooks (clearings, reversals, refunds, gateway timeouts).
        { exchange: exchange_names.events, routing_keys: [routing_keys.webhook_transactions] },
      ],
    },
    {
      // Every other webhook the receiver publishes, and only those: transactions go to settlement
      // alone. The receiver publishes with `mandatory`, so each key it can publish must be bound
      // somewhere or the webhook fails 5xx; `webhook.unknown.#` catches types added later.
      name: queue_names.webhook_events,
      bindings: [
        {
          exchange: exchange_names.events,
          routing_keys: [
            routing_keys.webhook_card_transitions,
            routing_keys.webhook_user_transitions,
            routing_keys.webhook_business_transitions,
            'webhook.unknown.#',
          ],
        },
      ],
      // Until transaction webhooks went to settlement by binding (docs/decisions/0004), this
      // queue took every webhook; left on a broker, that binding would send each transaction
      // webhook here as well.
      retired_bindings: [{ exchange: exchange_names.events, routing_keys: ['webhook.#'] }],
    },
    {
      name: queue_names.card_issuance,
      bindings: [{ exchange: exchange_names.events, routing_keys: [routing_keys.card_issue_requested] }],
    },
    {
      name: queue_names.card_events,
      bindings: [
        {
          exchange: exchange_names.events,
          routing_keys: [routing_keys.card_issued, routing_keys.card_issue_failed],
        },
      ],
    },
  ],
};
