import type { Logger } from '@afc/log';
import type { CardActivity } from './card-activity.ts';
import type { ResolvedOptions, SimFaults } from './options.ts';
import type { SeededRandom } from './random.ts';
import type { SimState } from './state.ts';
import type { WebhookDispatcher } from './webhook-dispatcher.ts';

// What the route plugins share.
export interface SimContext {
  readonly state: SimState;
  readonly options: ResolvedOptions;
  readonly dispatcher: WebhookDispatcher;
  readonly activity: CardActivity;
  // Seeds the data (PANs, merchants); fault rolls draw from their own stream so that turning a
  // knob does not change the generated traffic.
  readonly random: SeededRandom;
  readonly fault_random: SeededRandom;
  readonly logger: Logger;
  faults(): SimFaults;
  setFaults(change: Partial<SimFaults>): SimFaults;
}
