import type { Sql, TransactionSql } from '@afc/postgres';
import type { Service } from '@afc/service-kit';
import { Type } from '@sinclair/typebox';
import { generateKey } from '../auth/api-keys.ts';
import { error_responses, IdParams, Name, security, Timestamp, toIso, Uuid } from '../schemas.ts';
import { notFound, requireAdmin } from './access.ts';

const Company = Type.Object({ id: Uuid, name: Type.String(), status: Type.String(), created_at: Timestamp });
const IssuedKey = Type.Object({
  id: Uuid,
  key: Type.String({ description: 'Shown once; only its sha256 is stored.' }),
  key_prefix: Type.String(),
  name: Type.String(),
});
const KeyRequest = Type.Object({ key_name: Type.Optional(Name) }, { additionalProperties: false });

interface CompanyRow {
  id: string;
  name: string;
  status: string;
  created_at: Date;
}

function companyBody(row: CompanyRow) {
  return { id: row.id, name: row.name, status: row.status, created_at: toIso(row.created_at) };
}

async function insertKey(sql: Sql | TransactionSql, company_id: string, name: string) {
  const fresh = generateKey();
  const [row] = await sql<{ id: string }[]>`
    insert into api_keys (company_id, key_hash, key_prefix, name)
    values (${company_id}, ${fresh.key_hash}, ${fresh.key_prefix}, ${name}) returning id`;
  return { id: row?.id ?? '', key: fresh.key, key_prefix: fresh.key_prefix, name };
}

export async function companyRoutes(app: Service): Promise<void> {
  app.post(
    '/v1/companies',
    {
      schema: {
        tags: ['companies'],
        security,
        body: Type.Object({ name: Name, key_name: Type.Optional(Name) }, { additionalProperties: false }),
        response: { 201: Type.Object({ company: Company, api_key: IssuedKey }), ...error_responses },
      },
    },
    async (request, reply) => {
      if (!requireAdmin(request, reply)) return reply;
      const { name, key_name } = request.body;
      // Company and its first key together: a company nobody can reach is never left behind.
      const result = await app.postgres.sql.begin(async (tx) => {
        const [company] = await tx<CompanyRow[]>`
          insert into companies (name) values (${name}) returning id, name, status, created_at`;
        if (company === undefined) throw new Error('insert returned no company');
        return {
          company: companyBody(company),
          api_key: await insertKey(tx, company.id, key_name ?? 'default'),
        };
      });
      request.log.info(
        { company_id: result.company.id, key_prefix: result.api_key.key_prefix },
        'company created',
      );
      return reply.code(201).send(result);
    },
  );

  app.post(
    '/v1/companies/:id/api-keys',
    {
      schema: {
        tags: ['companies'],
        security,
        params: IdParams,
        body: KeyRequest,
        response: { 201: IssuedKey, ...error_responses },
      },
    },
    async (request, reply) => {
      if (!requireAdmin(request, reply)) return reply;
      const [company] = await app.postgres.sql<{ id: string }[]>`
        select id from companies where id = ${request.params.id}`;
      if (company === undefined) return notFound(reply, 'company');
      const issued = await insertKey(app.postgres.sql, company.id, request.body.key_name ?? 'default');
      request.log.info({ company_id: company.id, key_prefix: issued.key_prefix }, 'api key issued');
      return reply.code(201).send(issued);
    },
  );

  app.get(
    '/v1/companies/:id',
    {
      schema: {
        tags: ['companies'],
        security,
        params: IdParams,
        response: { 200: Company, ...error_responses },
      },
    },
    async (request, reply) => {
      const principal = request.principal;
      const id = request.params.id;
      if (principal?.kind === 'company' && principal.company_id !== id) return notFound(reply, 'company');
      const [row] = await app.postgres.sql<CompanyRow[]>`
        select id, name, status, created_at from companies where id = ${id}`;
      if (row === undefined) return notFound(reply, 'company');
      return companyBody(row);
    },
  );
}
