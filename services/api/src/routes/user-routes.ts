import { randomUUID } from 'node:crypto';
import type { Service } from '@afc/service-kit';
import { Type } from '@sinclair/typebox';
import { Email, error_responses, IdParams, Name, security, Timestamp, toIso, Uuid } from '../schemas.ts';
import { companyOf, isUniqueViolation, notFound } from './access.ts';

const Role = Type.Union([Type.Literal('admin'), Type.Literal('manager'), Type.Literal('employee')]);
const User = Type.Object({
  id: Uuid,
  company_id: Uuid,
  user_token: Type.String(),
  email: Type.String(),
  full_name: Type.String(),
  role: Type.String(),
  status: Type.String(),
  created_at: Timestamp,
});

interface UserRow {
  id: string;
  company_id: string;
  user_token: string;
  email: string;
  full_name: string;
  role: string;
  status: string;
  created_at: Date;
}

function userBody(row: UserRow) {
  return { ...row, created_at: toIso(row.created_at) };
}

// Our token for Marqeta: unique, at most 36 characters, safe as a Redis key part.
function newUserToken(): string {
  return `u-${randomUUID()}`.slice(0, 36);
}

export async function userRoutes(app: Service): Promise<void> {
  app.post(
    '/v1/users',
    {
      schema: {
        tags: ['business users'],
        security,
        body: Type.Object(
          { email: Email, full_name: Name, role: Type.Optional(Role) },
          { additionalProperties: false },
        ),
        response: { 201: User, ...error_responses },
      },
    },
    async (request, reply) => {
      const company_id = companyOf(request, reply);
      if (company_id === undefined) return reply;
      const { email, full_name, role } = request.body;
      try {
        const [row] = await app.postgres.sql<UserRow[]>`
          insert into users (company_id, user_token, email, full_name, role)
          values (${company_id}, ${newUserToken()}, ${email}, ${full_name}, ${role ?? 'employee'})
          returning id, company_id, user_token, email, full_name, role, status, created_at`;
        if (row === undefined) throw new Error('insert returned no user');
        return reply.code(201).send(userBody(row));
      } catch (error) {
        if (!isUniqueViolation(error, 'users_company_email_key')) throw error;
        return reply.code(409).send({
          error: 'conflict',
          message: 'body.email is taken in this company',
          fields: ['body.email'],
        });
      }
    },
  );

  app.get(
    '/v1/users/:id',
    {
      schema: {
        tags: ['business users'],
        security,
        params: IdParams,
        response: { 200: User, ...error_responses },
      },
    },
    async (request, reply) => {
      const company_id = companyOf(request, reply);
      if (company_id === undefined) return reply;
      const [row] = await app.postgres.sql<UserRow[]>`
        select id, company_id, user_token, email, full_name, role, status, created_at
        from users where id = ${request.params.id} and company_id = ${company_id}`;
      if (row === undefined) return notFound(reply, 'user');
      return userBody(row);
    },
  );
}
