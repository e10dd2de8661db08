# Sourced, not run: puts Node 24 and the pinned pnpm first on PATH.
# Machines here ship Node 20 (past its end of life). The npm registry's `node` package carries
# the official binary, so we install it into the git-ignored .tools/ folder instead of
# downloading a toolchain. pnpm comes from npm too: corepack's signature check fails here.
set -euo pipefail
afc_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
afc_tools="$afc_root/.tools"
afc_node_major=24
afc_pnpm_version="$(sed -n 's/.*"packageManager": *"pnpm@\([^"]*\)".*/\1/p' "$afc_root/package.json")"

afc_node_ok() {
  command -v node >/dev/null 2>&1 && [ "$(node -p 'process.versions.node.split(".")[0]')" = "$afc_node_major" ]
}

afc_pnpm_ok() {
  command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version)" = "$afc_pnpm_version" ]
}

if [ -x "$afc_tools/node_modules/.bin/node" ]; then
  export PATH="$afc_tools/node_modules/.bin:$PATH"
fi
if ! afc_node_ok || ! afc_pnpm_ok; then
  command -v npm >/dev/null 2>&1 || { echo "env: npm is needed to install Node $afc_node_major; install Node.js first" >&2; exit 1; }
  echo "env: installing Node $afc_node_major and pnpm $afc_pnpm_version into .tools/ (found node $(node --version 2>/dev/null || echo none))" >&2
  mkdir -p "$afc_tools"
  # One install with both: npm --no-save prunes whatever the command line does not name.
  npm install --prefix "$afc_tools" --no-save --no-audit --no-fund --loglevel=error \
    "node@$afc_node_major" "pnpm@$afc_pnpm_version" >&2
  export PATH="$afc_tools/node_modules/.bin:$PATH"
  afc_node_ok || { echo "env: Node $afc_node_major is still not first on PATH" >&2; exit 1; }
  afc_pnpm_ok || { echo "env: pnpm $afc_pnpm_version is still not first on PATH" >&2; exit 1; }
fi
export PATH="$afc_root/node_modules/.bin:$PATH"
