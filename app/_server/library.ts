/**
 * The web server's one library: configuration parsed once, the engine started once, SQLite opened
 * once per process (kept on globalThis so development reloads do not open it again).
 */
import { parseConfig, type Config } from '@/lib/config';
import { initEngine, type EngineInfo } from '@/lib/engine/backend';
import { openLibrary, type Library } from '@/lib/services/library';

interface Server {
  config: Readonly<Config>;
  library: Library;
  engine: EngineInfo;
}

const holder = globalThis as unknown as { __latentAtlas?: Promise<Server> };

async function start(): Promise<Server> {
  const config = parseConfig();
  const engine = await initEngine(config.backend);
  return { config, library: openLibrary(config), engine };
}

/** The opened library (and the engine it runs on), started on first use. */
export function server(): Promise<Server> {
  holder.__latentAtlas ??= start().catch((error: unknown) => {
    holder.__latentAtlas = undefined;
    throw error;
  });
  return holder.__latentAtlas;
}
