/** What `pnpm start` prints about signing in: once, the generated administrator token; always, how to sign in. */
import type { BootstrapOutcome } from './bootstrap.js';

/**
 * `secretsFile`: the one-time secrets (generated token, demo password) are in that file rather than
 * in the text, which then goes to the log (a log must never carry a credential).
 */
export function signInHelp(
  bootstrap: BootstrapOutcome,
  url: string,
  demoViewer: { username: string; password: string } | null,
  options: { secretsFile?: string } = {},
): string {
  const lines: string[] = [];
  const { secretsFile } = options;
  if (bootstrap.generatedAdminToken) {
    lines.push(
      `First start: created organisation unit "${bootstrap.ouName}" and its administrator "${bootstrap.adminUsername}".`,
      '',
      secretsFile
        ? `  Administrator API token (only its hash is stored): written to ${secretsFile}, readable by this user only. Copy it, then delete the file.`
        : '  Administrator API token (shown this once; only its hash is stored, so copy it now):',
      ...(secretsFile ? [] : [`    ${bootstrap.generatedAdminToken}`]),
      '',
    );
  } else if (bootstrap.firstStart) {
    lines.push(`First start: created organisation unit "${bootstrap.ouName}" and its administrator "${bootstrap.adminUsername}" with the ADMIN_TOKEN you set.`);
  } else if (bootstrap.registeredEnvironmentToken) {
    lines.push(`ADMIN_TOKEN registered for "${bootstrap.adminUsername}" (a previous ADMIN_TOKEN no longer works).`);
  }
  for (const warning of bootstrap.warnings) lines.push(`Warning: ${warning}`);
  lines.push(
    `Sign in at ${url} with the administrator token (or "${bootstrap.adminUsername}" and ADMIN_PASSWORD, if you set one),`,
    `or call ${url}/graphql with "Authorization: Bearer <token>". See README, "Signing in / getting the first token".`,
  );
  if (demoViewer) {
    const password = secretsFile ? `in ${secretsFile}` : `"${demoViewer.password}"`;
    lines.push(`Demo read-only operator: username "${demoViewer.username}", password ${password}.`);
  }
  return lines.join('\n');
}
