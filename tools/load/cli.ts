/**
 * `npm run load -- [options]`: the load generator's entry point (see
 * options.ts for the flags, run.ts for the phases). Prints the table on
 * stdout, writes the JSON report with --json, exits 0 when the run finished
 * (errors or not: they are in the report), 2 on bad options, 130 on a second
 * Ctrl-C. A forked client process enters through here too (fleet.ts).
 */
import { writeFileSync } from "node:fs";
import { isChildInvocation, runChild } from "./fleet";
import { HELP, parseOptions } from "./options";
import { renderTable } from "./report";
import { runLoad } from "./run";

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(argv);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}`);
    return 2;
  }
  if (options === "help") {
    process.stdout.write(HELP);
    return 0;
  }
  const controller = new AbortController();
  let interrupts = 0;
  process.on("SIGINT", () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write("\nstopping: closing sessions (Ctrl-C again to quit at once)\n");
    controller.abort();
  });
  const deadline = setTimeout(() => controller.abort(), options.maxRuntimeS * 1000);
  deadline.unref();
  const report = await runLoad(options, controller.signal, `npm run load -- ${argv.join(" ")}`);
  clearTimeout(deadline);
  process.stdout.write(renderTable(report));
  if (options.json) writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
  return 0;
}

if (isChildInvocation(process.argv)) {
  runChild();
} else {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(
        `load run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
