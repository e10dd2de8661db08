export const config_issue_codes = {
  missing: 'AFC_CONFIG_MISSING',
  invalid_value: 'AFC_CONFIG_INVALID_VALUE',
  incomplete_group: 'AFC_CONFIG_INCOMPLETE_GROUP',
} as const;

export type ConfigIssueCode = (typeof config_issue_codes)[keyof typeof config_issue_codes];

export interface ConfigIssue {
  readonly code: ConfigIssueCode;
  // The environment variable at fault.
  readonly name: string;
  readonly message: string;
  // The offending value as it may be printed: absent for secrets, unset variables and URLs
  // whose credentials cannot be located.
  readonly value?: string;
}

// One message for the whole environment, so an operator fixes everything in one round.
export function formatConfigIssues(service_name: string, errors: readonly ConfigIssue[]): string {
  const sorted = [...errors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const noun = sorted.length === 1 ? 'variable is' : 'variables are';
  const lines = sorted.map((issue) => {
    const shown =
      issue.value !== undefined
        ? ` (got ${JSON.stringify(issue.value)})`
        : issue.code === config_issue_codes.invalid_value
          ? ' (value not shown)'
          : '';
    return `  ${issue.name}: ${issue.message}${shown}`;
  });
  return [
    `${service_name}: invalid configuration, ${sorted.length} environment ${noun} wrong:`,
    ...lines,
  ].join('\n');
}
