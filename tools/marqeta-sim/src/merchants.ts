import type { SeededRandom } from './random.ts';

export interface Merchant {
  readonly mid: string;
  readonly name: string;
  readonly mcc: string;
  readonly city: string;
  readonly state: string;
  readonly postal_code: string;
  readonly country_code: string;
  readonly currency_code: string;
  readonly online: boolean;
}

// A small, varied catalogue: groceries, fuel, travel, restaurants, online, high-risk MCCs,
// several countries (alpha-3, as observed in Marqeta messages) and currencies (incl. JPY
// without minor units).
export const merchants: readonly Merchant[] = [
  m('000000000011111', 'Neighbourhood Grocer', '5411', 'Berkeley', 'CA', '94702', 'USA', 'USD', false),
  m('000000000022222', 'Blue Door Coffee', '5814', 'Oakland', 'CA', '94607', 'USA', 'USD', false),
  m('000000000033333', 'Gulf Fuel 113', '5541', 'Houston', 'TX', '77002', 'USA', 'USD', false),
  m('000000000044444', 'Northwind Airlines', '3058', 'Atlanta', 'GA', '30320', 'USA', 'USD', true),
  m('000000000055555', 'Everything Online Marketplace', '5999', 'Seattle', 'WA', '98109', 'USA', 'USD', true),
  m('000000000066666', 'Metro Rides', '4121', 'San Francisco', 'CA', '94103', 'USA', 'USD', true),
  m('000000000077777', 'Mayfair Hotel', '7011', 'London', '', 'W1J 7BU', 'GBR', 'GBP', false),
  m('000000000088888', 'Boulangerie du Parc', '5462', 'Paris', '', '75008', 'FRA', 'EUR', false),
  m('000000000099999', 'Rhein Air', '3008', 'Frankfurt', '', '60549', 'DEU', 'EUR', true),
  m('000000000101010', 'Akihabara Electronics', '5732', 'Tokyo', '', '100-0005', 'JPN', 'JPY', false),
  m('000000000121212', 'Harbour Pharmacy', '5912', 'Toronto', 'ON', 'M5V 2T6', 'CAN', 'CAD', false),
  m('000000000131313', 'Lucky Star Casino', '7995', 'Monte Carlo', '', '98000', 'MCO', 'EUR', true),
];

function m(
  mid: string,
  name: string,
  mcc: string,
  city: string,
  state: string,
  postal_code: string,
  country_code: string,
  currency_code: string,
  online: boolean,
): Merchant {
  return { mid, name, mcc, city, state, postal_code, country_code, currency_code, online };
}

// A merchant whose currency can carry the amount (12.34 never lands on a JPY merchant);
// undefined when none can.
export function pickMerchant(
  random: SeededRandom,
  fits: (currency_code: string) => boolean,
): Merchant | undefined {
  const candidates = merchants.filter((merchant) => fits(merchant.currency_code));
  return candidates.length === 0 ? undefined : random.pick(candidates);
}

export interface PosProfile {
  readonly pos: Record<string, unknown>;
  readonly transaction_metadata: Record<string, unknown>;
  readonly cardholder_authentication_data?: Record<string, unknown>;
}

// Card present (chip, contactless, magnetic stripe) for shops, card not present (with 3-D
// Secure, sometimes recurring) for online merchants.
export function pickPos(random: SeededRandom, merchant: Merchant): PosProfile {
  const partial_approval_capable = random.chance(0.3);
  if (merchant.online) {
    const is_recurring = random.chance(0.2);
    return {
      pos: {
        pan_entry_mode: is_recurring ? 'CARD_ON_FILE' : 'MANUAL',
        pin_entry_mode: 'FALSE',
        terminal_attendance: 'UNATTENDED',
        card_holder_presence: false,
        card_presence: false,
        partial_approval_capable,
        purchase_amount_only: false,
        is_recurring,
      },
      transaction_metadata: { payment_channel: 'ECOMMERCE', is_recurring, is_deferred_authorization: false },
      cardholder_authentication_data: {
        electronic_commerce_indicator: random.pick(['authentication_successful', 'attempted_authentication']),
        verification_result: random.pick(['verified', 'not_verified']),
        verification_value_created_by: 'issuer_acs',
      },
    };
  }
  const pan_entry_mode = random.pick(['CHIP', 'CONTACTLESS', 'MAG_STRIPE']);
  return {
    pos: {
      pan_entry_mode,
      pin_entry_mode: pan_entry_mode === 'CHIP' ? 'TRUE' : 'FALSE',
      terminal_id: `TR${random.digits(6)}`,
      terminal_attendance: 'ATTENDED',
      card_holder_presence: true,
      card_presence: true,
      partial_approval_capable,
      purchase_amount_only: false,
      is_recurring: false,
    },
    transaction_metadata: { payment_channel: 'OTHER', is_recurring: false, is_deferred_authorization: false },
  };
}
