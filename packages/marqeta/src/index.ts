export { buildJitRequest, type JitRequestOptions } from './build-jit-request.ts';
export {
  CountryCode,
  CurrencyCode,
  MarqetaAmount,
  MarqetaToken,
  Mcc,
  token_pattern,
} from './schemas/common.ts';
export {
  CardAcceptor,
  type DeclineReason,
  decline_reasons,
  type JitFundingPart,
  JitFundingRequest,
  JitFundingRequestPart,
  JitFundingResponse,
  jitFundingOf,
} from './schemas/jit.ts';
