/**
 * Entry point of `npm run serve:direct` (see direct.ts). Runs until SIGINT or
 * SIGTERM, then disposes Miniflare, which stops workerd.
 */
import { parseDirectArgs, serveDirect } from "./direct";

async function main(): Promise<void> {
  const options = parseDirectArgs(process.argv.slice(2));
  const server = await serveDirect(options);
  process.stdout.write(
    `Serving ${options.config} on ${server.url} (Miniflare direct, observability off, state in ${options.persistTo})\n`,
  );
  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(130);
    stopping = true;
    server.dispose().finally(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `serve:direct failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
