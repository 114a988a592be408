/**
 * The entry of the `dormouse` command's bundle (client/dist/dormouse.mjs,
 * built by client/build.mjs): runs the command line and exits with its code
 * once stdout has been flushed. SIGINT/SIGTERM end it at once (the session
 * stays on the gateway, as when stdin closes).
 */
import { main } from "./cli";

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => process.exit(0));
}

main(process.argv.slice(2), process.env).then(
  (code) => process.stdout.write("", () => process.exit(code)),
  (error: unknown) => {
    process.stderr.write(`dormouse: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
