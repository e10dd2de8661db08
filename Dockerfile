# Any deployable package of the workspace as a container: build the workspace, `pnpm deploy`
# the package with its production dependencies, run its compiled dist/ with plain node
# (docs/decisions/0001). The images differ only in these two build arguments:
#   PACKAGE  the package without its scope: api, authorizer, card-issuer, settlement, webhooks,
#            marqeta-sim
#   PORT     the port it listens on (its config default: 3000, 3001, 3004, 3003, 3002, 4010)
# Build from the repository root, e.g.:
#   docker build --build-arg PACKAGE=authorizer --build-arg PORT=3001 -t afc/authorizer .
# docker-compose.yml passes them for each service; tools/dev/check-deploy.sh <package> runs the
# same steps locally and checks GET /health.

FROM node:24-bookworm-slim AS build
RUN npm install -g pnpm@10.34.8
WORKDIR /repo
COPY . .
# Before the argument: every image shares the install layer.
RUN pnpm install --frozen-lockfile
ARG PACKAGE
RUN test -n "$PACKAGE" || { echo "build argument PACKAGE is required (api, authorizer, ...)" >&2; exit 1; }
RUN pnpm turbo run build --filter="@afc/${PACKAGE}..."
# pnpm 10 deploys without inject-workspace-packages only with --legacy.
RUN pnpm --filter "@afc/${PACKAGE}" deploy --prod --legacy /out

FROM node:24-bookworm-slim
ARG PORT
RUN test -n "$PORT" || { echo "build argument PORT is required" >&2; exit 1; }
ENV NODE_ENV=production HOST=0.0.0.0 PORT=${PORT}
WORKDIR /app
# Owned by root, read by the unprivileged node user: the process cannot change its own code.
COPY --from=build /out /app
USER node
EXPOSE ${PORT}
# GET /health is liveness only, without credentials, in every package (readiness: GET /ready).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/health',{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
CMD ["node", "dist/server.js"]
