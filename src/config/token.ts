/** The Cloudflare API token: from the environment, or from a file re-read when it changes (rotation). */
import { unwatchFile, watchFile } from 'node:fs';
import type { Logger } from '../log/logger.js';
import { errorMessage } from '../model/errors.js';
import { readTokenFile } from './config.js';

export class TokenSource {
  private token: string;
  /** Every token ever used, so logs can scrub them all. */
  private readonly seen = new Set<string>();

  constructor(initial: string, private readonly file: string | undefined) {
    this.token = initial;
    this.seen.add(initial);
  }

  current(): string {
    return this.token;
  }

  secrets(): Iterable<string> {
    return this.seen;
  }

  /** Re-reads the file when it changes; a bad new content is reported and the old token kept. */
  watch(log: Logger, intervalMs = 2_000): () => void {
    const file = this.file;
    if (file === undefined) return () => undefined;
    const reload = () => {
      try {
        const next = readTokenFile(file);
        if (next === this.token) return;
        this.seen.add(next);
        this.token = next;
        log.info({ file }, 'Cloudflare API token reloaded from its file');
      } catch (err) {
        log.error({ file, err: errorMessage(err) }, 'the Cloudflare API token file changed but cannot be used; keeping the previous token');
      }
    };
    watchFile(file, { interval: intervalMs, persistent: false }, reload);
    return () => unwatchFile(file, reload);
  }
}
