import { STATUS_CODES } from 'node:http';
import type { FastifyError } from 'fastify';
import fp from 'fastify-plugin';

interface ValidationIssue {
  readonly instancePath?: string;
  readonly message?: string;
  readonly params?: Record<string, unknown>;
}

// `body.card.token`, from Ajv's JSON pointer plus the property a `required` or
// `additionalProperties` failure names. Values are never echoed: they may be card data.
function fieldName(context: string, issue: ValidationIssue): string {
  const path = (issue.instancePath ?? '').split('/').filter((part) => part !== '');
  const named = issue.params?.missingProperty ?? issue.params?.additionalProperty;
  if (typeof named === 'string') path.push(named);
  return [context, ...path].join('.');
}

export function describeValidation(error: FastifyError): { fields: string[]; message: string } {
  const context = error.validationContext ?? 'request';
  const issues: readonly ValidationIssue[] = error.validation ?? [];
  const fields = [...new Set(issues.map((issue) => fieldName(context, issue)))];
  const details = issues.map((issue) => `${fieldName(context, issue)} ${issue.message ?? 'is invalid'}`);
  return { fields, message: `invalid ${fields.join(', ')}: ${details.join('; ')}` };
}

function statusOf(error: FastifyError): number {
  const status = error.statusCode;
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status < 600
    ? status
    : 500;
}

// 'Payload Too Large' -> 'payload_too_large': a stable machine-readable name for any 4xx.
function errorName(status: number): string {
  return (STATUS_CODES[status] ?? 'client error').toLowerCase().replace(/[^a-z0-9]+/g, '_');
}

// Every error answers JSON in one shape: { error, message } for the caller's mistakes,
// { error: 'internal_error', request_id } for ours (details go to the log, not the caller).
export const errorHandlerPlugin = fp(
  async (app) => {
    app.setErrorHandler<FastifyError>((error, request, reply) => {
      if (error.validation !== undefined) {
        const { fields, message } = describeValidation(error);
        return reply.code(400).send({ error: 'bad_request', message, fields });
      }
      const status = statusOf(error);
      if (status < 500) return reply.code(status).send({ error: errorName(status), message: error.message });
      request.log.error({ err: error, status_code: status }, 'request failed');
      return reply.code(status).send({ error: 'internal_error', request_id: request.id });
    });

    app.setNotFoundHandler((_request, reply) => {
      return reply.code(404).send({ error: 'not_found', message: 'no such route' });
    });
  },
  { name: 'afc-error-handler', fastify: '5.x' },
);
