import { personal_error_codes } from '@afc/personal-store';
import type { FastifyReply, FastifyRequest } from 'fastify';

// Business resources belong to one company and are reached with that company's key. The
// platform admin key manages companies and keys only: it never acts as a cardholder's
// employer, so a leaked admin key cannot move a company's cards without leaving that trail.
export function companyOf(request: FastifyRequest, reply: FastifyReply): string | undefined {
  const principal = request.principal;
  if (principal?.kind === 'company') return principal.company_id;
  void reply.code(403).send({ error: 'forbidden', message: 'this route needs a company API key' });
  return undefined;
}

export function requireAdmin(request: FastifyRequest, reply: FastifyReply): boolean {
  if (request.principal?.kind === 'admin') return true;
  void reply.code(403).send({ error: 'forbidden', message: 'this route needs the platform admin key' });
  return false;
}

// Another company's resource answers exactly like a missing one: its existence is not revealed.
export function notFound(reply: FastifyReply, what: string) {
  return reply.code(404).send({ error: 'not_found', message: `no such ${what}` });
}

export function isUniqueViolation(error: unknown, constraint: string): boolean {
  const e = error as { code?: unknown; constraint_name?: unknown };
  return e.code === '23505' && e.constraint_name === constraint;
}

// The personal store's coded errors as answers; anything else is a bug or an outage (500).
export function storeFailure(error: unknown, reply: FastifyReply) {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === personal_error_codes.conflict)
    return reply.code(409).send({ error: 'conflict', message: (error as Error).message });
  if (code === personal_error_codes.not_found)
    return reply.code(404).send({ error: 'not_found', message: (error as Error).message });
  throw error;
}
