import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { SimContext } from './context.ts';
import { FaultsBody } from './schemas.ts';

const recent_entries = 50;

// Not Marqeta: the simulator's own controls for drills and debugging.
export function simRoutes(ctx: SimContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/faults', async () => ({ faults: ctx.faults() }));

    app.post('/faults', { schema: { body: FaultsBody } }, async (request) => {
      const change = Object.fromEntries(
        Object.entries(request.body).filter(([, value]) => value !== undefined),
      );
      const faults = ctx.setFaults(change);
      ctx.logger.warn({ faults }, 'fault knobs changed');
      return { faults };
    });

    // Counts and the latest entries; cards appear without PAN or CVV.
    app.get('/state', async () => {
      const { state } = ctx;
      return {
        faults: ctx.faults(),
        counts: {
          users: state.users.size,
          card_products: state.card_products.size,
          cards: state.cards.size,
          funding_sources: state.funding_sources.size,
          webhooks: state.webhooks.size,
          card_transitions: state.card_transitions.size,
          user_transitions: state.user_transitions.size,
          transactions: state.transactions.size,
        },
        webhook_queue: ctx.dispatcher.stats(),
        recent: {
          gateway_logs: state.gateway_logs.slice(-recent_entries),
          deliveries: state.deliveries.slice(-recent_entries),
          errors: state.errors.slice(-recent_entries),
        },
      };
    });
  };
}
