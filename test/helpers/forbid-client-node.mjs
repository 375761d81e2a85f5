/**
 * Loaded with `--import` (or NODE_OPTIONS=--import=...): a process that resolves
 * @kubernetes/client-node, statically or dynamically, prints who asked for it and exits 99.
 * Tests use it to prove that the ordinary paths never load that library.
 */
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    if (resolved.url.includes('/@kubernetes/client-node/')) {
      process.stderr.write(`CLIENT-NODE LOADED: ${specifier} from ${context.parentURL ?? '(entry)'}\n`);
      process.exit(99);
    }
    return resolved;
  },
});
