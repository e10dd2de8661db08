import type { JitFundingRequest } from './schemas/jit.ts';

export interface JitRequestOptions {
  readonly transaction_token: string;
  readonly jit_token: string;
  readonly method: string;
  readonly card_token: string;
  readonly user_token: string;
  readonly amount: number | string;
  readonly currency_code?: string;
  readonly mcc?: string;
  readonly mid?: string;
  readonly merchant_name?: string;
  readonly country_code?: string;
  readonly original_jit_funding_token?: string;
  readonly acting_user_token?: string;
  readonly created_time?: string;
  readonly network?: string;
}

// A transaction object shaped like the JIT funding requests Marqeta sends (about 1.5 KB with
// POS, fraud, 3-D Secure and acquirer data), for the simulator, tests and the benchmark.
export function buildJitRequest(options: JitRequestOptions): JitFundingRequest {
  const created_time = options.created_time ?? new Date().toISOString();
  const jit_funding = {
    token: options.jit_token,
    method: options.method,
    user_token: options.user_token,
    amount: options.amount,
    ...(options.acting_user_token === undefined ? {} : { acting_user_token: options.acting_user_token }),
    ...(options.original_jit_funding_token === undefined
      ? {}
      : { original_jit_funding_token: options.original_jit_funding_token }),
  };
  return {
    type: methodToType(options.method),
    state: 'PENDING',
    token: options.transaction_token,
    user_token: options.user_token,
    acting_user_token: options.acting_user_token ?? options.user_token,
    card_token: options.card_token,
    amount: options.amount,
    request_amount: options.amount,
    currency_code: options.currency_code ?? 'USD',
    network: options.network ?? 'VISA',
    subnetwork: 'VISANET',
    created_time,
    user_transaction_time: created_time,
    settlement_date: created_time.slice(0, 10),
    gpa: { currency_code: options.currency_code ?? 'USD', ledger_balance: 0, available_balance: 0 },
    gpa_order: {
      token: `gpa-${options.jit_token}`,
      amount: options.amount,
      currency_code: options.currency_code ?? 'USD',
      state: 'PENDING',
      funding_source_token: 'program-gateway-funding-source',
      jit_funding,
    },
    card_acceptor: {
      mid: options.mid ?? '000000000011111',
      mcc: options.mcc ?? '5411',
      name: options.merchant_name ?? 'Neighbourhood Grocer',
      street_address: '111 Main St',
      city: 'Berkeley',
      state: 'CA',
      postal_code: '94702',
      country_code: options.country_code ?? 'USA',
      poi: { tid: 'TR100000', partial_approval_capable: '0', cardholder_presence: '0', card_presence: '0' },
    },
    pos: {
      pan_entry_mode: 'MAG_STRIPE',
      pin_entry_mode: 'TRUE',
      terminal_id: 'TR100000',
      terminal_attendance: 'ATTENDED',
      card_holder_presence: false,
      card_presence: true,
      partial_approval_capable: false,
      purchase_amount_only: false,
      is_recurring: false,
    },
    fraud: {
      network: { transaction_risk_score: 12, account_risk_score: 3 },
      issuer_processor: { score: 8, risk_level: 'LOW' },
    },
    cardholder_authentication_data: {
      electronic_commerce_indicator: 'authentication_successful',
      verification_result: 'verified',
      verification_value_created_by: 'issuer_acs',
    },
    transaction_metadata: { payment_channel: 'OTHER', is_recurring: false, is_deferred_authorization: false },
    acquirer: {
      institution_country: '840',
      institution_id_code: '428399181',
      retrieval_reference_number: '528294182583',
      system_trace_audit_number: '656761',
    },
    acquirer_fee_amount: 0,
    duration: 0,
    is_preauthorization: false,
  } as JitFundingRequest;
}

function methodToType(method: string): string {
  return method.startsWith('pgfs.') ? method.slice('pgfs.'.length) : method;
}
