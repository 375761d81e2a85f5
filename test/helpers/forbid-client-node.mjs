/**
 * Loaded with `--import` (or NODE_OPTIONS=--import=...): a process that resolves
 * @kubernetes/client-node, statically or dynamically, prints who asked for it and exits 99; in a
 * bundle (rolldown.config.ts), where the library is a chunk of its own, loading that chunk.
 * Tests use it to prove that the ordinary paths never load that library.
 */
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    if (resolved.url.includes('/@kubernetes/client-node/') || /\/chunks\/client-node-[\w-]+\.m?js$/.test(resolved.url)) {
      process.stderr.write(`CLIENT-NODE LOADED: ${specifier} from ${context.parentURL ?? '(entry)'}\n`);
      process.exit(99);
    }
    return resolved;
  },
});
