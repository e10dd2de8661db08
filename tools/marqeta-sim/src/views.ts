import type { CardObject, FundingSourceObject, MarqetaObject, WebhookObject } from './state.ts';

// Marqeta masks credentials in every answer that shows a webhook or a funding source.
export const masked = '********';

export function cardView(
  card: CardObject,
  reveal: { readonly show_pan?: boolean; readonly show_cvv_number?: boolean } = {},
): MarqetaObject {
  const { pan, cvv_number, ...rest } = card;
  return {
    ...rest,
    ...(reveal.show_pan === true ? { pan } : {}),
    ...(reveal.show_cvv_number === true ? { cvv_number } : {}),
  };
}

export function fundingSourceView(source: FundingSourceObject): MarqetaObject {
  return { ...source, basic_auth_password: masked };
}

export function webhookView(webhook: WebhookObject): MarqetaObject {
  const config = {
    ...webhook.config,
    basic_auth_username: masked,
    basic_auth_password: masked,
    ...(webhook.config.secret === undefined ? {} : { secret: masked }),
  };
  return { ...webhook, config };
}
