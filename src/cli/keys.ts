import { hashApiKey, newApiKey, SCOPES, type Scope } from '../http/api-keys.ts';

/**
 * `npm run keys -- new --name <name> --scopes score,transfer`: makes a random API key, prints
 * it once, and prints the entry to add to API_KEYS (which holds only its SHA-256).
 * `npm run keys -- hash <key>`: the SHA-256 of an existing key.
 */

function usage(): never {
  process.stderr.write(
    `usage: npm run keys -- new --name <name> --scopes <scope,...>\n       npm run keys -- hash <key>\nscopes: ${SCOPES.join(', ')}\n`,
  );
  process.exit(2);
}

function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'new') {
  const name = flag(rest, '--name');
  const scopes = (flag(rest, '--scopes') ?? '').split(',').filter((s) => s !== '');
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (name === undefined || name === '' || scopes.length === 0) usage();
  if (unknown.length > 0) {
    process.stderr.write(`unknown scope(s): ${unknown.join(', ')}; scopes are ${SCOPES.join(', ')}\n`);
    process.exit(2);
  }
  const { key, entry } = newApiKey(name, scopes as Scope[]);
  process.stdout.write(`key (give it to the client; it is not stored anywhere): ${key}\n`);
  process.stdout.write(`API_KEYS entry: ${JSON.stringify(entry)}\n`);
} else if (command === 'hash' && rest[0] !== undefined) {
  process.stdout.write(`${hashApiKey(rest[0])}\n`);
} else {
  usage();
}
