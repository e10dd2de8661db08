export { CardIssued, CardIssueFailed, CardIssueRequested } from './card-issuance.ts';
