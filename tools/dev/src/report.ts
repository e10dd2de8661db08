import { formatMinor } from '@afc/money';
// Plain-text tables for the terminal: what `npm start` brought up and what `pnpm demo` saw.
import type { Platform, ServiceName } from './platform.ts';
import type { SeedResult } from './seed.ts';

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  const rule = `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

const roles: Readonly<Record<ServiceName, string>> = {
  api: 'control plane (OpenAPI: /documentation/json)',
  authorizer: 'JIT funding gateway POST /v1/jit',
  webhooks: "Marqeta's webhooks POST /v1/webhooks/marqeta",
  settlement: 'ledger consumer (health, metrics)',
  'card-issuer': 'card issuance consumer (health, metrics)',
  'marqeta-sim': 'Marqeta Core API /v3, simulate /v3/simulate/*',
};

// The demo program's amounts are US dollars.
export function money(minor: number): string {
  return formatMinor(minor, 'USD');
}

// A secret is printed only while it is the public local default (docker-compose.yml, the
// schemas); one set in the environment is named, never shown.
function shown(platform: Platform, variable: string, value: string): string {
  return platform.local_default_secrets.includes(variable) ? value : `(${variable}, not shown)`;
}

export function printPlatformTable(
  platform: Platform,
  seed: SeedResult,
  logs_directory: string | undefined,
): void {
  process.stdout.write(platformTable(platform, seed, logs_directory));
}

export function platformTable(
  platform: Platform,
  seed: SeedResult,
  logs_directory: string | undefined,
): string {
  const services = (Object.keys(roles) as ServiceName[]).map((name) => [
    name,
    platform.urls[name],
    roles[name],
  ]);
  const cards = [
    ...seed.cards.map((card) => [card.holder, card.card_token, card.controls]),
    [
      `${seed.personal.email} (personal)`,
      seed.personal.card_token,
      `wallet ${money(seed.personal.available_minor)} USD available`,
    ],
  ];
  const out = [
    '',
    'Atlanticfrewaycard platform is running.',
    '',
    table(['service', 'listens on', 'what'], services),
    '',
    table(
      ['demo API key', 'value', 'use'],
      [
        [
          'platform admin',
          shown(platform, 'API_ADMIN_KEY', platform.admin_key),
          'companies, personal cardholders (/v1/personal/*)',
        ],
        [seed.company.name, seed.company.api_key, `company ${seed.company.id}: users, cards, controls`],
        [
          'marqeta-sim (Basic)',
          `${platform.marqeta.application_token}:${shown(platform, 'MARQETA_ADMIN_ACCESS_TOKEN', platform.marqeta.admin_access_token)}`,
          'simulate card activity',
        ],
      ],
    ),
    '',
    table(['seeded card holder', 'card token', 'controls'], cards),
    '',
    'Try:',
    `  curl -s -H 'Authorization: Bearer ${seed.company.api_key}' ${platform.urls.api}/v1/cards/${seed.cards[0]?.id}`,
    '  pnpm demo        # a scripted day of card activity, checked against the ledger',
    ...(logs_directory === undefined ? [] : [`Service logs: ${logs_directory}/<service>.log`]),
    'Stop: Ctrl-C (each service finishes its in-flight work, then exits).',
    '',
  ];
  return `${out.join('\n')}\n`;
}
