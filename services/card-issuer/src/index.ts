export { type CardIssuerOptions, cardIssuerApp } from './app.ts';
export { type BuildOverrides, buildCardIssuer } from './build-card-issuer.ts';
