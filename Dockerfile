# The Tocsin app image: API (default), worker and CLI all run from it, as TypeScript through tsx,
# the same way the package.json scripts `api`, `worker` and `cli` do. Used by docker-compose.yml.
FROM node:20-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

# Dependencies first, so a source change does not reinstall them. tsx is a runtime dependency;
# the dev dependencies (jest, eslint, typescript) are not needed to run the services.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY . .

# The files stay owned by root (read-only to the app); the processes run as the image's
# unprivileged `node` user. tsx keeps its compile cache under /tmp.
USER node

ENV PORT=8080
EXPOSE 8080

# Worker: node_modules/.bin/tsx apps/worker/main.ts; CLI: node_modules/.bin/tsx apps/cli/main.ts <command>.
CMD ["node_modules/.bin/tsx", "apps/api/main.ts"]
