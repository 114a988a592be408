/**
 * The Chromium the browser tests use by default: the one inside the npm package
 * `@sparticuz/chromium` (https://github.com/Sparticuz/chromium), so `npm install` is
 * all a Linux machine needs; no system browser, no `apt`, no download at test time.
 *
 * The package ships Brotli archives and, on `executablePath()`, unpacks them into
 * `os.tmpdir()` (the browser, SwiftShader next to it, and fonts), reusing whatever is
 * already there by name and writing in place. Shared /tmp names would let two runs
 * (or a run killed mid-write) hand each other a half-written or foreign binary, so
 * the package's own unpacking runs in a child process whose TMPDIR is a fresh staging
 * directory, which is then renamed into node_modules/.cache/dormouse-chromium/<version>:
 * a directory there is complete by construction, and the first of two racing runs wins.
 *
 * Besides the binary the package ships two things that it wires up only on AWS
 * Lambda (`setupLambdaEnvironment`), and a machine without a system browser needs both:
 * - the NSS, NSPR and expat libraries the binary links dynamically (`al2023.tar.br`),
 *   put first on the browser's LD_LIBRARY_PATH, so a machine without libnss3 works;
 * - Open Sans, which the package's own fonts.conf looks for under /tmp/fonts. Ours
 *   includes the system's fontconfig first (the same glyphs as before where there are
 *   fonts) and adds Open Sans: with no font at all this build closes as soon as a
 *   page loads.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { captureLog } from "../helpers/process";
import { spawnGroup, stopGroup } from "../helpers/process-groups";
import { withTimeout } from "../helpers/wait";

const PACKAGE = "@sparticuz/chromium";
const STAGING_PREFIX = ".unpacking-";
/** Unpacking takes a few seconds; a staging directory older than this was abandoned. */
const UNPACK_TIMEOUT_MS = 120_000;

export interface UnpackedChromium {
  executablePath: string;
  /** Environment additions for the browser process. */
  env: Record<string, string>;
}

/** Unpacks the packaged Chromium once per package version and says how to run it. */
export async function npmChromium(): Promise<UnpackedChromium> {
  if (process.platform !== "linux" || process.arch !== "x64") {
    // The npm package carries a Linux x64 build only (its README, "arm64").
    throw new Error(
      `${PACKAGE} has no browser for ${process.platform}-${process.arch}: set CHROMIUM_PATH`,
    );
  }
  const entry = createRequire(import.meta.url).resolve(PACKAGE);
  const packageDir = dirname(dirname(entry));
  const { version } = JSON.parse(await readFile(join(packageDir, "package.json"), "utf8")) as {
    version: string;
  };
  // node_modules/.cache, beside the node_modules that holds the package.
  const cacheRoot = join(packageDir, "..", "..", ".cache", "dormouse-chromium");
  const dir = join(cacheRoot, version);
  if (!existsSync(dir)) await unpack(entry, cacheRoot, dir);
  return {
    executablePath: join(dir, "chromium"),
    env: {
      LD_LIBRARY_PATH: [join(dir, "al2023", "lib"), process.env.LD_LIBRARY_PATH]
        .filter(Boolean)
        .join(":"),
      FONTCONFIG_FILE: join(dir, "fonts.conf"),
    },
  };
}

async function unpack(entry: string, cacheRoot: string, dir: string): Promise<void> {
  await mkdir(cacheRoot, { recursive: true });
  await removeAbandonedStaging(cacheRoot);
  const staging = await mkdtemp(join(cacheRoot, STAGING_PREFIX));
  try {
    await runUnpacker(entry, staging);
    await writeFile(join(staging, "fonts.conf"), fontsConf(dir));
    await rename(staging, dir).catch((error: NodeJS.ErrnoException) => {
      // Another run renamed its complete copy into place first: use that one.
      if (!existsSync(join(dir, "chromium"))) throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The package's own `executablePath()` and `inflate()`, with TMPDIR pointing at `staging`. */
async function runUnpacker(entry: string, staging: string): Promise<void> {
  const binDir = join(dirname(dirname(entry)), "bin");
  const script = `
    const { default: chromium, inflate } = await import(${JSON.stringify(pathToFileURL(entry).href)});
    await chromium.executablePath(${JSON.stringify(binDir)});
    await inflate(${JSON.stringify(join(binDir, "al2023.tar.br"))});
  `;
  const child = spawnGroup(
    `unpacking ${PACKAGE}`,
    process.execPath,
    ["--input-type=module", "-e", script],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH ?? "", TMPDIR: staging },
    },
  );
  const logTail = captureLog(child);
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  try {
    const code = await withTimeout(exited, UNPACK_TIMEOUT_MS, `${PACKAGE} to unpack`);
    if (code !== 0) throw new Error(`unpacking ${PACKAGE} exited with ${code}:\n${logTail()}`);
  } finally {
    await stopGroup(child.pid);
  }
}

function fontsConf(dir: string): string {
  return `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir>${join(dir, "fonts", "fonts")}</dir>
  <cachedir>${join(dir, "fontconfig-cache")}</cachedir>
</fontconfig>
`;
}

async function removeAbandonedStaging(cacheRoot: string): Promise<void> {
  for (const name of await readdir(cacheRoot)) {
    if (!name.startsWith(STAGING_PREFIX)) continue;
    const path = join(cacheRoot, name);
    const { mtimeMs } = await stat(path).catch(() => ({ mtimeMs: Date.now() }));
    if (Date.now() - mtimeMs > 2 * UNPACK_TIMEOUT_MS)
      await rm(path, { recursive: true, force: true });
  }
}
